"""The file registry and quarantine after ingestion: what arrived, what was rejected, freshness."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.checks import quality_results, quality_specs, run_month
from assets.ingest import markdown_table
from assets.resources import Warehouse
from kaohe.ingest.contract import load_contract

KEY = AssetKey(["audit", "file_registry"])


@asset(
    key=KEY,
    group_name="ingest",
    kinds={"duckdb"},
    owners=["team:data-platform"],
    deps=[AssetKey(["staging", name]) for name in load_contract()],
    check_specs=quality_specs(KEY),
    description="audit.file_registry and audit.quarantine after ingestion: files by status, "
    "quarantined rows by reason, and each daily source's freshness.",
)
def file_registry(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.writer() as con:
        files = con.sql("select status, count(*) as files, sum(rows_read) as rows_read, "
                        "sum(rows_rejected) as rows_rejected from audit.file_registry "
                        "group by all order by all").pl()
        reasons = con.sql("select source, reason_code, count(*) as n from audit.quarantine "
                          "group by all order by all").pl()
        checks = quality_results(con, warehouse, "audit.file_registry", KEY, run_month(context))
    return MaterializeResult(
        metadata={
            "files": MetadataValue.md(markdown_table(files)),
            "quarantine": MetadataValue.md(markdown_table(reasons)),
            "quarantined_rows": int(reasons["n"].sum()) if reasons.height else 0,
        },
        check_results=checks,
    )
