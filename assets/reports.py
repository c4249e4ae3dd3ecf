"""The month's HTML reports, rendered only when the blocking checks of the marts passed."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
)

from assets.resources import KaoheConfig, Warehouse
from kaohe.models.marts import MONTHLY_MARTS


def monthly_reports(partitions: MonthlyPartitionsDefinition) -> AssetsDefinition:
    """The reports asset on the marts' monthly partitions (assets.metrics.monthly_partitions)."""

    @asset(
        key=["reports", "monthly"],
        group_name="reports",
        kinds={"html"},
        owners=["team:analytics"],
        partitions_def=partitions,
        # downstream of every mart: a failed blocking check on any of them skips the reports
        deps=[AssetKey(["marts", table]) for table in MONTHLY_MARTS],
        description="Agent scorecards, team reports, the centre summary, the compliance page, "
        "an index and the data-quality page for the month (<home>/reports/YYYY-MM/), all in "
        "reports.lang; self-contained HTML with inline CSS and SVG.",
    )
    def reports(context: AssetExecutionContext, warehouse: Warehouse,
                kaohe_config: KaoheConfig) -> MaterializeResult:
        from kaohe.reporting.reports import render_month

        month = context.partition_key[:7]
        cfg = kaohe_config.load()
        lang = cfg.raw.get("reports", {}).get("lang", "zh")
        with warehouse.writer() as con:
            result = render_month(con, warehouse.paths.reports, month, lang, cfg)
        return MaterializeResult(metadata={
            "index": MetadataValue.path(str(result.directory / "index.html")),
            "agent_cards": result.agents,
            "team_reports": result.teams,
            "cards_per_second": round(result.cards_per_second, 1),
        })

    return reports
