"""The gaming planters of ``kaohe.generate.gaming`` (whose docstring describes each
behaviour): each takes a connection, the parameters of one agent and month (``agent``, ``start``,
``end``, ``key``: the seed's prefix of every pseudo-random key, ``protect``: agents whose cases
are never taken) and an intensity, changes ``raw.calls``, ``raw.assignments`` or
``raw.repayments`` in whole-table SQL and returns what it changed, per table."""

from __future__ import annotations

from kaohe.generate.gaming_promises import (
    _broken_promise_loops,
    _token_promises,
    _withheld_promises,
)
from kaohe.generate.gaming_sql import (
    CALL_TEMPLATES,
    HELD,
    NEVER,
    PAY_HOLDER,
    count,
    insert,
    run,
    uniform,
)


def _padding_calls(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * (200 + 100 * uniform(con, p["key"] + "|n")))
    source = f"""
        with {HELD},
        {CALL_TEMPLATES},
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
    added = insert(con, "calls", source, {
        "call_id": "s.call_id || '-P' || s.i",
        "started_at": "s.new_at",
        "duration_s": "3 + floor(_gaming_u($key || 'd' || s.i) * 6)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "null", "ptp_due_date": "null", "recording_id": "null",
    }, p)
    return {"calls": {"added": added}}


def _month_boundary_shift(con, p: dict, intensity: float) -> dict:
    p["share"] = min(0.22 * intensity, 0.95)
    run(con, f"""
        create or replace temp table _gaming_moved as
        with {PAY_HOLDER},
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
    reversals = count(con, """
        select count(*) from staging.repayments r join _gaming_moved m
            on r.reversal_of = m.payment_id
        where r.payment_type = 'reversal' and r.paid_at < m.new_at""", {})
    run(con, """
        update raw.repayments r set paid_at = r.paid_at + (m.new_at - m.paid_at)
        from _gaming_moved m
        where r.payment_type = 'reversal' and r.reversal_of = m.payment_id
            and r.paid_at < m.new_at""")
    con.execute("""
        update raw.repayments r set paid_at = m.new_at
        from _gaming_moved m
        where r.payment_type = 'payment' and r.payment_id = m.payment_id""")
    # the agent's promises on the moved cases, due from the first moved payment's date on
    run(con, """
        create or replace temp table _gaming_redated as
        select c.call_id, min(m.new_at)::date as new_due
        from staging.calls c
        join (select case_id, min(paid_at) as first_at, min(new_at) as new_at
              from _gaming_moved group by all) m on m.case_id = c.case_id
        where c.agent_id = $agent and c.ptp_amount > 0
            and c.ptp_due_date >= m.first_at::date and c.ptp_due_date < $end::date
        group by all""", p)
    promises = count(con, "select count(*) from _gaming_redated", {})
    run(con, """
        update raw.calls c set ptp_due_date = d.new_due
        from _gaming_redated d where c.call_id = d.call_id""")
    con.execute("drop table _gaming_moved")
    con.execute("drop table _gaming_redated")
    return {"repayments": {"moved": moved, "reversals_moved": reversals,
                           "amount_moved": round(amount, 2)},
            "calls": {"promises_redated": promises}}


def _unattempted_cases(con, p: dict, intensity: float) -> dict:
    p["share"] = min(0.25 * intensity, 1.0)
    run(con, f"""
        create or replace temp table _gaming_dropped as
        with {HELD},
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
    cases = count(con, "select count(*) from _gaming_dropped", {})
    before = count(con, "select count(*) from raw.calls", {})
    run(con, """
        delete from raw.calls
        where agent_id = $agent and started_at >= $start::timestamp
            and started_at < $end::timestamp
            and case_id in (select case_id from _gaming_dropped)""", p)
    deleted = before - count(con, "select count(*) from raw.calls", {})
    con.execute("drop table _gaming_dropped")
    return {"calls": {"deleted": deleted, "cases": cases}}


def _reassign(con, p: dict, *, late: bool, intensity: float) -> dict:
    """Cases of other agents (not in ``protect``) that pay in the month, reassigned to the agent
    before the payment; ``late``: 8-15 cases, 1-2 days before, with a claiming call; else until
    the moved collections are ~25% of the agent's, 3-10 days before, never dialled."""
    if late:
        p["n"] = round(intensity * (8 + 7 * uniform(con, p["key"] + "|n")))
        p["target"] = 0.0
    else:
        s = min(0.25 * intensity, 0.9)
        mine = count(con, f"with {PAY_HOLDER} select coalesce(sum(amount), 0)::double "
                      "from pay_holder where agent_id = $agent", p)
        p["n"] = 1_000_000
        p["target"] = mine * s / (1 - s)
    lead = "(1 + _gaming_u($key || 'l' || f.case_id))" if late else \
        "(3 + 7 * _gaming_u($key || 'l' || f.case_id))"
    need_call = ("and exists (select 1 from staging.calls c where c.case_id = f.case_id "
                 "and c.started_at < f.paid_at)") if late else ""
    run(con, f"""
        create or replace temp table _gaming_moves as
        with {PAY_HOLDER},
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
    moved = count(con, "select count(*) from _gaming_moves", {})
    collected = con.execute(
        "select coalesce(sum(collected), 0)::double from _gaming_moves").fetchall()[0][0]
    # the new holding: what was still due on the old one at the reassignment
    added = insert(con, "assignments", """
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
    run(con, """
        update raw.assignments a set released_at = m.new_from
        from _gaming_moves m where a.assignment_id = m.assignment_id""")
    calls = 0
    if late:
        calls = insert(con, "calls", """
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


PLANTERS = {
    "padding_calls": _padding_calls,
    "token_promises": _token_promises,
    "month_boundary_shift": _month_boundary_shift,
    "unattempted_cases": _unattempted_cases,
    "uncontacted_collections": _uncontacted_collections,
    "late_reassignment": _late_reassignment,
    "broken_promise_loops": _broken_promise_loops,
    "withheld_promises": _withheld_promises,
}
TABLES = {"calls": "call_id", "assignments": "assignment_id", "repayments": "payment_id"}
