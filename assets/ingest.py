"""Ingestion assets: one per source of the data contract, landing files → raw → staging."""


import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.checks import quality_results, quality_specs, run_month
from assets.resources import KaoheConfig, Warehouse
from kaohe.ingest.contract import Source, load_contract
from kaohe.ingest.ingestor import Ingestor, discover, discover_options, ingest_options
from kaohe.quality import referenced_tables
from kaohe.warehouse import quote


def _ingest_asset(src: Source) -> AssetsDefinition:
    key = AssetKey(["staging", src.name])
    key_table = f"staging.{src.name}"

    @asset(
        check_specs=quality_specs(key),
        # the sources its checks read (a call's case and agent...) are loaded first
        deps=[AssetKey(["staging", name]) for name in sorted(referenced_tables(key_table))],
        name=src.name,
        key_prefix=["staging"],
        group_name="ingest",
        kinds={"duckdb"},
        owners=["team:data-platform"],
        tags={"kind": src.kind},
        description=(
            f"Ingest new `{src.name}` files from the landing folder into raw.{src.name} and "
            f"staging.{src.name}: {src.description}."
        ),
    )
    def ingest(context: AssetExecutionContext, warehouse: Warehouse,
               kaohe_config: KaoheConfig) -> MaterializeResult:
        cfg = kaohe_config.load()
        files = discover(warehouse.landing_dir, **discover_options(cfg))[src.name]
        options = ingest_options(cfg)  # ingest: rejected share, date window
        with warehouse.writer() as con:
            result = Ingestor(con, warehouse.landing_dir, warehouse.paths.tmp,
                              **options).ingest_source(src, files)
            preview = con.sql(
                f"select {preview_columns(src)} from staging.{src.name} "
                "order by _file desc limit 5"
            ).pl()
            checks = quality_results(con, warehouse, f"staging.{src.name}", key,
                                     run_month(context))
        read_by = {f.rel: f.profile_id for f in files if f.profile_id}
        for f in result.files:
            if f.rel in read_by and f.status != "unchanged":
                context.log.info(f"{f.rel}: read through the source profile {read_by[f.rel]}")
            if f.status in ("rejected", "duplicate"):
                context.log.warning(f"{f.status} {f.rel}: {f.message}")
            elif f.rows_rejected:
                context.log.warning(f"{f.rel}: {f.rows_rejected} row(s) quarantined")
            for warning in f.warnings:  # masked where they quote a value
                context.log.warning(f"{f.rel}: {warning}")
        return MaterializeResult(
            metadata={
                "files_new": result.count("loaded") + result.count("rejected")
                + result.count("duplicate"),
                "files_unchanged": result.count("unchanged"),
                "files_rejected": result.count("rejected"),
                "files_duplicate": result.count("duplicate"),
                "files_with_warnings": sum(bool(f.warnings) for f in result.files),
                "files_replaced": sum(f.replaced for f in result.files),
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "dagster/row_count": result.staging_rows,
                "preview": MetadataValue.md(markdown_table(preview)),
            },
            check_results=checks,
        )

    return ingest


def preview_columns(src: Source) -> str:
    """The columns the run history may show: never a PII or free-text column (the run history
    is not masked like the warehouse), only the contract's plain columns and the file."""
    return ", ".join([quote(c.name) for c in src.columns if not (c.pii or c.text)] + ["_file"])


def markdown_table(df: pl.DataFrame) -> str:
    """A few rows as a Markdown table for the Dagster UI."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in df.rows()]
    return "\n".join([head, *body])


ingest_assets = [_ingest_asset(src) for src in load_contract().values()]
