"""Publishing: the analyst copy of the warehouse, replaced atomically at the end of a run."""


from dagster import AssetKey, MaterializeResult, asset

from assets.resources import KaoheConfig, Warehouse
from kaohe.ingest.contract import load_contract
from kaohe.models.marts import MONTHLY_MARTS
from kaohe.warehouse.publish import publish


@asset(
    key=["warehouse", "published"],
    group_name="publish",
    kinds={"duckdb"},
    owners=["team:data-platform"],
    deps=[AssetKey(["staging", name]) for name in load_contract()]
    + [AssetKey(["marts", table]) for table in MONTHLY_MARTS]
    + [AssetKey(["audit", "file_registry"])],
    description="The analyst copy <home>/warehouse/kaohe.duckdb (staging, marts, audit; no raw "
    "layer, no quarantine raw text), written beside it and swapped in atomically.",
)
def published_warehouse(warehouse: Warehouse, kaohe_config: KaoheConfig) -> MaterializeResult:
    storage_version = kaohe_config.load().publish.storage_version
    with warehouse.writer() as con:
        counts = publish(con, warehouse.paths, storage_version=storage_version)
    return MaterializeResult(
        metadata={
            "path": str(warehouse.paths.published_db),
            "storage_version": storage_version,
            "tables": len(counts),
            **{f"rows {name}": n for name, n in sorted(counts.items())},
        }
    )
