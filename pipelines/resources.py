"""The warehouse resource: where the kaohe home and the landing folder are, and the writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from kaohe import pii
from kaohe.config import Config, load_config
from kaohe.warehouse import Home, connect, ensure_schema, meta_get, meta_set


class Warehouse(ConfigurableResource):
    """The kaohe home (writer database, published copy, reports) and the landing folder."""

    home: str
    landing: str

    @property
    def paths(self) -> Home:
        return Home(Path(self.home)).create()

    @property
    def landing_dir(self) -> Path:
        return Path(self.landing)

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The single writer connection, schema ensured, PII macros installed."""
        paths = self.paths
        con = connect(paths.work_db, temp_directory=paths.tmp)
        try:
            key, _ = pii.pii_key()
            pii.install_macros(con, key)
            ensure_schema(con)
            fingerprint = pii.key_fingerprint(key)
            stored = meta_get(con, "pii_key_fingerprint")
            if stored is None:
                meta_set(con, "pii_key_fingerprint", fingerprint)
            elif stored != fingerprint:
                raise pii.PiiKeyError(
                    f"{pii.KEY_ENV} differs from the key this warehouse was built with: "
                    "debtors would no longer join across files. Use the original key, or "
                    "rebuild the warehouse from the landing folder with a new home."
                )
            yield con
        finally:
            con.close()


class KaoheConfig(ConfigurableResource):
    """The operator's configuration file (empty path = the shipped config/kaohe.yaml)."""

    path: str = ""

    def load(self) -> Config:
        return load_config(self.path or None)
