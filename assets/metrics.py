"""Monthly metric marts, one asset per SQL file under sql/marts/, partitioned by month."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
)

from assets.checks import quality_results, quality_specs
from assets.ingest import markdown_table
from assets.intermediate import asset_key
from kaohe.marts import MARTS, MONTHLY_MARTS, Mart, build, dictionary
from kaohe.models import SQL_ROOT
from kaohe.quality import referenced_tables
from pipelines.resources import KaoheConfig, Warehouse

# Months in the lender's time zone; the current month is a partition too (month to date).
monthly = MonthlyPartitionsDefinition(start_date="2025-01-01", timezone="Asia/Shanghai",
                                      end_offset=1)


def mart_deps(mart: Mart) -> list[AssetKey]:
    """What the mart's SQL reads, and the staging tables its checks read (run before them)."""
    checked = {f"staging.{name}" for name in referenced_tables(mart.table)}
    return [asset_key(t) for t in sorted(mart.inputs | checked)]


def _mart_asset(spec: Mart) -> AssetsDefinition:
    table = spec.name
    d = dictionary(table)
    key = AssetKey(["marts", table])

    @asset(
        check_specs=quality_specs(key),
        name=table,
        key_prefix=["marts"],
        group_name="marts",
        kinds={"duckdb", "sql"},
        owners=["team:analytics"],
        partitions_def=monthly,
        deps=mart_deps(spec),
        description=f"{d.description['en']} ({d.grain}; "
        f"{', '.join(str(q.relative_to(SQL_ROOT.parent)) for q in spec.queries)})",
    )
    def mart(context: AssetExecutionContext, warehouse: Warehouse,
             kaohe_config: KaoheConfig) -> MaterializeResult:
        month = context.partition_key[:7]
        cfg = kaohe_config.load()
        with warehouse.writer() as con:
            rows = build(con, table, cfg, month)
            after = spec.after_build(con, cfg, month) if spec.after_build else {}
            preview = con.sql(
                f"select * exclude (config_version) from {d.table} "
                f"where month = date '{month}-01' limit 5"
            ).pl()
            checks = quality_results(con, warehouse, d.table, key, month)
        return MaterializeResult(metadata={
            "dagster/row_count": rows,
            "month": month,
            "config_version": cfg.config_version,
            **after,
            "preview": MetadataValue.md(markdown_table(preview)),
        }, check_results=checks)

    return mart


mart_assets = [_mart_asset(MARTS[table]) for table in MONTHLY_MARTS]
