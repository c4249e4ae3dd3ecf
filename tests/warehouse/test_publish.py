"""Publishing the analyst copy: incremental on the nightly run, identical to a full copy."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kaohe.warehouse import Home
from kaohe.warehouse.publish import publish
from tests.ingest.test_ingest import good_calls

PAYMENT = "{id},C1,2026-08-0{d} 10:00:00,{amount},payment,,app"


def tables(path: Path) -> dict[str, tuple]:
    """Row count and an order-free content hash of every published table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for schema, table in con.sql("select schema_name, table_name from duckdb_tables() "
                                     "order by all").fetchall():
            if (schema, table) == ("audit", "warehouse_meta"):
                continue  # says how the copy was made
            out[f"{schema}.{table}"] = con.sql(
                f"select count(*), sum(hash(t::varchar)) from {schema}.{table} t").fetchall()[0]
        return out
    finally:
        con.close()


def mode(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql("select value from audit.warehouse_meta where key = 'published_mode'"
                       ).fetchall()[0][0]
    finally:
        con.close()


def publish_both(landing, tmp_path: Path) -> tuple[Path, Path]:
    """Publish to the home (incremental when it can) and, in full, to a second home."""
    full = Home(tmp_path / "full-home")
    full.create()
    with landing.warehouse.writer() as con:
        publish(con, landing.warehouse.paths)
        publish(con, full, full=True)
    return landing.warehouse.paths.published_db, full.published_db


def test_the_nightly_publish_is_incremental_and_equal_to_a_full_copy(landing, tmp_path):
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2"))
    landing.write("repayments", "repayments_20260803.csv",
                  [PAYMENT.format(id="P1", d=3, amount="10.00")])
    landing.ingest()
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "full"
    # the next day: a new call, a re-delivered one (a new version), a payment
    landing.write("calls", "calls_20260804.csv", good_calls("K2", "K3"))
    landing.write("repayments", "repayments_20260804.csv",
                  [PAYMENT.format(id="P2", d=4, amount="20.00")])
    landing.ingest()
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "incremental"
    assert tables(mine) == tables(full)
    con = duckdb.connect(str(mine), read_only=True)
    assert con.sql("select call_id, _file from staging.calls order by all").fetchall() == [
        ("K1", "calls/calls_20260803.csv"), ("K2", "calls/calls_20260804.csv"),
        ("K3", "calls/calls_20260804.csv")]
    con.close()


def test_a_replaced_file_or_a_purge_makes_a_full_copy(landing, tmp_path):
    landing.write("calls", "calls_20260803.csv", good_calls("K1", "K2"))
    landing.ingest()
    publish_both(landing, tmp_path)
    # a corrected file under the same name: K2 is gone from it
    landing.write("calls", "calls_20260803.csv", good_calls("K1"))
    landing.ingest()
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "full"
    assert tables(mine) == tables(full)
    landing.write("calls", "calls_20260804.csv", good_calls("K5"))
    landing.ingest()
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "incremental" and tables(mine) == tables(full)


def test_a_purge_since_the_last_copy_makes_a_full_copy(landing, tmp_path):
    landing.write("calls", "calls_20260803.csv", good_calls("K1"))
    landing.ingest()
    publish_both(landing, tmp_path)
    with landing.warehouse.writer() as con:  # as kaohe purge leaves it (see kaohe.warehouse.retention)
        con.execute("create table if not exists audit.purge_log (purged_at timestamp, "
                    "before date, retention_days integer, files bigint, rows varchar)")
        con.execute("insert into audit.purge_log values (now()::timestamp, date '2024-01-01', "
                    "730, 0, '{}')")
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "full"  # purged rows must not survive in a copied file
    assert tables(mine) == tables(full)
    mine, full = publish_both(landing, tmp_path)
    assert mode(mine) == "incremental"
