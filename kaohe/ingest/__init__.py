"""Ingestion: the landed files into DuckDB. This package owns the data contract
(``contract.yaml``, ``contract.py``), the debtor-PII pseudonymisation (``pii.py``), the tamper
evidence of promises and plans (``evidence.py``), and the path of a file from the landing folder
to ``raw``/``staging``/``audit.quarantine`` (``ingestor.py`` drives ``files``, ``encoding``,
``reader``, ``rules``, ``store``, ``versions``, ``batch`` and ``staging``)."""
