"""kaohe's Dagster assets, in domains (ingest, models, reporting: assets/domains.py), and the
resources they use (assets/resources.py). Imports kaohe/, never pipelines/."""
