"""The one Definitions object of kaohe (loaded by workspace.yaml and by ``kaohe run``)."""

import os

from dagster import Definitions

from assets.audit import file_registry
from assets.ingest import ingest_assets
from assets.intermediate import intermediate_assets
from assets.metrics import mart_assets
from assets.publish import published_warehouse
from assets.reports import monthly_reports
from pipelines.jobs import monthly_run
from pipelines.resources import KaoheConfig, Warehouse
from pipelines.schedules import nightly

defs = Definitions(
    assets=[*ingest_assets, file_registry, *intermediate_assets, *mart_assets, monthly_reports,
            published_warehouse],
    jobs=[monthly_run],
    schedules=[nightly],
    resources={
        # `kaohe run` passes its own; `dagster dev` reads the environment.
        "warehouse": Warehouse(
            home=os.environ.get("KAOHE_HOME", "kaohe-home"),
            landing=os.environ.get("KAOHE_LANDING", "kaohe-home/landing"),
        ),
        "kaohe_config": KaoheConfig(path=os.environ.get("KAOHE_CONFIG", "")),
    },
)
