"""The round trip of each shipped source profile: a generated month whose calls are written in a
vendor's format (``kaohe.generate.vendors.render_calls``: file names, encodings, columns, codes,
time and duration kinds, planted rows the profile drops) and ingested through its profile
publishes marts identical, table by table and row by row, to the same month in the contract's
own format.

The other sources are ingested once (the contract's format) and the home copied for each
variant: only the calls differ between the four builds."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets.resources import Warehouse
from kaohe.config import load_config
from kaohe.generate import generate
from kaohe.generate.vendors import render_calls
from kaohe.ingest.contract import load_contract
from kaohe.ingest.ingestor import Ingestor, discover
from kaohe.ingest.profiles import shipped_profiles
from kaohe.models.marts import MONTHLY_MARTS, build_all

MONTH = "2026-09"
# columns that say when something ran, not what the data is
VOLATILE = {"built_at", "computed_at", "generated_at", "ingested_at", "checked_at"}


def _hashes(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    out = {}
    for table in MONTHLY_MARTS:
        schema, name = "marts", table
        cols = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and "
            "table_name = ? order by column_index", [schema, name]).fetchall()
            if c not in VOLATILE]
        row = "row(" + ", ".join(f'"{c}"' for c in cols) + ")::varchar"
        out[table] = con.execute(
            f"select count(*), md5(coalesce(string_agg(h, '' order by h), '')) from "
            f"(select md5({row}) as h from marts.{table})").fetchall()[0]
    return out


def _ingest(landing: Path, home: Path, sources: list[str]) -> dict:
    wh = Warehouse(home=str(home), landing=str(landing))
    results = {}
    with wh.writer() as con:
        ing = Ingestor(con, landing, wh.paths.tmp)
        found = discover(landing)
        for name in sources:
            results[name] = ing.ingest_source(load_contract()[name], found[name])
    return results


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("round-trip")
    contract = root / "contract"
    # a fifth of a small centre: the round trip needs every kind of row, not volume
    generate(contract, date(2026, 9, 1), 1, 11, "small", progress=None, volume=0.4)
    base = root / "base-home"
    _ingest(contract, base, [s for s in load_contract() if s != "calls"])
    return {"root": root, "contract": contract, "base": base}


def _build(built: dict, variant: str) -> tuple[dict, dict]:
    """(mart hashes, the calls' ingestion result) of the month with its calls in ``variant``."""
    root = built["root"]
    landing = built["contract"]
    if variant != "contract":
        landing = root / variant
        shutil.copytree(built["contract"], landing)
        render_calls(landing, variant)
    home = root / f"home-{variant}"
    shutil.copytree(built["base"], home, ignore=shutil.ignore_patterns("*.lock"))
    calls = _ingest(landing, home, ["calls"])["calls"]
    wh = Warehouse(home=str(home), landing=str(landing))
    with wh.writer() as con:
        build_all(con, load_config(), MONTH)
        return _hashes(con), {"result": calls, "staging": con.execute(
            "select count(*), count(distinct call_id) from staging.calls").fetchall()[0],
            "registry": con.execute(
                "select count(*), count(distinct profile) from audit.file_registry "
                "where source = 'calls'").fetchall()[0]}


@pytest.fixture(scope="module")
def contract_build(built) -> tuple[dict, dict]:
    return _build(built, "contract")


@pytest.mark.parametrize("profile", ["asterisk_cdr", "freeswitch_cdr_csv",
                                     "cn_cloud_callcenter"])
def test_a_month_through_a_profile_publishes_identical_marts(built, contract_build, profile):
    assert profile in shipped_profiles()
    expected, contract = contract_build
    got, vendor = _build(built, profile)
    assert expected["agent_month_metrics"][0] >= 20
    differ = {t: (expected[t], got[t]) for t in expected if expected[t] != got[t]}
    assert not differ, f"{profile}: marts differ from the contract's format: {differ}"
    # the same calls reached staging; the vendor's files were each read by the profile
    assert vendor["staging"] == contract["staging"]
    files, profiles = vendor["registry"]
    assert files == len(vendor["result"].files) and profiles == 1
    res = vendor["result"]
    assert res.rows_read == res.rows_loaded + res.rows_rejected
    assert all(f.status == "loaded" for f in res.files), [
        (f.rel, f.message) for f in res.files if f.status != "loaded"]
