"""Gaming does not pay (issue 29, docs/scorecard.md): on a copy of the generated centre, agents
who plant one gaming behaviour (kaohe/generate/gaming.py) in 2026-08 and 2026-09 get, summed over
the months touched, no better grade, rank (among the other agents as the baseline has them: see
``_rank_among``) or variable pay, and no higher composite (beyond the rounding), than they got
without it, under the shipped configuration.

The baseline is the copy's own two months rebuilt by this code (``build_all``); each test plants
in a copy of that work database and rebuilds both months in order. The agents are drawn by seed
(``choose_agents``), never picked to make a test pass.

The tests are in tests/scoring/test_gaming_does_not_pay*.py, two behaviours a file, so that the
six rebuilds run on all the test workers; the baseline is built once per test session, by
whichever worker asks first (conftest.py ``gaming_baseline``), and read by all (each test
plants in a copy of it)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb

from kaohe.config import load_config
from kaohe.generate.gaming import choose_agents, eligible_agents, plant
from kaohe.models.marts import build_all
from tests.conftest import copy_home

MONTHS = ("2026-08", "2026-09")
SEED = 29
PER_BEHAVIOUR = 3
GRADE_POINTS = {"S": 5, "A": 4, "B": 3, "C": 2, "D": 1}  # VETO, NA: 0
# Per month. The bar is grade, rank and variable pay; the composite is held too, to
# 0.05 a month: besides the composite's rounding (0.01), a token call to a case not yet dialled
# that month adds it to cases_handled, the denominator of complaints_per_1k_cases (+0.03
# composite for one agent of three here). Dialling another debtor is work the measure counts on
# purpose (each call is a chance of a complaint), not a cheap way to move it.
COMPOSITE_TOLERANCE = 0.05
CFG = load_config()


def build_baseline(sample_build: dict, root: Path) -> dict:
    """The sample's work database (a copy in ``root``) with both months rebuilt by this code,
    and the agents each behaviour is planted for (conftest.py ``gaming_baseline``)."""
    home = copy_home(sample_build, root / "home")
    db = home / "work" / "kaohe.duckdb"
    con = duckdb.connect(str(db))
    try:
        for month in MONTHS:
            build_all(con, CFG, month)
        chosen = choose_agents(con, list(MONTHS), seed=SEED, per_behaviour=PER_BEHAVIOUR)
        # sandbagging only makes sense above target: appraised in August above their target
        above = [r[0] for r in con.execute(
            "select agent_id from marts.agent_month_scorecard where month = date '2026-08-01' "
            "and merit_recovery_vs_target >= 1 and grade not in ('NA', 'VETO') "
            "order by agent_id").fetchall()]
        assert len(above) >= PER_BEHAVIOUR, above
        chosen["month_boundary_shift"] = sorted(sorted(
            above, key=lambda a: hashlib.md5(f"{SEED}|{a}".encode()).hexdigest()
        )[:PER_BEHAVIOUR])
        # leaving broken promises unrecorded (not a signal's behaviour): drawn by seed from the
        # agents no other behaviour took
        taken = {a for agents in chosen.values() for a in agents}
        free = [a for a in eligible_agents(con, list(MONTHS)) if a not in taken]
        chosen["withheld_promises"] = sorted(sorted(
            free, key=lambda a: hashlib.md5(f"{SEED}|withheld|{a}".encode()).hexdigest()
        )[:PER_BEHAVIOUR])
        figures_before = {b: _figures(con, agents) for b, agents in chosen.items()}
        # every ranked agent's composite per month, as the baseline has it: the rank a planted
        # agent reaches is counted among the others as they were (below)
        peers = {}
        for month, agent, composite in con.execute(
                "select strftime(month, '%Y-%m'), agent_id, composite "
                "from marts.agent_month_scorecard where center_rank is not null").fetchall():
            peers.setdefault(month, {})[agent] = composite
    finally:
        con.close()
    return {"db": db, "chosen": chosen, "before": figures_before, "peers": peers}


def _rank_among(peers: dict, agent: str, fig: dict) -> int:
    """The agent's centre rank over the months concerned: the place of the agent's composite
    summed over the months among the other agents' baseline sums (a month an agent is not
    appraised adds nothing), so only the agent's own composites move it. (A planted behaviour
    also moves centre-wide figures, such as the pooled rate small samples are shrunk toward, by
    hundredths: a near-tie between two others can then flip and lift the agent a place without
    anything the agent did paying.) Summed composites, not summed monthly places (8.0): a place
    is coarse where the composites are sparse, so moving collections from one month into the
    next cost an agent 1.7 points and no place in August (5th, far from the 6th) and bought 0.35
    point and a place in September (15th, among close neighbours): summed places called that a
    gain, while the agent lost a grade and 347 yuan of pay."""
    others: dict[str, float] = {}
    for m in fig["months"]:
        for a, c in peers.get(m["month"], {}).items():
            if a != agent:
                others[a] = others.get(a, 0.0) + (c or 0.0)
    mine = sum(m["composite"] or 0.0 for m in fig["months"]
               if m["grade"] not in ("NA", "VETO"))
    return 1 + sum(total > mine for total in others.values())


def _figures(con: duckdb.DuckDBPyConnection, agents: list[str]) -> dict[str, dict]:
    """Per agent, summed over MONTHS: grade points, centre rank (not appraised: one past the
    last), variable pay earned, composite; and the month by month rows, for the message."""
    out = {}
    for agent in agents:
        rows = con.execute("""
            select strftime(s.month, '%Y-%m'), s.grade, s.composite, s.center_rank,
                   coalesce(p.variable_earned, 0)::double,
                   (select count(*) from marts.agent_month_scorecard x where x.month = s.month),
                   s.merit_recovery_vs_target, s.compliance_score, s.recovery_score
            from marts.agent_month_scorecard s
            left join marts.agent_month_pay p using (agent_id, month)
            where s.agent_id = ? and s.month between date '2026-08-01' and date '2026-09-01'
            order by s.month""", [agent]).fetchall()
        assert len(rows) == len(MONTHS), (agent, rows)
        out[agent] = {
            "grade": sum(GRADE_POINTS.get(r[1], 0) for r in rows),
            "rank": sum(r[3] if r[3] is not None else r[5] + 1 for r in rows),
            "pay": round(sum(r[4] for r in rows), 2),
            "composite": round(sum(r[2] or 0.0 for r in rows), 2),
            "kept_rate": con.execute(
                "select list(commitment_kept_rate order by month) from marts.agent_month_metrics "
                "where agent_id = ? and month between date '2026-08-01' and date '2026-09-01'",
                [agent]).fetchone()[0],
            "months": [{"month": r[0], "grade": r[1], "composite": r[2], "rank": r[3],
                        "pay": r[4], "merit_vs_target": r[6], "compliance": r[7],
                        "recovery": r[8]} for r in rows],
        }
    return out


def plant_and_judge(baseline: dict, tmp_path: Path, behaviour: str,
                     months: tuple[str, ...]) -> duckdb.DuckDBPyConnection | None:
    db = tmp_path / "kaohe.duckdb"
    shutil.copyfile(baseline["db"], db)
    agents = baseline["chosen"][behaviour]
    before = baseline["before"][behaviour]
    con = duckdb.connect(str(db))
    try:
        for month in months:
            summary = plant(con, behaviour, agents, month, seed=SEED)
            assert summary["total"], summary  # something was planted
        for month in MONTHS:
            build_all(con, CFG, month)
        after = _figures(con, agents)
    finally:
        con.close()
    paid = []
    for agent in agents:
        b, a = before[agent], after[agent]
        print(f"{behaviour} {agent}\n  before {_show(b)}\n  after  {_show(a)}")
        peers = baseline["peers"]
        gains = [name for name, up in (
            ("grade", a["grade"] > b["grade"]),
            ("rank", _rank_among(peers, agent, a) < _rank_among(peers, agent, b)),
            ("variable pay", a["pay"] > b["pay"] + 0.005),
            ("composite", a["composite"] > b["composite"] + COMPOSITE_TOLERANCE * len(MONTHS)),
        ) if up]
        if gains:
            paid.append(f"{agent} gained {', '.join(gains)}: before {_show(b)}; after {_show(a)}")
    assert not paid, f"{behaviour} paid:\n" + "\n".join(paid)
    return after


def _show(fig: dict) -> str:
    months = "; ".join(
        f"{m['month']} {m['grade']} {m['composite']} rank {m['rank']} pay {m['pay']:.2f} "
        f"merit {m['merit_vs_target'] or 0:.3f} compliance {m['compliance'] or 0:.2f}"
        for m in fig["months"])
    return (f"grade {fig['grade']} rank {fig['rank']} pay {fig['pay']:.2f} "
            f"composite {fig['composite']:.2f} ({months})")
