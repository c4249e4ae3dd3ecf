"""kaohe (考核): the appraisal of debt-collection agents, as a library without orchestration.

One subpackage per concern (docs/architecture.md, "The library, by concern"): ``config``,
``ingest``, ``warehouse``, ``models``, ``scoring``, ``quality``, ``reporting`` and
``generate``; ``dictionaries``, ``months``, ``paths``, ``sqltext`` and ``docs`` are shared by
all. Nothing here imports Dagster's assets or the command line (``assets/``, ``pipelines/``).
"""
