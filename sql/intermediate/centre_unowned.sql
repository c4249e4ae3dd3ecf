-- intermediate.centre_unowned(month_start, month_end, answered_cap, unanswered_cap, legal_start,
-- legal_end): what no agent owns in the month, and the
-- centre's own totals the reconciliation checks the agents' sums against (one row): the net
-- repayment events dated in the month and those no assignment held (intermediate.
-- payment_attribution), complaints received (counted unless found unsubstantiated) and those
-- with no agent named and no case holder when received (intermediate.complaint_attribution),
-- every call started in the month, and the answered calls over the legal cap that only the
-- dialler could see (over the cap per debtor and day across agents, within each agent's own cap).

with

repayments as (
    select
        coalesce(sum(e.signed_amount), 0)::decimal(18, 2) as net_repayments,
        coalesce(sum(e.signed_amount) filter (where e.assignment_id is null), 0)::decimal(18, 2)
            as unattributed_collected,
        count(*) filter (where e.assignment_id is null) as unattributed_payment_events
    from intermediate.payment_attribution e
    where e.paid_at >= month_start::date and e.paid_at < month_end::date
),

complaints as (
    select
        count(*) as complaints_received,
        count(*) filter (where c.agent_id is null) as unattributed_complaints
    from intermediate.complaint_attribution c
    where c.received_at >= month_start::date and c.received_at < month_end::date
        and c.substantiated is distinct from false
),

calls as (
    select count(*) as calls_in_month
    from staging.calls c
    where c.started_at >= month_start::date and c.started_at < month_end::date
),

cross_agent as (
    -- version 3: the dialler's governance, not any agent's own excess
    select count(*) filter (where centre_answered_over_cap and not answered_over_cap)
        as cross_agent_answered_over_cap_calls
    from intermediate.contact_rule_calls(month_start::date, month_end::date, answered_cap,
                                         unanswered_cap, legal_start, legal_end)
)

select * from repayments, complaints, calls, cross_agent
