"""The legal contact rules (version 3; docs/metrics.md "Contact rules"), pinned on one debtor-day
of each kind at the limits: no lawful call (answered <= 3 a debtor a day, unanswered <= 6 a
number a day, within 08:00-22:00) is counted as a breach, and the first call beyond each limit
is; and, on a generated month, the columns agree with an independent recomputation from
staging.calls in Polars."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from kaohe.models.marts import build_all
from tests.metric_rows import CFG, call, case, insert, warehouse
from tests.metric_rows import build as build_agents

DAY = "2026-08-12"
RULE_COLUMNS = ("answered_over_cap_calls", "unanswered_over_cap_calls", "curfew_calls",
                "contact_rule_breaches")


@pytest.fixture
def con(tmp_path):
    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


def answered(call_id: str, agent_id: str, case_id: str, at: str, number: str | None = None):
    return call(call_id, agent_id, case_id, f"{DAY} {at}", "connected_debtor", 60,
                dialled_number=number)


def unanswered(call_id: str, agent_id: str, case_id: str, at: str, number: str | None = None):
    return call(call_id, agent_id, case_id, f"{DAY} {at}", "no_answer", dialled_number=number)


def rules(row: dict) -> tuple[int, ...]:
    return tuple(row[c] for c in RULE_COLUMNS)


def test_a_lawful_debtor_day_at_every_limit_is_no_breach(con):
    insert(con, "cases", [case("C1", "D1"), case("C2", "D1")])
    insert(con, "calls", [
        # 3 answered calls to debtor D1 (on two of its cases), the first at 08:00:00 sharp
        answered("A1", "L", "C1", "08:00:00", "n1"), answered("A2", "L", "C2", "12:00:00", "n1"),
        answered("A3", "L", "C1", "21:59:59", "n2"),
        # 6 unanswered attempts to each of two numbers of D1
        *[unanswered(f"U{i}", "L", "C1", f"{9 + i:02d}:00:00", "n1") for i in range(6)],
        *[unanswered(f"V{i}", "L", "C1", f"{9 + i:02d}:30:00", "n2") for i in range(6)],
    ])
    row = build_agents(con)["L"]
    assert row["call_attempts"] == 15
    assert rules(row) == (0, 0, 0, 0) and row["contact_rule_breach_rate"] == 0.0
    # the house policy (3 attempts a day, 08:00-21:00) still sees them: it is measured apart
    assert row["own_over_cap_calls"] == 12 and row["off_hours_calls"] == 1


def test_the_first_call_beyond_each_limit_is_a_breach_each_counted_once(con):
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "calls", [
        *[answered(f"A{i}", "H", "C1", f"{9 + i:02d}:00:00", "n1") for i in range(4)],
        *[unanswered(f"U{i}", "H", "C1", f"{9 + i:02d}:30:00", "n1") for i in range(7)],
        # in the curfew: at 22:00:00 sharp and at 07:59:59; the late one is also the 5th
        # answered call of the day (one breach, counted in two columns)
        answered("A9", "H", "C1", "22:00:00", "n1"),
        unanswered("U9", "H", "C1", "07:59:59", "n2"),
    ])
    row = build_agents(con)["H"]
    assert rules(row) == (2, 1, 2, 4)
    assert row["contact_rule_breach_rate"] == pytest.approx(4 / 13)


def test_without_dialled_number_unanswered_attempts_count_per_debtor(con):
    # stricter: 6 + 6 attempts on two numbers are 12 on one debtor without the numbers
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "calls", [unanswered(f"U{i}", "N", "C1", f"{8 + i:02d}:10:00")
                          for i in range(12)])
    assert rules(build_agents(con)["N"]) == (0, 6, 0, 6)


def test_colleagues_calls_are_the_dialler_s_not_the_agent_s(con):
    # A and B each reach D1 twice: 4 answered calls that day, none over either agent's own cap;
    # the centre sees one answered call over the cap that only the dialler could have stopped
    insert(con, "cases", [case("C1", "D1")])
    insert(con, "calls", [answered("A1", "A", "C1", "09:00:00"), answered("B1", "B", "C1", "10:00:00"),
                          answered("A2", "A", "C1", "11:00:00"), answered("B2", "B", "C1", "12:00:00")])
    rows = build_agents(con)
    assert rules(rows["A"]) == rules(rows["B"]) == (0, 0, 0, 0)
    build_all(con, CFG, "2026-08")
    assert con.execute("select cross_agent_answered_over_cap_calls from "
                       "marts.center_month_summary").fetchall() == [(1,)]


def recomputed(staging: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """The rules again, in Polars, straight from staging.calls and staging.cases."""
    start = pl.lit(f"{month}-01").str.to_date()
    calls = staging.sql("select call_id, agent_id, case_id, started_at, outcome, dialled_number "
                        "from staging.calls").pl()
    cases = staging.sql("select case_id, debtor_id, snapshot_date from staging.cases").pl()
    end = pl.lit(f"{month}-01").str.to_date().dt.offset_by("1mo")
    calls = calls.filter((pl.col("started_at") >= start) & (pl.col("started_at") < end))
    last_day = pl.select(end.dt.offset_by("-1d")).item()
    debtors = (cases.filter(pl.col("snapshot_date") <= last_day)
               .sort("snapshot_date").group_by("case_id").last().select("case_id", "debtor_id"))
    c = (calls.join(debtors, on="case_id", how="left")
         .with_columns(debtor=pl.coalesce("debtor_id", pl.lit("case:") + pl.col("case_id")),
                       day=pl.col("started_at").dt.date(),
                       answered=pl.col("outcome").is_in(["connected_debtor",
                                                         "connected_third_party"]))
         .with_columns(number=pl.coalesce("dialled_number", "debtor"))
         .sort("started_at", "call_id"))
    c = c.with_columns(
        a_rank=pl.int_range(1, pl.len() + 1).over("agent_id", "debtor", "day", "answered"),
        u_rank=pl.int_range(1, pl.len() + 1).over("agent_id", "number", "day", "answered"),
        t=pl.col("started_at").dt.time())
    c = c.with_columns(
        a_over=pl.col("answered") & (pl.col("a_rank") > 3),
        u_over=~pl.col("answered") & (pl.col("u_rank") > 6),
        curfew=(pl.col("t") < pl.time(8)) | (pl.col("t") >= pl.time(22)))
    return c.group_by("agent_id").agg(
        answered_over_cap_calls=pl.col("a_over").sum(),
        unanswered_over_cap_calls=pl.col("u_over").sum(),
        curfew_calls=pl.col("curfew").sum(),
        contact_rule_breaches=(pl.col("a_over") | pl.col("u_over") | pl.col("curfew")).sum(),
    ).sort("agent_id")


def test_the_columns_agree_with_a_recomputation_from_staging_on_a_generated_month(sample_build):
    db = sample_build["home"] / "warehouse" / "kaohe.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        for month in ("2026-08", "2026-09"):
            expected = recomputed(con, month)
            got = con.sql(
                f"select agent_id, {', '.join(RULE_COLUMNS)} from marts.agent_month_metrics "
                f"where month = date '{month}-01' and call_attempts > 0 order by agent_id").pl()
            assert got.height == expected.height > 20
            assert got.cast({c: pl.Int64 for c in RULE_COLUMNS}).equals(
                expected.cast({c: pl.Int64 for c in RULE_COLUMNS})), month
            # the rules are exercised: breaches exist, and most agents have none
            assert expected["contact_rule_breaches"].sum() > 0
    finally:
        con.close()
