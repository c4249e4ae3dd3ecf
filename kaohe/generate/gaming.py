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
    on about 10 of the agent's cases held through the month that make no payment in it, 3-4
    promises each on real right-party calls (90-300 seconds) for 15-40% of the amount due, each
    due 3-6 days after it is made and within the month: all broken.

The truth (who gamed, how, what was changed) is recorded only in what ``plant`` and
``plant_centre`` return (and the JSON ``plant_centre`` writes when asked), never in the
warehouse.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import duckdb

from kaohe.months import month_bounds

BEHAVIOURS = ("padding_calls", "token_promises", "month_boundary_shift", "unattempted_cases",
              "uncontacted_collections", "late_reassignment", "broken_promise_loops")

NEVER = "timestamp '9999-12-31'"

# a uniform number in [0, 1) from a text key: the same key, the same number, on every run
_MACRO = ("create or replace temp macro _gaming_u(k) as "
          "((md5_number(k) % 1000000007)::double / 1000000007)")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None
         ) -> duckdb.DuckDBPyConnection:
    """Execute with the named parameters the statement uses (DuckDB refuses extra ones)."""
    names = set(re.findall(r"\$([a-z_]+)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in names})


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = ? order by column_index", [table]).fetchall()]


def _insert(con: duckdb.DuckDBPyConnection, table: str, source_sql: str,
            overrides: dict[str, str], params: dict) -> int:
    """Insert into raw.<table> every row of ``source_sql`` (which has the table's columns, and
    maybe more), the columns in ``overrides`` replaced by their expression; returns the count."""
    cols = _columns(con, table)
    select = ", ".join(f"{overrides[c]} as \"{c}\"" if c in overrides else f"s.\"{c}\""
                       for c in cols)
    before = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
    _run(con, f"insert into raw.{table} by name select {select} from ({source_sql}) s", params)
    return con.execute(f"select count(*) from raw.{table}").fetchall()[0][0] - before


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    return _run(con, sql, params).fetchall()[0][0]


def _unique_ids(con: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    dup = con.execute(f"select {key}, count(*) from staging.{table} group by all "
                      "having count(*) > 1 limit 1").fetchall()
    if dup:
        raise ValueError(f"planting made a duplicate {table}.{key}: {dup[0][0]} (planted twice "
                         "with the same seed?)")


# the agent's holdings overlapping the month (an open one is held until 9999-12-31)
_HELD = f"""
held as (
    select assignment_id, case_id, agent_id, assigned_at, amount_due, dpd_at_assignment,
           coalesce(released_at, {NEVER}) as held_until
    from staging.assignments
    where agent_id = $agent and assigned_at < $end::timestamp
        and coalesce(released_at, {NEVER}) > $start::timestamp
)"""

# who held each payment of the month's case when it was made (intermediate.event_holders'
# rule: the latest assigned_at, then the highest assignment_id)
_PAY_HOLDER = f"""
pay_holder as (
    select r.payment_id, r.case_id, r.paid_at, r.amount, a.assignment_id, a.agent_id,
           a.assigned_at, coalesce(a.released_at, {NEVER}) as held_until, a.amount_due,
           a.dpd_at_assignment
    from staging.repayments r
    join staging.assignments a
        on a.case_id = r.case_id and a.assigned_at <= r.paid_at
        and r.paid_at < coalesce(a.released_at, {NEVER})
    where r.payment_type = 'payment' and r.paid_at >= $start::timestamp
        and r.paid_at < $end::timestamp
    qualify row_number() over (partition by r.payment_id
                               order by a.assigned_at desc, a.assignment_id desc) = 1
)"""


# --- the behaviours: each plants for one agent, returns {table: {operation: rows}} ----------

def _padding_calls(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * (200 + 100 * _u(con, p["key"] + "|n")))
    source = f"""
        with {_HELD},
        own as (
            select c.*, h.assigned_at as h_from, h.held_until as h_until
            from staging.calls c
            join held h on h.case_id = c.case_id and c.started_at >= h.assigned_at
                and c.started_at < h.held_until
            where c.agent_id = $agent and c.started_at >= $start::timestamp
                and c.started_at < $end::timestamp
            qualify row_number() over (partition by c.call_id order by h.assigned_at desc) = 1
        ),
        tmpl as (
            select *, row_number() over (order by _gaming_u($key || call_id)) - 1 as ti,
                   count(*) over () as tn
            from own
        ),
        gen as (
            select t.*, g.i,
                case when _gaming_u($key || 'r' || g.i) < 0.6
                    then t.started_at + to_seconds(t.duration_s + 5
                                                   + floor(_gaming_u($key || 'g' || g.i) * 36)::int)
                    else date_trunc('day', t.started_at) + interval 9 hour
                        + to_seconds(floor(_gaming_u($key || 'g' || g.i) * 39600)::int)
                end as new_at
            from range($n) g(i) join tmpl t on t.ti = g.i % t.tn
        )
        select * from gen
        where new_at >= h_from and new_at < h_until and new_at < $end::timestamp
            and new_at >= $start::timestamp
    """
    added = _insert(con, "calls", source, {
        "call_id": "s.call_id || '-P' || s.i",
        "started_at": "s.new_at",
        "duration_s": "3 + floor(_gaming_u($key || 'd' || s.i) * 6)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "null", "ptp_due_date": "null", "recording_id": "null",
    }, p)
    return {"calls": {"added": added}}


def _token_promises(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * 50)
    source = f"""
        with {_HELD},
        paying as (
            -- the case's payments in the month while the agent holds it, one call of the
            -- agent on the case as the template of the promise's call
            select c.* exclude (started_at, duration_s, outcome, ptp_amount, ptp_due_date),
                   r.payment_id, r.paid_at, h.assigned_at as h_from, h.amount_due as h_due
            from staging.repayments r
            join held h on h.case_id = r.case_id and r.paid_at >= h.assigned_at
                and r.paid_at < h.held_until
            join staging.calls c on c.case_id = r.case_id and c.agent_id = $agent
            where r.payment_type = 'payment' and r.paid_at >= $start::timestamp + interval 1 day
                and r.paid_at < $end::timestamp
            qualify row_number() over (partition by r.payment_id
                                       order by _gaming_u($key || c.call_id)) = 1
        ),
        pays as (
            select *, row_number() over (order by _gaming_u($key || payment_id)) - 1 as pi,
                   count(*) over () as pn
            from paying
        ),
        gen as (
            select s.*, g.i,
                s.paid_at::date - (1 + g.i // s.pn)::int + interval 9 hour
                    + to_seconds(floor(_gaming_u($key || 't' || g.i) * 39600)::int) as new_at
            from range($n) g(i) join pays s on s.pi = g.i % s.pn
        )
        select * from gen
        where new_at >= greatest(h_from, $start::timestamp) and new_at < paid_at
    """
    added = _insert(con, "calls", source, {
        "call_id": "s.call_id || '-T' || s.i",
        "started_at": "s.new_at",
        "duration_s": "3 + floor(_gaming_u($key || 'd' || s.i) * 8)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "least(50.00, round(0.05 * s.h_due, 2))::decimal(18, 2)",
        "ptp_due_date": "s.paid_at::date",
        "recording_id": "null",
    }, p)
    return {"calls": {"added": added}}


def _month_boundary_shift(con, p: dict, intensity: float) -> dict:
    p["share"] = min(0.22 * intensity, 0.95)
    _run(con, f"""
        create or replace temp table _gaming_moved as
        with {_PAY_HOLDER},
        mine as (select * from pay_holder where agent_id = $agent),
        total as (select coalesce(sum(amount), 0) as tot from mine),
        cand as (
            select m.*,
                $end::timestamp + to_days(floor(_gaming_u($key || m.payment_id) * 3)::int)
                    + (m.paid_at - date_trunc('day', m.paid_at)) as new_at
            from mine m
            where m.paid_at >= $end::timestamp - interval 8 day
        ),
        ordered as (
            select c.*, coalesce(sum(amount) over (order by paid_at desc, payment_id
                rows between unbounded preceding and 1 preceding), 0) as before
            from cand c
            where new_at < held_until
        )
        select payment_id, case_id, paid_at, new_at, amount
        from ordered, total
        where before < $share * tot
    """, p)
    moved, amount = con.execute(
        "select count(*), coalesce(sum(amount), 0)::double from _gaming_moved").fetchall()[0]
    reversals = _count(con, """
        select count(*) from staging.repayments r join _gaming_moved m
            on r.reversal_of = m.payment_id
        where r.payment_type = 'reversal' and r.paid_at < m.new_at""", {})
    _run(con, """
        update raw.repayments r set paid_at = r.paid_at + (m.new_at - m.paid_at)
        from _gaming_moved m
        where r.payment_type = 'reversal' and r.reversal_of = m.payment_id
            and r.paid_at < m.new_at""")
    con.execute("""
        update raw.repayments r set paid_at = m.new_at
        from _gaming_moved m
        where r.payment_type = 'payment' and r.payment_id = m.payment_id""")
    # the agent's promises on the moved cases, due from the first moved payment's date on
    _run(con, """
        create or replace temp table _gaming_redated as
        select c.call_id, min(m.new_at)::date as new_due
        from staging.calls c
        join (select case_id, min(paid_at) as first_at, min(new_at) as new_at
              from _gaming_moved group by all) m on m.case_id = c.case_id
        where c.agent_id = $agent and c.ptp_amount > 0
            and c.ptp_due_date >= m.first_at::date and c.ptp_due_date < $end::date
        group by all""", p)
    promises = _count(con, "select count(*) from _gaming_redated", {})
    _run(con, """
        update raw.calls c set ptp_due_date = d.new_due
        from _gaming_redated d where c.call_id = d.call_id""")
    con.execute("drop table _gaming_moved")
    con.execute("drop table _gaming_redated")
    return {"repayments": {"moved": moved, "reversals_moved": reversals,
                           "amount_moved": round(amount, 2)},
            "calls": {"promises_redated": promises}}


def _unattempted_cases(con, p: dict, intensity: float) -> dict:
    p["share"] = min(0.25 * intensity, 1.0)
    _run(con, f"""
        create or replace temp table _gaming_dropped as
        with {_HELD},
        per_case as (
            select h.case_id,
                count(c.call_id) as attempts,
                count(c.call_id) filter (where c.outcome = 'connected_debtor') as rpc,
                coalesce(max(c.duration_s) filter (where c.outcome = 'connected_debtor'), 0)
                    as best
            from held h
            left join staging.calls c
                on c.agent_id = $agent and c.case_id = h.case_id
                and c.started_at >= greatest(h.assigned_at, $start::timestamp)
                and c.started_at < least(h.held_until, $end::timestamp)
            group by all
        ),
        ranked as (
            select *, row_number() over (order by rpc, best, _gaming_u($key || case_id)) as k,
                   count(*) over () as n
            from per_case
        )
        select case_id from ranked where attempts > 0 and k <= round($share * n)
    """, p)
    cases = _count(con, "select count(*) from _gaming_dropped", {})
    before = _count(con, "select count(*) from raw.calls", {})
    _run(con, """
        delete from raw.calls
        where agent_id = $agent and started_at >= $start::timestamp
            and started_at < $end::timestamp
            and case_id in (select case_id from _gaming_dropped)""", p)
    deleted = before - _count(con, "select count(*) from raw.calls", {})
    con.execute("drop table _gaming_dropped")
    return {"calls": {"deleted": deleted, "cases": cases}}


def _reassign(con, p: dict, *, late: bool, intensity: float) -> dict:
    """Cases of other agents (not in ``protect``) that pay in the month, reassigned to the agent
    before the payment; ``late``: 8-15 cases, 1-2 days before, with a claiming call; else until
    the moved collections are ~25% of the agent's, 3-10 days before, never dialled."""
    if late:
        p["n"] = round(intensity * (8 + 7 * _u(con, p["key"] + "|n")))
        p["target"] = 0.0
    else:
        s = min(0.25 * intensity, 0.9)
        mine = _count(con, f"with {_PAY_HOLDER} select coalesce(sum(amount), 0)::double "
                      "from pay_holder where agent_id = $agent", p)
        p["n"] = 1_000_000
        p["target"] = mine * s / (1 - s)
    lead = "(1 + _gaming_u($key || 'l' || f.case_id))" if late else \
        "(3 + 7 * _gaming_u($key || 'l' || f.case_id))"
    need_call = ("and exists (select 1 from staging.calls c where c.case_id = f.case_id "
                 "and c.started_at < f.paid_at)") if late else ""
    _run(con, f"""
        create or replace temp table _gaming_moves as
        with {_PAY_HOLDER},
        first_pay as (
            -- the case's first payment of the month, held by someone else
            select * from pay_holder
            qualify row_number() over (partition by case_id order by paid_at, payment_id) = 1
        ),
        cand as (
            select f.*,
                f.paid_at - to_seconds(floor({lead} * 86400)::bigint) as new_from
            from first_pay f
            where not list_contains($protect, f.agent_id)
                and not exists (select 1 from staging.calls c where c.case_id = f.case_id
                                and c.agent_id = $agent)
                and not exists (select 1 from staging.assignments a where a.case_id = f.case_id
                                and a.agent_id = $agent)
                {need_call}
        ),
        valued as (
            -- what the case pays while the agent would hold it, in the month
            select c.assignment_id, c.case_id, c.agent_id as from_agent, c.assigned_at,
                   c.held_until, c.amount_due, c.dpd_at_assignment, c.paid_at, c.new_from,
                   sum(r.amount) as collected
            from cand c
            join staging.repayments r on r.case_id = c.case_id and r.payment_type = 'payment'
                and r.paid_at >= c.paid_at and r.paid_at < least(c.held_until, $end::timestamp)
            where c.new_from > c.assigned_at and c.new_from >= $start::timestamp
            group by all
        ),
        ordered as (
            select v.*,
                row_number() over (order by _gaming_u($key || v.case_id)) as k,
                coalesce(sum(collected) over (order by _gaming_u($key || v.case_id)
                    rows between unbounded preceding and 1 preceding), 0) as before
            from valued v
        )
        select * from ordered
        where k <= $n and ($target = 0 or before < $target)
    """, p)
    moved = _count(con, "select count(*) from _gaming_moves", {})
    collected = con.execute(
        "select coalesce(sum(collected), 0)::double from _gaming_moves").fetchall()[0][0]
    # the new holding: what was still due on the old one at the reassignment
    added = _insert(con, "assignments", """
        select a.*, m.new_from, m.held_until as m_until,
            greatest(0.01, a.amount_due - coalesce((
                select sum(case when r.payment_type = 'reversal' then -r.amount else r.amount end)
                from staging.repayments r
                where r.case_id = a.case_id and r.paid_at >= a.assigned_at
                    and r.paid_at < m.new_from), 0)) as new_due
        from staging.assignments a join _gaming_moves m using (assignment_id)
    """, {
        "assignment_id": f"s.assignment_id || '-{'L' if late else 'U'}' || $agent",
        "agent_id": "$agent",
        "assigned_at": "s.new_from",
        "released_at": f"nullif(s.m_until, {NEVER})",
        "dpd_at_assignment": "s.dpd_at_assignment + date_diff('day', s.assigned_at, s.new_from)",
        "amount_due": "s.new_due::decimal(18, 2)",
    }, p)
    _run(con, """
        update raw.assignments a set released_at = m.new_from
        from _gaming_moves m where a.assignment_id = m.assignment_id""")
    calls = 0
    if late:
        calls = _insert(con, "calls", """
            select c.*, m.new_from, m.paid_at as m_paid,
                greatest(m.new_from + interval 5 minute,
                         date_trunc('day', m.new_from) + interval 9 hour
                         + to_seconds(floor(_gaming_u($key || 'c' || m.case_id) * 36000)::int))
                    as claim_at
            from _gaming_moves m
            join staging.calls c on c.case_id = m.case_id and c.started_at < m.paid_at
            qualify row_number() over (partition by m.case_id order by c.started_at desc,
                                                                       c.call_id) = 1
        """, {
            "call_id": "s.call_id || '-L' || $agent",
            "agent_id": "$agent",
            "started_at": "case when s.claim_at < s.m_paid then s.claim_at "
                          "else s.new_from + interval 5 minute end",
            "duration_s": "45 + floor(_gaming_u($key || 'd' || s.case_id) * 106)::int",
            "outcome": "'connected_debtor'",
            "ptp_amount": "null", "ptp_due_date": "null", "recording_id": "null",
        }, p)
    con.execute("drop table _gaming_moves")
    out = {"assignments": {"added": added, "released_early": moved},
           "repayments": {"amount_moved": round(collected, 2)}}
    if late:
        out["calls"] = {"added": calls}
    return out


def _uncontacted_collections(con, p: dict, intensity: float) -> dict:
    return _reassign(con, p, late=False, intensity=intensity)


def _late_reassignment(con, p: dict, intensity: float) -> dict:
    return _reassign(con, p, late=True, intensity=intensity)


def _broken_promise_loops(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * 10)
    p["days"] = (p["end"] - p["start"]).days
    source = f"""
        with {_HELD},
        quiet as (
            -- cases the agent holds (nearly) all month that make no payment in it, with a call
            -- of the agent's to copy the numbers from
            select h.case_id, h.amount_due, c.* exclude (case_id)
            from held h
            join staging.calls c on c.case_id = h.case_id and c.agent_id = $agent
            where h.assigned_at < $start::timestamp + interval 2 day
                and h.held_until >= $end::timestamp
                and not exists (select 1 from staging.repayments r where r.case_id = h.case_id
                                and r.paid_at >= $start::timestamp
                                and r.paid_at < $end::timestamp)
            qualify row_number() over (partition by h.case_id
                order by (c.started_at >= $start::timestamp and c.started_at < $end::timestamp)
                    desc, (c.outcome = 'connected_debtor') desc,
                    _gaming_u($key || c.call_id)) = 1
        ),
        chosen as (
            select *, 3 + (_gaming_u($key || 'm' || case_id) < 0.5)::int as m
            from quiet
            qualify row_number() over (order by _gaming_u($key || case_id)) <= $n
        ),
        gen as (
            select q.*, g.j,
                $start::timestamp
                    + to_days((floor(g.j * ($days - 8) / q.m)
                               + floor(_gaming_u($key || q.case_id || 'o' || g.j) * 3))::int)
                    + interval 9 hour
                    + to_seconds(floor(_gaming_u($key || q.case_id || 't' || g.j) * 39600)::int)
                    as new_at,
                3 + floor(_gaming_u($key || q.case_id || 'w' || g.j) * 4)::int as wait
            from chosen q join range(4) g(j) on g.j < q.m
        )
        select * from gen where new_at >= $start::timestamp
    """
    added = _insert(con, "calls", source, {
        "call_id": "s.call_id || '-B' || s.j",
        "case_id": "s.case_id",
        "started_at": "s.new_at",
        "duration_s": "90 + floor(_gaming_u($key || s.case_id || 'd' || s.j) * 211)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "(ceil(s.amount_due * (0.15 + 0.25 * _gaming_u($key || s.case_id || 'a' "
                      "|| s.j)) / 10) * 10)::decimal(18, 2)",
        "ptp_due_date": "least(s.new_at::date + s.wait, $end::date - 1)",
        "recording_id": "null",
    }, p)
    cases = _count(con, """
        select count(distinct case_id) from staging.calls
        where agent_id = $agent and ptp_amount > 0 and call_id like '%-B_'
            and started_at >= $start::timestamp and started_at < $end::timestamp""", p)
    return {"calls": {"added": added, "cases": cases}}


_PLANTERS = {
    "padding_calls": _padding_calls,
    "token_promises": _token_promises,
    "month_boundary_shift": _month_boundary_shift,
    "unattempted_cases": _unattempted_cases,
    "uncontacted_collections": _uncontacted_collections,
    "late_reassignment": _late_reassignment,
    "broken_promise_loops": _broken_promise_loops,
}
_TABLES = {"calls": "call_id", "assignments": "assignment_id", "repayments": "payment_id"}


def _u(con: duckdb.DuckDBPyConnection, key: str) -> float:
    return con.execute("select _gaming_u(?)", [key]).fetchall()[0][0]


def _plant(con: duckdb.DuckDBPyConnection, behaviour: str, agent_ids: list[str], month: str,
           seed: int, intensity: float, protect: list[str]) -> dict:
    if behaviour not in _PLANTERS:
        raise ValueError(f"unknown behaviour {behaviour!r}: one of {', '.join(BEHAVIOURS)}")
    if intensity < 0:
        raise ValueError("intensity must be >= 0")
    start, end, _ = month_bounds(month)
    con.execute(_MACRO)
    agents = {}
    for agent_id in agent_ids:
        params = {"agent": agent_id, "start": start, "end": end,
                  "key": f"{seed}|{behaviour}|{agent_id}|{month}|",
                  "protect": sorted(set(protect) | {agent_id})}
        agents[agent_id] = _PLANTERS[behaviour](con, params, intensity)
    for table, key in _TABLES.items():
        _unique_ids(con, table, key)
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
                  per_behaviour: int = 3, pool: list[str] | None = None) -> dict[str, list[str]]:
    """{behaviour: agent_ids}: per_behaviour agents per behaviour, disjoint, drawn in a
    seeded order from ``pool`` (default: ``eligible_agents(con, months)``)."""
    con.execute(_MACRO)
    pool = sorted(pool if pool is not None else eligible_agents(con, months))
    pool.sort(key=lambda a: _u(con, f"{seed}|choose|{a}"))
    need = per_behaviour * len(BEHAVIOURS)
    if len(pool) < need:
        raise ValueError(f"{len(pool)} eligible agents, {need} needed "
                         f"({per_behaviour} per behaviour)")
    return {b: sorted(pool[i * per_behaviour:(i + 1) * per_behaviour])
            for i, b in enumerate(BEHAVIOURS)}


def plant_centre(con: duckdb.DuckDBPyConnection, months: list[str], *, seed: int,
                 per_behaviour: int = 3, manifest_path: str | Path | None = None) -> dict:
    """Choose per_behaviour distinct agents per behaviour (disjoint sets, deterministic from seed,
    among agents appraised in those months: agents with >= 20 held cases and calls in every
    month), plant each behaviour in each month (month_boundary_shift: from each month but the
    last into the next), and return the truth manifest:
    {"seed": ..., "months": [...], "gaming_agents": {behaviour: [agent_ids]},
     "planted": {behaviour: {agent_id: {month: summary}}}}
    Also write the manifest as JSON where asked (``manifest_path``)."""
    months = sorted(months)
    gaming = choose_agents(con, months, seed=seed, per_behaviour=per_behaviour)
    everyone = sorted(a for agents in gaming.values() for a in agents)
    planted: dict[str, dict[str, dict]] = {b: {a: {} for a in gaming[b]} for b in BEHAVIOURS}
    for i, month in enumerate(months):
        for behaviour in BEHAVIOURS:
            if behaviour == "month_boundary_shift" and i == len(months) - 1:
                continue
            out = _plant(con, behaviour, gaming[behaviour], month, seed, 1.0, everyone)
            for agent_id, summary in out["agents"].items():
                planted[behaviour][agent_id][month] = summary
    manifest = {"seed": seed, "months": months, "gaming_agents": gaming, "planted": planted}
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
