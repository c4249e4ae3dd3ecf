"""Jobs. DuckDB has one writer: a job's steps run one after another in one process."""

from dagster import AssetSelection, define_asset_job, in_process_executor

monthly_run = define_asset_job(
    "monthly_run",
    selection=AssetSelection.all(),
    executor_def=in_process_executor,
    description="Ingest every new landing file, build the month's marts, publish the analyst "
    "copy. The partition (inferred from the marts) is the month.",
)
