"""The warehouse resource: where the kaohe home and the landing folder are, and the writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from kaohe.config import Config, load_config
from kaohe.warehouse import Home, writer


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
        """The single writer connection (kaohe.warehouse.writer)."""
        with writer(self.paths) as con:
            yield con


class KaoheConfig(ConfigurableResource):
    """The operator's configuration file (empty path = the shipped config/kaohe.yaml)."""

    path: str = ""

    def load(self) -> Config:
        return load_config(self.path or None)
