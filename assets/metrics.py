"""Monthly metric marts, one asset per SQL file under sql/marts/, partitioned by month."""

from datetime import datetime
from zoneinfo import ZoneInfo

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
from kaohe.contract import load_contract
from kaohe.marts import MONTHLY_MARTS, dictionary
from pipelines.resources import KaoheConfig, Warehouse

# Months in the lender's time zone; the current month is a partition too (month to date).
monthly = MonthlyPartitionsDefinition(start_date="2025-01-01", timezone="Asia/Shanghai",
                                      end_offset=1)

STAGING = [AssetKey(["staging", name]) for name in load_contract()]
UPSTREAM = {
    "agent_month_metrics": STAGING,
    "skill_risk_mismatches": STAGING,
    "team_month_metrics": [AssetKey(["marts", "agent_month_metrics"]),
                           AssetKey(["marts", "skill_risk_mismatches"])],
    "agency_month_metrics": [AssetKey(["marts", "agent_month_metrics"])],
    "center_month_summary": [AssetKey(["marts", "team_month_metrics"])],
    "agent_month_scorecard": [AssetKey(["marts", "agent_month_metrics"])],
    "agent_month_pay": [AssetKey(["marts", "agent_month_scorecard"])],
    "promotion_candidates": [AssetKey(["marts", "agent_month_scorecard"])],
}


def _mart_asset(table: str) -> AssetsDefinition:
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
        deps=UPSTREAM[table],
        description=f"{d.description['en']} ({d.grain}; sql/marts/{table}.sql)",
    )
    def mart(context: AssetExecutionContext, warehouse: Warehouse,
             kaohe_config: KaoheConfig) -> MaterializeResult:
        month = context.partition_key[:7]
        cfg = kaohe_config.load()
        from kaohe.marts import build

        with warehouse.writer() as con:
            rows = build(con, table, cfg, month)
            restated = None
            if table == "agent_month_pay":  # a closed month rebuilt differently is restated
                from kaohe.restatement import record

                today = datetime.now(ZoneInfo(cfg.timezone)).date()
                restated = record(con, month, today)
            preview = con.sql(
                f"select * exclude (config_version) from {d.table} "
                f"where month = date '{month}-01' limit 5"
            ).pl()
            checks = quality_results(con, warehouse, d.table, key, month)
        return MaterializeResult(metadata={
            "dagster/row_count": rows,
            "month": month,
            "config_version": cfg.config_version,
            **({"restated_agents": restated} if restated is not None else {}),
            "preview": MetadataValue.md(markdown_table(preview)),
        }, check_results=checks)

    return mart


mart_assets = [_mart_asset(table) for table in MONTHLY_MARTS]
