"""Data-quality checks beside the assets they check (suites in expectations/, kaohe.quality).

Each checked asset declares two Dagster asset checks: ``quality_gate`` (blocking: a failure
stops everything downstream of it, so the month's reports are not rendered) and
``quality_warnings`` (shown, never blocking). Each lists every expectation of its severity in
its metadata (result, unexpected count, sample, why). One Dagster check per expectation was
tried and dropped: ~300 checks each store a planned and an evaluation event per run, about
10 s of a small month's run, for a table the gate's metadata already shows. The
gates of staging/calls and staging/plans also verify the tamper-evidence chains of promises to
pay and of plans (kaohe.ingest.evidence): a tampered chain stops the month like any blocking
expectation. Results are also stored in audit.check_results and rendered to
<home>/reports/YYYY-MM/data-quality.html.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
)

from assets.resources import Warehouse
from kaohe.ingest.evidence import kinds_of
from kaohe.quality import CheckResult, run_table, store_results
from kaohe.quality.page import write_page

GATE, WARNINGS = "quality_gate", "quality_warnings"


def quality_specs(key: AssetKey) -> list[AssetCheckSpec]:
    table = ".".join(key.path)
    chains = kinds_of(table)
    gate = "blocking expectations of the suite in expectations/" + (
        f" and the {' and '.join(chains)} hash chain (tamper evidence)" if chains else "")
    return [
        AssetCheckSpec(GATE, asset=key, blocking=True, description=gate),
        AssetCheckSpec(WARNINGS, asset=key,
                       description="warning expectations (volume, freshness, references)"),
    ]


def run_month(context: AssetExecutionContext) -> str:
    """The month a run is for: its partition, else the current month in the lender's zone."""
    if context.has_partition_key:
        return context.partition_key[:7]
    tag = context.run.tags.get("dagster/partition") or context.run.tags.get("kaohe/month")
    return tag[:7] if tag else datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def _table(results: list[CheckResult]) -> str:
    lines = ["| check | result | unexpected | sample | why |", "|---|---|---|---|---|"]
    lines += [f"| {r.check} | {'passed' if r.passed else 'FAILED'} | {r.unexpected} | "
              f"{', '.join(r.sample[:20])} | {r.description} |" for r in results]
    return "\n".join(lines)


def quality_results(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str,
                    key: AssetKey, month: str) -> list[AssetCheckResult]:
    """Run the table's checks for the month (its suites and evidence chains), store them,
    refresh the page when it must show a blocking failure, report to Dagster.

    The page is rendered in full by the reports step at the end of a run; a step renders it
    only while a blocking check of the month fails (this table's, or one stored by an earlier
    step or run), so a run that stops before its reports leaves a page that says why, and a
    clean run does not render it thirty times (~1.5 s)."""
    results = run_table(con, table, month)
    store_results(con, results, month)
    if con.execute("select count(*) from audit.check_results where month = ? and not passed "
                   "and severity = 'blocking'", [f"{month}-01"]).fetchall()[0][0]:
        write_page(con, warehouse.paths.reports, month)
    out = []
    for name, severity in ((GATE, "blocking"), (WARNINGS, "warning")):
        mine = [r for r in results if r.severity == severity]
        failed = [r for r in mine if not r.passed]
        out.append(AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=not failed,
            severity=AssetCheckSeverity.ERROR if severity == "blocking"
            else AssetCheckSeverity.WARN,
            metadata={
                "month": month,
                "expectations": len(mine),
                "failed": len(failed),
                "failures": MetadataValue.md(_table(failed)) if failed else "none",
                # every expectation of the severity, passed or not: one Dagster check per
                # expectation cost two stored events each (~300 a run, about 10 s of a small
                # month's run), so they are rows of this table instead
                "results": MetadataValue.md(_table(mine)),
            },
        ))
    return out
