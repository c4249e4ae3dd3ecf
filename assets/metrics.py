"""Monthly metric marts, one asset per SQL file under sql/marts/, partitioned by month.

The monthly partitions start at a month decided when the definitions load (``first_month``:
the environment, else the published warehouse), so the mart assets are built by a function of
the partitions (``mart_assets``), never at import: importing this module reads neither the
environment nor a database.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
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
from assets.resources import KaoheConfig, Warehouse
from kaohe.models import SQL_ROOT
from kaohe.models.marts import MARTS, MONTHLY_MARTS, Mart, build, dictionary
from kaohe.months import MONTH, activity_months
from kaohe.quality import referenced_tables
from kaohe.warehouse import Home

FIRST_MONTH_ENV = "KAOHE_FIRST_MONTH"
DEFAULT_FIRST_MONTH = "2025-01"


def first_month(environ: Mapping[str, str] | None = None) -> str:
    """The first monthly partition (YYYY-MM), decided when the definitions load:

    1. ``KAOHE_FIRST_MONTH`` when set (``kaohe run`` sets it to the earlier of the rule below
       and the month it runs, so any month can be run);
    2. else the first month with data in the published warehouse of ``KAOHE_HOME`` (its first
       built month or first file's business date: one read-only query, milliseconds);
    3. else 2025-01.
    The UI (``dagster dev``) then lists the months the centre has, not years of empty ones.
    """
    env = os.environ if environ is None else environ
    value = env.get(FIRST_MONTH_ENV, "").strip()
    if value:
        if not MONTH.match(value):
            raise ValueError(f"{FIRST_MONTH_ENV} must look like 2025-01, not {value!r}")
        return value
    home = env.get("KAOHE_HOME")
    return (first_month_with_data(Home(Path(home)).published_db) if home else None) \
        or DEFAULT_FIRST_MONTH


def first_month_with_data(db: Path) -> str | None:
    """The earliest month with activity in a kaohe warehouse (kaohe.months.ACTIVITY: a call,
    a repayment, a delivery of calls, assignments or repayments, a built month); None if
    unknown."""
    if not db.is_file():
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None  # being replaced, or not a warehouse: the default applies
    try:
        first = activity_months(con, first_only=True)
    finally:
        con.close()
    return first[0] if first else None


def monthly_partitions(first: str) -> MonthlyPartitionsDefinition:
    """The months from ``first`` (YYYY-MM) in the lender's time zone; the current month is a
    partition too (month to date). The marts and the reports share them."""
    if not MONTH.match(first):
        raise ValueError(f"the first month must look like 2025-01, not {first!r}")
    return MonthlyPartitionsDefinition(start_date=f"{first}-01", timezone="Asia/Shanghai",
                                       end_offset=1)


def __getattr__(name: str) -> MonthlyPartitionsDefinition:
    """``monthly``: the partitions the definitions get from this environment (``first_month``),
    computed when asked for (PEP 562), not at import."""
    if name == "monthly":
        return monthly_partitions(first_month())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def mart_deps(mart: Mart) -> list[AssetKey]:
    """What the mart's SQL reads, and the staging tables its checks read (run before them)."""
    checked = {f"staging.{name}" for name in referenced_tables(mart.table)}
    return [asset_key(t) for t in sorted(mart.inputs | checked)]


def _mart_asset(spec: Mart, partitions: MonthlyPartitionsDefinition) -> AssetsDefinition:
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
        partitions_def=partitions,
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


def mart_assets(partitions: MonthlyPartitionsDefinition) -> list[AssetsDefinition]:
    """One asset per monthly mart, in build order, on these partitions."""
    return [_mart_asset(MARTS[table], partitions) for table in MONTHLY_MARTS]
