"""Data-quality checks beside the assets they check (suites in expectations/, kaohe.quality).

Each checked asset declares two Dagster asset checks: ``quality_gate`` (blocking: a failure
stops everything downstream of it, so the month's reports are not rendered) and
``quality_warnings`` (shown, never blocking); and, as dbt users expect, one more per
expectation of its suites (``dq_<expectation>``, e.g. ``dq_column_values_to_not_be_null_call_id``:
its own pass/fail, severity, unexpected count and sample in the UI; the gate decides). The
gates of staging/calls and staging/plans also verify the tamper-evidence chains of promises to
pay and of plans (kaohe.evidence): a tampered chain stops the month like any blocking
expectation. Results are also stored in audit.check_results and rendered to
<home>/reports/YYYY-MM/data-quality.html.
"""

import re
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

from kaohe.evidence import kinds_of
from kaohe.quality import CheckResult, check_name, run_table, store_results, suites_for
from kaohe.quality_page import write_page
from pipelines.resources import Warehouse

GATE, WARNINGS = "quality_gate", "quality_warnings"


def dq_name(check: str) -> str:
    """The Dagster check name of one expectation: ``dq_`` and its name, letters, digits and _."""
    return ("dq_" + re.sub(r"[^A-Za-z0-9]+", "_", check).strip("_"))[:120]


def expectations_of(table: str) -> dict[str, tuple[str, str]]:
    """Dagster check name -> (severity, description) of every expectation of ``table``'s suites
    and of the evidence chains over it."""
    out: dict[str, tuple[str, str]] = {}
    for suite in suites_for(table):
        for exp in suite.expectations:
            meta = exp.get("meta", {})
            out.setdefault(dq_name(check_name(exp)), (meta.get("severity", "blocking"),
                                                      meta.get("description", "")))
    for kind in kinds_of(table):
        out[dq_name(f"{kind}_chain_intact")] = ("blocking", f"the {kind} hash chain is intact")
    return out


def quality_specs(key: AssetKey) -> list[AssetCheckSpec]:
    table = ".".join(key.path)
    chains = kinds_of(table)
    gate = "blocking expectations of the suite in expectations/" + (
        f" and the {' and '.join(chains)} hash chain (tamper evidence)" if chains else "")
    return [
        AssetCheckSpec(GATE, asset=key, blocking=True, description=gate),
        AssetCheckSpec(WARNINGS, asset=key,
                       description="warning expectations (volume, freshness, references)"),
    ] + [AssetCheckSpec(name, asset=key, description=f"{severity}: {text}"[:500])
         for name, (severity, text) in expectations_of(table).items()]


def run_month(context: AssetExecutionContext) -> str:
    """The month a run is for: its partition, else the current month in the lender's zone."""
    if context.has_partition_key:
        return context.partition_key[:7]
    tag = context.run.tags.get("dagster/partition") or context.run.tags.get("kaohe/month")
    return tag[:7] if tag else datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def _table(results: list[CheckResult]) -> str:
    lines = ["| check | unexpected | sample | why |", "|---|---|---|---|"]
    lines += [f"| {r.check} | {r.unexpected} | {', '.join(r.sample)} | {r.description} |"
              for r in results]
    return "\n".join(lines)


def quality_results(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str,
                    key: AssetKey, month: str) -> list[AssetCheckResult]:
    """Run the table's checks for the month (its suites and evidence chains), store them,
    refresh the page, report to Dagster."""
    results = run_table(con, table, month)
    store_results(con, results, month)
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
            },
        ))
    declared = expectations_of(table)
    seen = set()
    for r in results:  # one result per expectation, as declared in quality_specs
        name = dq_name(r.check)
        if name not in declared or name in seen:
            continue
        seen.add(name)
        out.append(AssetCheckResult(
            asset_key=key, check_name=name, passed=r.passed,
            severity=AssetCheckSeverity.ERROR if r.severity == "blocking"
            else AssetCheckSeverity.WARN,
            metadata={"month": month, "severity": r.severity, "unexpected": r.unexpected,
                      "sample": ", ".join(r.sample[:20]) or "none",
                      "description": r.description or "", "engine": r.engine,
                      "seconds": round(r.seconds, 3)}))
    return out
