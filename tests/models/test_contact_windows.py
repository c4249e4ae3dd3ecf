"""Contact windows (marts.contact_windows, intermediate.window_attempts, docs/contact-windows.md).

On hand-written rows: the counts of a window, the legal hours only, the kind of day, the
attempt's order in the debtor's day and bucket (the expected contacts), the method-of-moments
prior and the shrinkage toward the segment's own rate, the 90% interval, the grid of every legal
hour. On generated data: the estimate finds each segment's best window (the generator's hidden
curves, in its manifest) on the shared sample, and the evaluation on the next month shows the
uplift there and none on a centre whose curve is flat (the null)."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kaohe.models import bound_params, dictionary, sql
from kaohe.models.marts import build
from kaohe.models.window_eval import evaluate, top_windows, window_counts
from tests.conftest import built_once
from tests.metric_rows import CFG, assignment, call, case, insert

AUG, SEP = date(2026, 8, 1), date(2026, 9, 1)


def _windows(con, month: date) -> dict[tuple[str, str, int], dict]:
    cur = con.execute("select * exclude (config_version) from marts.contact_windows "
                      "where month = ?", [month])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {(r["segment"], r["day_kind"], r["hour"]): r for r in rows}


def _cases(industry: str, ids: range, prefix: str) -> list[dict]:
    return [dict(case(f"{prefix}{i}", f"D{prefix}{i}"), industry=industry) for i in ids]


def _calls(prefix: str, at: str, contacts: int, attempts: int) -> list[dict]:
    """``attempts`` calls to distinct debtors (``prefix``0..), the first ``contacts`` answered."""
    return [call(f"K{prefix}{at}{i}", "A1", f"{prefix}{i}", at,
                 "connected_debtor" if i < contacts else "no_answer") for i in range(attempts)]


def test_counts_shrinkage_and_interval_on_hand_written_rows(metric_con):
    con = metric_con
    # retail: 9:00 on Monday 5 of 10 answered, 10:00 1 of 10: the windows differ beyond chance
    # it: 2 of 10 at both hours: no difference beyond chance (the prior as strong as the data)
    # other: one call on Saturday at 21:xx (the last legal hour)
    # construction: only curfew calls (07:59:59, 22:00:00): never a window, no segment
    insert(con, "cases", _cases("retail", range(20), "R") + _cases("it", range(20), "I")
           + _cases("other", range(1), "O") + _cases("construction", range(2), "X"))
    insert(con, "calls", [
        *_calls("R", "2026-08-03 09:10:00", 5, 10),
        *[dict(c, call_id=c["call_id"] + "b", case_id=f"R{10 + i}")
          for i, c in enumerate(_calls("R", "2026-08-03 10:10:00", 1, 10))],
        *_calls("I", "2026-08-04 09:30:00", 2, 10),
        *[dict(c, call_id=c["call_id"] + "b", case_id=f"I{10 + i}")
          for i, c in enumerate(_calls("I", "2026-08-04 10:30:00", 2, 10))],
        call("KO", "A1", "O0", "2026-08-08 21:30:00", "connected_debtor"),
        call("KX1", "A1", "X0", "2026-08-05 07:59:59", "connected_debtor"),
        call("KX2", "A1", "X1", "2026-08-05 22:00:00", "connected_debtor"),
    ])
    build(con, "contact_windows", CFG, "2026-08")
    w = _windows(con, AUG)
    # every segment with a legal call x 2 kinds of day x the 14 legal hours 08..21
    assert {s for s, _, _ in w} == {"retail", "it", "other"}
    assert len(w) == 3 * 2 * 14
    assert {h for _, _, h in w} == set(range(8, 22))
    r9, r10 = w[("retail", "weekday", 9)], w[("retail", "weekday", 10)]
    assert (r9["attempts"], r9["right_party_contacts"], r9["agents"]) == (10, 5, 1)
    assert (r10["attempts"], r10["right_party_contacts"], r10["rpc_rate"]) == (10, 1, 0.1)
    # every attempt is the debtor's first of the day, none held: one stratum, rate 11/41, so the
    # adjusted rate is the raw one and the expected contacts split the segment's 6 by attempts
    assert r9["expected_contacts"] == pytest.approx(3.0)
    assert r9["adjusted_rpc_rate"] == pytest.approx(0.5)
    assert r9["segment_rpc_rate"] == pytest.approx(0.3)
    # the method of moments: mean (r - mu)^2 = 0.04, mean mu (1 - mu) / n = 0.021,
    # 1 - mean 1/n = 0.9: tau2 = 0.019 / 0.9; M = 0.21 / tau2 - 1
    m = 0.21 / (0.019 / 0.9) - 1
    assert r9["prior_strength"] == pytest.approx(m, rel=1e-6)
    shrunk = (5 + m * 0.3) / (10 + m)
    assert r9["shrunk_rpc_rate"] == pytest.approx(shrunk, rel=1e-6)
    assert r10["shrunk_rpc_rate"] == pytest.approx((1 + m * 0.3) / (10 + m), rel=1e-6)
    assert 0.3 < shrunk < 0.5  # pulled toward the segment's rate, not to it
    a, b = 5 + m * 0.3, 5 + m * 0.7
    half = 1.645 * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert r9["shrunk_rpc_low"] == pytest.approx(shrunk - half, rel=1e-6)
    assert r9["shrunk_rpc_high"] == pytest.approx(shrunk + half, rel=1e-6)
    # ranked within segment and kind of day: 10:00, below the segment's rate, after the twelve
    # windows without attempts (at the segment's rate, ties in hour order)
    assert (r9["window_rank"], r10["window_rank"]) == (1, 14)
    assert w[("retail", "weekday", 8)]["window_rank"] == 2
    assert r9["lift"] == pytest.approx(shrunk / 0.3, rel=1e-6)
    # a window without attempts: the segment's rate, with the prior's interval
    empty = w[("retail", "weekday", 15)]
    assert (empty["attempts"], empty["rpc_rate"], empty["adjusted_rpc_rate"]) == (0, None, None)
    assert empty["shrunk_rpc_rate"] == pytest.approx(0.3)
    assert empty["shrunk_rpc_low"] < 0.3 < empty["shrunk_rpc_high"]
    # it: no variation beyond chance: M = the segment's 20 attempts, every window at its rate
    i9 = w[("it", "weekday", 9)]
    assert i9["prior_strength"] == 20
    assert i9["shrunk_rpc_rate"] == pytest.approx(0.2)
    # Saturday 21:30 is a weekend window of hour 21
    o = w[("other", "weekend", 21)]
    assert (o["attempts"], o["right_party_contacts"]) == (1, 1)
    assert sum(r["attempts"] for r in w.values()) == 41


def test_the_order_in_the_debtors_day_and_the_bucket_set_the_expected_contacts(metric_con):
    con = metric_con
    # one debtor dialled three times on Thursday 3 September (a curfew call first), answered the
    # third time; the case held since 20 August at 25 days past due: 39 at the calls, M2
    insert(con, "cases", [dict(case("C9", "D9", "2026-09-01"), industry="manufacturing"),
                          dict(case("C10", "D10", "2026-09-01"), industry="manufacturing")])
    insert(con, "assignments", [assignment("S9", "C9", "A1", "2026-08-20 09:00:00", dpd=25)])
    insert(con, "calls", [
        call("K0", "A1", "C9", "2026-09-03 07:30:00"),
        call("K1", "A1", "C9", "2026-09-03 09:00:00"),
        call("K2", "A2", "C9", "2026-09-03 11:00:00"),
        call("K3", "A1", "C9", "2026-09-03 15:00:00", "connected_debtor"),
        call("K4", "A1", "C10", "2026-09-03 09:30:00", "connected_debtor"),
    ])
    rows = {r[0]: r[1:] for r in con.execute(
        "select call_id, agent_id, segment, day_kind, hour, day_order, bucket, contact, expected "
        "from intermediate.window_attempts(date '2026-09-01', date '2026-10-01', '08:00:00', "
        "'22:00:00')").fetchall()}
    assert set(rows) == {"K1", "K2", "K3", "K4"}  # the curfew call is no window
    # its order counts the curfew call: 09:00 is the debtor's second attempt of the day
    assert [rows[k][4] for k in ("K1", "K2", "K3", "K4")] == [2, 3, 4, 1]
    assert rows["K1"][5] == "M2" and rows["K4"][5] is None
    assert rows["K2"][:4] == ("A2", "manufacturing", "weekday", 11)
    # expected: each attempt its stratum's rate (order x bucket), here each a stratum alone
    assert {k: r[7] for k, r in rows.items()} == {"K1": 0.0, "K2": 0.0, "K3": 1.0, "K4": 1.0}
    build(con, "contact_windows", CFG, "2026-09")
    w = _windows(con, SEP)
    # 15:00: answered at the fourth attempt, a stratum that always answered: adjusted at the
    # segment's rate (2 of 4), not at its raw 100%
    assert w[("manufacturing", "weekday", 15)]["rpc_rate"] == 1.0
    assert w[("manufacturing", "weekday", 15)]["adjusted_rpc_rate"] == pytest.approx(0.5)


def test_the_sql_gives_the_dictionarys_columns_and_types(metric_con):
    d = dictionary("contact_windows")
    described = metric_con.execute(f"describe {sql('contact_windows')}",
                                   bound_params(d, CFG, "2026-08")).fetchall()
    assert [(r[0], r[1]) for r in described] == [(c["name"], c["type"]) for c in d.columns]


# --- generated data ---------------------------------------------------------------------------

def _published(sample_build) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"),
                          read_only=True)


def test_the_estimate_finds_each_segments_best_window(sample_build):
    manifest = json.loads((sample_build["landing"] / "_manifest.json").read_text())
    best = manifest["contact_best_windows"]
    con = _published(sample_build)
    try:
        found = con.execute("select month, segment, day_kind, hour from marts.contact_windows "
                            "where window_rank = 1 and segment <> 'unknown'").fetchall()
    finally:
        con.close()
    hits = {(m, dk): [] for m, _, dk, _ in found}
    for month, segment, day_kind, hour in found:
        hits[(month, day_kind)].append(hour == best[segment][day_kind]["hour"])
    # every month: the weekday best hour of at least 6 of the 7 segments, the weekend's (a
    # quarter of the calls) of at least 5
    for (month, day_kind), got in hits.items():
        assert len(got) == len(best), (month, day_kind)
        assert sum(got) >= (6 if day_kind == "weekday" else 5), (month, day_kind, got)


def test_the_next_month_reaches_more_in_the_estimated_windows(sample_build):
    con = _published(sample_build)
    try:
        res = evaluate(window_counts(con, CFG, "2026-09"), top_windows(con, "2026-08", 3),
                       reps=500)
    finally:
        con.close()
    assert res["share_of_attempts"] > 0.95
    assert res["adjusted"]["low"] > 0.1, res  # the curves' peaks are 1.3-1.8 x the mean


def _flat_centre(root: Path) -> dict:
    """A small centre of two months whose debtors answer alike at every hour (the generator's
    flat curve): the three sources the windows read, ingested; the evaluation of August's
    estimate on September."""
    from kaohe.generate import generate
    from kaohe.ingest.contract import load_contract
    from kaohe.ingest.ingestor import Ingestor, discover
    from tests.conftest import Landing

    generate(root / "landing", AUG, 2, 7, "small", progress=None, contact_curves="flat")
    landing = Landing(root / "landing", root / "home")
    with landing.warehouse.writer() as con:
        ingestor, found = Ingestor(con, landing.root, landing.warehouse.paths.tmp), discover(
            landing.root)
        for name in ("cases", "assignments", "calls"):
            ingestor.ingest_source(load_contract()[name], found[name])
        build(con, "contact_windows", CFG, "2026-08")
        lifts = con.execute("select min(lift), max(lift) from marts.contact_windows").fetchall()[0]
        return {"lifts": lifts, **{f"top{k}": evaluate(
            window_counts(con, CFG, "2026-09"), top_windows(con, "2026-08", k), reps=500)
            for k in (1, 3)}}


def test_a_flat_curve_shows_no_uplift(tmp_path_factory):
    res = built_once(tmp_path_factory, "contact-windows-flat", _flat_centre)
    # shrunk hard toward each segment's rate: no window claims more than 10% above it
    assert 0.9 < res["lifts"][0] <= res["lifts"][1] < 1.1, res["lifts"]
    for k in (1, 3):
        adjusted = res[f"top{k}"]["adjusted"]
        assert adjusted["low"] < 0 < adjusted["high"], (k, adjusted)
