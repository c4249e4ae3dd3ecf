"""The one Definitions object of kaohe (loaded by workspace.yaml and by ``kaohe run``)."""

from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from assets.ingest import ingest_assets
from assets.publish import published_warehouse
from pipelines.resources import Warehouse

# DuckDB has one writer: the job's steps run one after another in one process.
monthly_run = define_asset_job(
    "monthly_run",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Ingest every new landing file, build the month, publish the analyst copy.",
)

defs = Definitions(
    assets=[*ingest_assets, published_warehouse],
    jobs=[monthly_run],
    resources={
        "warehouse": Warehouse(
            home=os.environ.get("KAOHE_HOME", "kaohe-home"),
            landing=os.environ.get("KAOHE_LANDING", "kaohe-home/landing"),
        )
    },
)
