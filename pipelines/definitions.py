"""The one Definitions of kaohe: the asset domains (assets/domains.py) merged with the job, the
schedule and the resources. ``dagster dev`` (workspace.yaml) and ``kaohe run`` load them.

Importing this module builds nothing, reads no environment variable and opens no database:
- ``build_definitions(first, resources)`` builds them on monthly partitions from ``first``
  with these resources (``kaohe run``: the month it runs and its paths; tests: a tmp home);
- ``from_environment`` (``@dagster.definitions``) is what Dagster calls when it loads the code
  location: the partitions from ``KAOHE_FIRST_MONTH`` or the published warehouse of
  ``KAOHE_HOME`` (assets.metrics.first_month), the resources from ``dagster.EnvVar``s
  (assets.resources.env_resources);
- ``defs`` is ``from_environment()``, built the first time it is asked for.
"""

from collections.abc import Mapping
from typing import Any

from dagster import Definitions, definitions

from assets import domains
from assets.metrics import first_month, monthly_partitions
from assets.resources import env_resources
from pipelines.jobs import monthly_run
from pipelines.schedules import nightly


def build_definitions(first: str, resources: Mapping[str, Any]) -> Definitions:
    """Every domain on the monthly partitions from ``first`` (YYYY-MM), the monthly job, the
    nightly schedule, and ``resources`` (``warehouse``, ``kaohe_config``) bound to them all."""
    partitions = monthly_partitions(first)
    return Definitions.merge(
        domains.ingest(),
        domains.models(partitions),
        domains.reporting(partitions),
        Definitions(jobs=[monthly_run], schedules=[nightly], resources=resources),
    )


@definitions
def from_environment() -> Definitions:
    """The definitions of ``dagster dev``, read from the environment when they load."""
    return build_definitions(first_month(), env_resources())


def __getattr__(name: str) -> Definitions:
    """``defs``: ``from_environment()``, built on first use (PEP 562) and kept."""
    if name == "defs":
        globals()["defs"] = value = from_environment()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
