"""The gaming planter (kaohe/generate/gaming.py): one seed plants the same rows every time, the
truth lives only in its manifest, the lender's tables stay well-formed (unique ids), and each
behaviour changes what it says it changes."""

from __future__ import annotations

import json

import duckdb
import pytest

from kaohe.generate.gaming import BEHAVIOURS, choose_agents, plant, plant_centre
from tests.conftest import copy_home

MONTHS = ["2026-08", "2026-09"]


def _raw_digest(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """Row count and an order-free digest of each planted table."""
    out = {}
    for table in ("calls", "assignments", "repayments"):
        out[table] = con.execute(
            f"select count(*), sum(hash(t)) from raw.{table} t").fetchall()[0]
    return out


@pytest.fixture()
def two_copies(sample_build, tmp_path):
    dbs = []
    for name in ("a", "b"):
        home = copy_home(sample_build, tmp_path / name)
        dbs.append(home / "work" / "kaohe.duckdb")
    return dbs


def test_one_seed_plants_the_same_rows_and_the_truth_is_only_in_the_manifest(two_copies,
                                                                              tmp_path):
    manifests, digests = [], []
    for i, db in enumerate(two_copies):
        con = duckdb.connect(str(db))
        try:
            before = _raw_digest(con)
            path = tmp_path / f"manifest{i}.json"
            manifests.append(plant_centre(con, MONTHS, seed=5, per_behaviour=2,
                                          manifest_path=path))
            digests.append(_raw_digest(con))
            for table, key in (("calls", "call_id"), ("assignments", "assignment_id"),
                               ("repayments", "payment_id")):
                dupes = con.execute(f"select count(*) - count(distinct {key}) from staging.{table}"
                                    ).fetchall()[0][0]
                assert dupes == 0, (table, dupes)
            # nothing in the warehouse names a gaming agent or behaviour
            named = con.execute(
                "select count(*) from duckdb_tables() where table_name ilike '%gaming%' "
                "and schema_name in ('raw', 'staging')").fetchall()[0][0]
            assert named == 0
        finally:
            con.close()
        assert json.loads(path.read_text(encoding="utf-8"))["seed"] == 5
    assert digests[0] == digests[1]  # deterministic per seed
    assert manifests[0] == manifests[1]
    assert digests[0] != before  # and it did plant
    gaming = manifests[0]["gaming_agents"]
    assert set(gaming) == set(BEHAVIOURS)
    everyone = [a for agents in gaming.values() for a in agents]
    assert len(everyone) == len(set(everyone)) == 2 * len(BEHAVIOURS)  # disjoint


def test_each_behaviour_changes_what_it_says(two_copies):
    con = duckdb.connect(str(two_copies[0]))
    try:
        chosen = choose_agents(con, MONTHS, seed=3, per_behaviour=1)
        for behaviour, (agent,) in chosen.items():
            calls_before = con.execute("select count(*) from raw.calls where agent_id = ?",
                                       [agent]).fetchall()[0][0]
            out = plant(con, behaviour, [agent], "2026-08", seed=3)
            done = out["agents"][agent]
            assert done, (behaviour, out)
            calls_after = con.execute("select count(*) from raw.calls where agent_id = ?",
                                      [agent]).fetchall()[0][0]
            if behaviour in ("padding_calls", "token_promises", "broken_promise_loops"):
                assert calls_after > calls_before, behaviour  # calls added
            if behaviour == "unattempted_cases":
                assert calls_after < calls_before  # the hard cases no longer dialled
            if behaviour in ("uncontacted_collections", "late_reassignment"):
                assert done["assignments"]["added"] > 0, (behaviour, done)  # cases taken over
            if behaviour == "month_boundary_shift":
                assert done["repayments"]["moved"] > 0, done  # payments moved
        with pytest.raises(ValueError, match="unknown behaviour"):
            plant(con, "bribery", ["A00001"], "2026-08")
    finally:
        con.close()
