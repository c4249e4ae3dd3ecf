"""The Dagster resources of kaohe: the warehouse (the kaohe home and the landing folder, and
its single writer) and the operator's configuration file.

Every asset declares the resources it needs by name (``warehouse``, ``kaohe_config``); what they
are bound to is decided by whoever builds the Definitions (pipelines/definitions.py):
- ``dagster dev`` binds ``env_resources()``: the paths are ``dagster.EnvVar``s, read by Dagster
  when a run starts (a missing ``KAOHE_HOME`` fails that run with the variable's name), never
  when a module is imported;
- ``kaohe run`` and the tests bind ``resources_for(home, landing, config)``: plain paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, EnvVar

from kaohe.config import Config, load_config
from kaohe.warehouse import Home, writer

HOME_ENV, LANDING_ENV, CONFIG_ENV = "KAOHE_HOME", "KAOHE_LANDING", "KAOHE_CONFIG"


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


def resources_for(home: Path | str, landing: Path | str,
                  config: Path | str | None = None) -> dict[str, ConfigurableResource]:
    """The resources of a run on these paths (``kaohe run``, tests)."""
    return {"warehouse": Warehouse(home=str(home), landing=str(landing)),
            "kaohe_config": KaoheConfig(path=str(config or ""))}


def env_resources() -> dict[str, ConfigurableResource]:
    """The resources ``dagster dev`` binds: ``KAOHE_HOME`` and ``KAOHE_LANDING`` as
    ``dagster.EnvVar``s, resolved by Dagster when a run starts (both required), and
    ``KAOHE_CONFIG`` when it is set where the definitions load (else the shipped configuration:
    an ``EnvVar`` cannot be optional). Called when the definitions load, never at import."""
    config = EnvVar(CONFIG_ENV) if os.environ.get(CONFIG_ENV) else ""
    return {"warehouse": Warehouse(home=EnvVar(HOME_ENV), landing=EnvVar(LANDING_ENV)),
            "kaohe_config": KaoheConfig(path=config)}
