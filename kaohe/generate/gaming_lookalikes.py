"""Honest look-alikes for the gaming planter (``kaohe.generate.gaming``): agents who game
nothing but whose portfolio naturally looks like a pattern a signal watches, so the signals'
false alarms are measured where they are most likely (docs/scorecard.md "Gaming signals").

``short_calls`` (debtors who hang up)
    about 150 right-party calls of 3-9 seconds on the agent's held cases, at any time of a
    working day (09:00-20:00), never within 10 minutes after another of the agent's calls to
    the case: debtors who pick up and hang up, not re-dials. What ``padding_calls`` must not
    confuse with padding.
``payday_payers`` (payments around the turn of the month)
    about 30% of the agent's payments made on days 5-20 of the month move to a day from the
    month's last 4 days to the next month's first 3 (same time of day; the agent still holding
    the case then): debtors paid at the end of the month who pay in the days around it. What
    ``month_boundary_shift`` must not confuse with collections saved for the next month.

Each takes the same parameters as a planter (``kaohe.generate.gaming_plants``) and returns what
it changed, per table.
"""

from __future__ import annotations

from kaohe.generate.gaming_sql import (
    CALL_TEMPLATES,
    HELD,
    PAY_HOLDER,
    count,
    insert,
    run,
    uniform,
)


def _short_calls(con, p: dict, intensity: float) -> dict:
    p["n"] = round(intensity * (120 + 60 * uniform(con, p["key"] + "|n")))
    p["days"] = (p["end"] - p["start"]).days
    source = f"""
        with {HELD},
        {CALL_TEMPLATES},
        gen as (
            select t.*, g.i,
                $start::timestamp
                    + to_days(floor(_gaming_u($key || 'day' || g.i) * $days)::int)
                    + interval 9 hour
                    + to_seconds(floor(_gaming_u($key || 'g' || g.i) * 39600)::int) as new_at
            from range($n) g(i) join tmpl t on t.ti = g.i % t.tn
        )
        select * from gen s
        where new_at >= h_from and new_at < h_until and new_at < $end::timestamp
            and not exists (
                select 1 from staging.calls c
                where c.agent_id = $agent and c.case_id = s.case_id
                    and c.started_at > s.new_at - interval 10 minute
                    and c.started_at <= s.new_at + interval 10 minute)
    """
    added = insert(con, "calls", source, {
        "call_id": "s.call_id || '-H' || s.i",
        "started_at": "s.new_at",
        "duration_s": "3 + floor(_gaming_u($key || 'd' || s.i) * 7)::int",
        "outcome": "'connected_debtor'",
        "ptp_amount": "null", "ptp_due_date": "null", "recording_id": "null",
    }, p)
    return {"calls": {"added": added}}


def _payday_payers(con, p: dict, intensity: float) -> dict:
    p["share"] = min(0.30 * intensity, 0.95)
    run(con, f"""
        create or replace temp table _gaming_payday as
        with {PAY_HOLDER},
        cand as (
            select m.*,
                $end::timestamp - interval 4 day
                    + to_days(floor(_gaming_u($key || m.payment_id) * 7)::int)
                    + (m.paid_at - date_trunc('day', m.paid_at)) as new_at
            from pay_holder m
            where m.agent_id = $agent
                and m.paid_at >= $start::timestamp + interval 4 day
                and m.paid_at < $start::timestamp + interval 20 day
                -- a payment with a reversal keeps its date
                and not exists (select 1 from staging.repayments r
                                where r.reversal_of = m.payment_id)
        )
        select payment_id, paid_at, new_at, amount from cand
        where new_at < held_until and _gaming_u($key || 'pick' || payment_id) < $share
    """, p)
    moved = count(con, "select count(*) from _gaming_payday", {})
    con.execute("""
        update raw.repayments r set paid_at = m.new_at
        from _gaming_payday m
        where r.payment_type = 'payment' and r.payment_id = m.payment_id""")
    con.execute("drop table _gaming_payday")
    return {"repayments": {"moved": moved}}


LOOKALIKES = {
    "short_calls": _short_calls,
    "payday_payers": _payday_payers,
}
