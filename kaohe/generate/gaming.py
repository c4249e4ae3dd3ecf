"""Planting gaming behaviours in a built warehouse, with the truth recorded apart (issue 29,
"gaming does not pay").

The staging tables are what the lender's files become (``staging.<source>`` is a view over
``raw.<source>``), so planting in ``raw`` is planting in the files: the next build of a month's
marts (``kaohe.models.marts.build_all``) sees the planted rows as if the lender had sent them.
Everything is DuckDB SQL over whole tables (the only Python loops are over agents and
behaviours); the pseudo-random choices are ``md5`` of the seed, the behaviour, the agent, the
month and the row's key, so one seed always plants the same rows. New rows copy the lineage
columns (``_file_id``, ``_file``, ``_line``, ``_business_date``, ``_seq``) of the row they are
made from; their ids are the template's id with a suffix (``-P3``, ``-T12``...), unique.

The behaviours (rates at ``intensity`` 1.0; docs/scorecard.md "Gaming does not pay"):

``padding_calls``
    200-300 extra right-party calls (``connected_debtor``) of 3-8 seconds on the agent's own
    held cases, about 60% of them re-dials 5-40 seconds after one of the agent's calls, the rest
    elsewhere in the same day (09:00-20:00). Inflates calls, right-party contacts and talk
    counts; no call reaches the effective length (``metrics.effective_call_min_s``).
``token_promises``
    about 50 promises a small amount (50.00, or 5% of the amount due when that is less: far
    below ``gaming.commitment_min_share``) on right-party calls of 3-10 seconds, on cases of the
    agent that pay later in the month anyway: each promise is made one or more days before the
    payment and due on the payment's date, so it is "kept" without any work.
``month_boundary_shift`` (sandbagging)
    the agent's payments (held by the agent when made) from the end of ``month`` backwards
    (the last 4 days first, at most the last 8) are moved to the first 3 days of the next month,
    same time of day, until about 22% of the agent's month collections are moved; only payments
    the agent still holds the case for at the new date. The reversals of a moved payment dated
    before its new date move with it, and the agent's promises on those cases due from the first
    moved date to the month's end are re-dated to the payment's new date.
``unattempted_cases`` (cherry-picking)
    all the agent's calls in the month on the 25% of their held cases hardest to reach (no or
    the fewest right-party contacts, then the shortest best contact) are deleted: the agent
    stopped dialling the unreachable debtors.
``uncontacted_collections``
    cases held by other agents that pay in the month are reassigned to the agent 3-10 days
    before the payment (the previous holding released at that moment, the new one held until
    the old one would have ended), until about 25% of the agent's collections come from them;
    the agent never dials them: collections that came on their own.
``late_reassignment``
    8-15 cases of other agents with a payment later in the month are reassigned to the agent
    1-2 days before the payment (as above), and the agent makes one right-party call of 45-150
    seconds to each after the reassignment and before the payment, to claim the contact.
``broken_promise_loops``
    on about 10 of the agent's cases held for 12 days or more of the month that make no payment
    while held, 3-4 promises each on real right-party calls (90-300 seconds) for 15-40% of the
    amount due, spread over the holding, each due 3-6 days after it is made and before the
    holding ends: all broken.
``withheld_promises`` (fewer commitments)
    the agent records a promise only when the debtor will keep it: every promise of the
    agent's due in the month that the case did not pay in full by its due date loses its
    amount and due date (the call stays). It lifts ``commitment_kept_rate`` (the kept share of
    the promises recorded) to about 1; ``kept_commitments_vs_expected`` (7.0: per case held)
    does not move. Not among ``BEHAVIOURS`` (the ones ``marts.gaming_signals`` looks for and
    ``plant_centre`` plants): it does not pay, so it needs no question for the manager; plant
    it with ``plant``.

Beside them, ``plant_centre`` gives honest agents the look-alike patterns of
``kaohe.generate.gaming_lookalikes`` (debtors who hang up; payments around the turn of the
month), named in the manifest's "lookalikes".

The truth (who gamed, how, what was changed) is recorded only in what ``plant`` and
``plant_centre`` return (and the JSON ``plant_centre`` writes when asked), never in the
warehouse.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import duckdb

from kaohe.generate.gaming_lookalikes import LOOKALIKES
from kaohe.generate.gaming_plants import PLANTERS, TABLES
from kaohe.generate.gaming_sql import NEVER, SEED_MACRO, uniform, unique_ids
from kaohe.months import month_bounds

BEHAVIOURS = ("padding_calls", "token_promises", "month_boundary_shift", "unattempted_cases",
              "uncontacted_collections", "late_reassignment", "broken_promise_loops")



def _plant(con: duckdb.DuckDBPyConnection, behaviour: str, agent_ids: list[str], month: str,
           seed: int, intensity: float, protect: list[str]) -> dict:
    planters = {**PLANTERS, **LOOKALIKES}
    if behaviour not in planters:
        raise ValueError(f"unknown behaviour {behaviour!r}: one of "
                         f"{', '.join(tuple(PLANTERS) + tuple(LOOKALIKES))}")
    if intensity < 0:
        raise ValueError("intensity must be >= 0")
    start, end, _ = month_bounds(month)
    con.execute(SEED_MACRO)
    agents = {}
    for agent_id in agent_ids:
        params = {"agent": agent_id, "start": start, "end": end,
                  "key": f"{seed}|{behaviour}|{agent_id}|{month}|",
                  "protect": sorted(set(protect) | {agent_id})}
        agents[agent_id] = planters[behaviour](con, params, intensity)
    for table, key in TABLES.items():
        unique_ids(con, table, key)
    total: dict[str, dict[str, float]] = {}
    for summary in agents.values():
        for table, ops in summary.items():
            for op, n in ops.items():
                total.setdefault(table, {}).setdefault(op, 0)
                total[table][op] = round(total[table][op] + n, 2)
    return {"behaviour": behaviour, "month": month, "seed": seed, "intensity": intensity,
            "agents": agents, "total": total}


def plant(con: duckdb.DuckDBPyConnection, behaviour: str, agent_ids: list[str], month: str, *,
          seed: int = 0, intensity: float = 1.0) -> dict:
    """Plant one behaviour for these agents in month (YYYY-MM; month_boundary_shift moves from
    `month` into the next month). Returns a summary dict (rows added/moved/deleted per table):
    ``{"behaviour", "month", "seed", "intensity", "agents": {agent_id: {table: {op: n}}},
    "total": {table: {op: n}}}``. The cases the reassigning behaviours take never come from
    one of ``agent_ids``."""
    return _plant(con, behaviour, list(agent_ids), month, seed, intensity, list(agent_ids))


def eligible_agents(con: duckdb.DuckDBPyConnection, months: list[str],
                    min_cases: int = 20) -> list[str]:
    """Agents appraisable in every one of ``months``: at least ``min_cases`` cases held and at
    least one call in each (sorted)."""
    sets = []
    for month in months:
        start, end, _ = month_bounds(month)
        rows = con.execute(f"""
            select a.agent_id from staging.assignments a
            where a.assigned_at < ?::timestamp and coalesce(a.released_at, {NEVER}) > ?::timestamp
            group by all having count(distinct a.case_id) >= ?
            intersect
            select agent_id from staging.calls where started_at >= ?::timestamp
                and started_at < ?::timestamp
        """, [end, start, min_cases, start, end]).fetchall()
        sets.append({r[0] for r in rows})
    return sorted(set.intersection(*sets)) if sets else []


def choose_agents(con: duckdb.DuckDBPyConnection, months: list[str], *, seed: int,
                  per_behaviour: int = 3, pool: list[str] | None = None,
                  lookalikes_per_kind: int = 0) -> dict[str, list[str]]:
    """{behaviour: agent_ids}: per_behaviour agents per behaviour, disjoint, drawn in a
    seeded order from ``pool`` (default: ``eligible_agents(con, months)``); with
    ``lookalikes_per_kind``, as many honest look-alikes of each kind (``LOOKALIKES``) after
    them, disjoint from them."""
    con.execute(SEED_MACRO)
    pool = sorted(pool if pool is not None else eligible_agents(con, months))
    pool.sort(key=lambda a: uniform(con, f"{seed}|choose|{a}"))
    kinds = [(b, per_behaviour) for b in BEHAVIOURS] + [
        (k, lookalikes_per_kind) for k in LOOKALIKES if lookalikes_per_kind]
    need = sum(n for _, n in kinds)
    if len(pool) < need:
        raise ValueError(f"{len(pool)} eligible agents, {need} needed "
                         f"({per_behaviour} per behaviour, {lookalikes_per_kind} per look-alike)")
    out, i = {}, 0
    for kind, n in kinds:
        out[kind] = sorted(pool[i:i + n])
        i += n
    return out


def plant_centre(con: duckdb.DuckDBPyConnection, months: list[str], *, seed: int,
                 per_behaviour: int = 3, lookalikes_per_kind: int = 2,
                 manifest_path: str | Path | None = None) -> dict:
    """Choose per_behaviour distinct agents per behaviour (disjoint sets, deterministic from seed,
    among agents appraised in those months: agents with >= 20 held cases and calls in every
    month), plant each behaviour in each month (month_boundary_shift: from each month but the
    last into the next), and return the truth manifest:
    {"seed": ..., "months": [...], "gaming_agents": {behaviour: [agent_ids]},
     "planted": {behaviour: {agent_id: {month: summary}}}}
    Also write the manifest as JSON where asked (``manifest_path``). ``lookalikes_per_kind``
    honest agents of each kind of ``LOOKALIKES`` get their portfolio's look-alike pattern in
    every month: the manifest names them in "lookalikes" (they are honest, not gaming)."""
    months = sorted(months)
    chosen = choose_agents(con, months, seed=seed, per_behaviour=per_behaviour,
                           lookalikes_per_kind=lookalikes_per_kind)
    gaming = {b: chosen[b] for b in BEHAVIOURS}
    lookalikes = {k: chosen[k] for k in LOOKALIKES if k in chosen}
    everyone = sorted(a for agents in chosen.values() for a in agents)
    planted: dict[str, dict[str, dict]] = {b: {a: {} for a in agents}
                                           for b, agents in chosen.items()}
    for i, month in enumerate(months):
        for behaviour, agents in chosen.items():
            if behaviour == "month_boundary_shift" and i == len(months) - 1:
                continue
            out = _plant(con, behaviour, agents, month, seed, 1.0, everyone)
            for agent_id, summary in out["agents"].items():
                planted[behaviour][agent_id][month] = summary
    manifest = {"seed": seed, "months": months, "gaming_agents": gaming,
                "lookalikes": lookalikes, "planted": planted}
    if manifest_path is not None:
        Path(manifest_path).write_text(json.dumps(manifest, indent=1, sort_keys=True,
                                                  default=_json), encoding="utf-8")
    return manifest


def _json(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
