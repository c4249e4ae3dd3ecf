"""The promise planters of ``kaohe.generate.gaming`` (whose docstring describes each behaviour):
token promises, broken-promise loops and promises left unrecorded. Each takes a connection, the
parameters of one agent and month (``agent``, ``start``, ``end``, ``key``, ``protect``) and an
intensity, changes ``raw.calls`` in whole-table SQL and returns what it changed."""

from __future__ import annotations

from kaohe.generate.gaming_sql import HELD, count, insert, run


def _token_promises(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * 50)
    source = f"""
        with {HELD},
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
    added = insert(con, "calls", source, {
        "call_id": "s.call_id || '-T' || s.i",
        "started_at": "s.new_at",
        "duration_s": "3 + floor(_gaming_u($key || 'd' || s.i) * 8)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "least(50.00, round(0.05 * s.h_due, 2))::decimal(18, 2)",
        "ptp_due_date": "s.paid_at::date",
        "recording_id": "null",
    }, p)
    return {"calls": {"added": added}}


def _broken_promise_loops(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * 10)
    source = f"""
        with {HELD},
        windows as (
            -- the part of the month the agent holds each case, when 12 days or more
            select h.case_id, h.amount_due,
                greatest(h.assigned_at, $start::timestamp) as win_start,
                least(h.held_until, $end::timestamp) as win_end
            from held h
            where least(h.held_until, $end::timestamp)
                - greatest(h.assigned_at, $start::timestamp) >= interval 12 day
        ),
        quiet as (
            -- cases that make no payment while the agent holds them in the month, with a call
            -- of the agent's to copy the numbers from
            select w.case_id, w.amount_due, w.win_start, w.win_end, c.* exclude (case_id)
            from windows w
            join staging.calls c on c.case_id = w.case_id and c.agent_id = $agent
            where not exists (select 1 from staging.repayments r where r.case_id = w.case_id
                              and r.paid_at >= w.win_start and r.paid_at < w.win_end)
            qualify row_number() over (partition by w.case_id
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
                date_trunc('day', q.win_start)
                    + to_days((floor(g.j * (date_diff('day', q.win_start, q.win_end) - 8) / q.m)
                               + floor(_gaming_u($key || q.case_id || 'o' || g.j) * 3))::int)
                    + interval 9 hour
                    + to_seconds(floor(_gaming_u($key || q.case_id || 't' || g.j) * 39600)::int)
                    as new_at,
                3 + floor(_gaming_u($key || q.case_id || 'w' || g.j) * 4)::int as wait
            from chosen q join range(4) g(j) on g.j < q.m
        )
        select * from gen where new_at >= win_start
    """
    added = insert(con, "calls", source, {
        "call_id": "s.call_id || '-B' || s.j",
        "case_id": "s.case_id",
        "started_at": "s.new_at",
        "duration_s": "90 + floor(_gaming_u($key || s.case_id || 'd' || s.j) * 211)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "(ceil(s.amount_due * (0.15 + 0.25 * _gaming_u($key || s.case_id || 'a' "
                      "|| s.j)) / 10) * 10)::decimal(18, 2)",
        "ptp_due_date": "least(s.new_at::date + s.wait, s.win_end::date - 1)",
        "recording_id": "null",
    }, p)
    cases = count(con, """
        select count(distinct case_id) from staging.calls
        where agent_id = $agent and ptp_amount > 0 and call_id like '%-B_'
            and started_at >= $start::timestamp and started_at < $end::timestamp""", p)
    return {"calls": {"added": added, "cases": cases}}


def _withheld_promises(con, p: dict, intensity: float) -> dict:
    """The agent records a promise only when the debtor will keep it: of the agent's promises
    due in the month, the ones the case did not pay in full between the call and the end of the
    due date (payments less reversals) are left unrecorded (the call stays, without its
    promise). With intensity below 1, that share of them, drawn by key."""
    p["share"] = min(1.0 * intensity, 1.0)
    run(con, """
        create or replace temp table _gaming_withheld as
        with due as (
            select c.call_id, c.case_id, c.started_at, c.ptp_amount, c.ptp_due_date
            from staging.calls c
            where c.agent_id = $agent and c.ptp_amount > 0
                and c.ptp_due_date >= $start::date and c.ptp_due_date < $end::date
        ),
        paid as (
            select d.call_id, d.ptp_amount,
                coalesce(sum(case when r.payment_type = 'reversal' then -r.amount
                                  else r.amount end), 0) as paid
            from due d
            left join staging.repayments r
                on r.case_id = d.case_id and r.paid_at >= d.started_at
                and r.paid_at < d.ptp_due_date + interval 1 day
            group by all
        )
        select call_id from paid
        where paid < ptp_amount and _gaming_u($key || call_id) < $share
    """, p)
    withheld = count(con, "select count(*) from _gaming_withheld", {})
    run(con, """
        update raw.calls set ptp_amount = null, ptp_due_date = null
        where call_id in (select call_id from _gaming_withheld)""", {})
    con.execute("drop table _gaming_withheld")
    return {"calls": {"promises_withheld": withheld}}
