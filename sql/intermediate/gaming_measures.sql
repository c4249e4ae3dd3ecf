-- intermediate.gaming_measures(month_start, month_end, effective_min_s): the gaming signals
-- measured on the
-- lender's events, per agent with an event in the month (version 3, "gaming does not pay";
-- marts.gaming_signals adds those measured on marts.agent_month_metrics and compares every
-- agent with agents of a similar portfolio). One row per (agent, signal): value and evidence.
--   padding_calls         short right-party calls (under 10 s) re-dialled within 120 s of the
--                         agent's previous call to the case ended, per right-party call
--   month_boundary_shift  of the agent's payments in the last 4 days of the month before and the
--                         first 3 days of this one, the share made in the first 3 days (about 3/7
--                         when payments flow evenly; collections saved for the new month move it
--                         towards 1; counted, not summed: one large payment is not a pattern);
--                         NULL when the centre has no payment in those 4 days
--   late_reassignment     cases the agent took over from another agent less than 2 days before
--                         a payment on them in the month and claimed with an effective call
--                         (a right-party call of effective_min_s seconds or more) between the
--                         takeover and the payment (evidence: those payments). Cases taken over
--                         late are common in any centre (a natural 5-6 a month here); the claim
--                         call is what turns one into the agent's collection
--   broken_promise_loops  cases with 3 or more of the agent's promises due in the month and no
--                         payment from the first promise to the last due date (evidence: those
--                         promises)

with

month_calls as (
    select
        c.agent_id, c.case_id, c.outcome, c.duration_s, c.started_at,
        lag(c.started_at + c.duration_s * interval 1 second) over (
            partition by c.agent_id, c.case_id order by c.started_at, c.call_id) as prev_end
    from staging.calls c
    where c.started_at >= month_start::date - interval 1 day and c.started_at < month_end::date
),

padding as (
    select
        agent_id,
        'padding_calls' as signal,
        count(*) filter (where duration_s < 10 and started_at <= prev_end + interval 120 second)
            as evidence,
        evidence / count(*) as value
    from month_calls
    where outcome = 'connected_debtor' and started_at >= month_start::date
    group by all
),

holdings as (
    select *, lag(agent_id) over (partition by case_id order by assigned_at, assignment_id)
        as previous_holder
    from intermediate.case_holdings
),

payments as materialized (
    -- the payments (not reversals) from 4 days before the month, and the holding they are
    -- attributed to
    select e.payment_id, e.agent_id, e.case_id, e.paid_at, e.signed_amount, h.assigned_at,
        h.previous_holder, e.paid_at >= month_start::date as in_month
    from intermediate.payment_attribution e
    join holdings h using (assignment_id)
    where e.payment_type = 'payment' and e.paid_at >= month_start::date - interval 4 day
        and e.paid_at < month_end::date
),

boundary as (
    select
        agent_id,
        'month_boundary_shift' as signal,
        count(*) filter (where paid_at < month_start::date + interval 3 day) as evidence,
        (count(*) filter (where in_month and paid_at < month_start::date + interval 3 day)
            / nullif(count(*) filter (where paid_at < month_start::date + interval 3 day), 0)
        )::double as value
    from payments
    where (select bool_or(not in_month) from payments)
    group by all
),

reassigned as (
    select
        agent_id,
        'late_reassignment' as signal,
        count(*) filter (where late) as evidence,
        count(distinct case_id) filter (where late)::double as value
    from (
        select p.*, p.previous_holder is not null and p.previous_holder <> p.agent_id
            and p.paid_at < p.assigned_at + interval 2 day
            and exists (
                select 1 from staging.calls c
                where c.case_id = p.case_id and c.agent_id = p.agent_id
                    and c.started_at >= p.assigned_at and c.started_at < p.paid_at
                    and c.outcome = 'connected_debtor' and c.duration_s >= effective_min_s
            ) as late
        from payments p
        where p.in_month
    )
    group by all
),

promises as (
    select c.agent_id, c.case_id, count(*) as n, min(c.started_at) as first_made,
        max(c.ptp_due_date) + interval 1 day as last_due_end
    from staging.calls c
    where c.ptp_amount > 0
        and c.ptp_due_date >= month_start::date and c.ptp_due_date < month_end::date
    group by all
    having count(*) >= 3
),

loops as (
    select
        p.agent_id,
        'broken_promise_loops' as signal,
        sum(p.n) as evidence,
        count(*)::double as value
    from promises p
    where not exists (
        select 1 from staging.repayments r
        where r.case_id = p.case_id and r.payment_type = 'payment'
            and r.paid_at >= p.first_made and r.paid_at < p.last_due_end)
    group by all
)

select agent_id, signal, value, evidence from padding
union all select agent_id, signal, value, evidence from boundary
union all select agent_id, signal, value, evidence from reassigned
union all select agent_id, signal, value, evidence from loops
