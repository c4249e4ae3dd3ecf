-- intermediate.agent_recovery(month_start, month_end, bucket_weights, effective_min_s): the
-- recovery part of
-- marts.agent_month_metrics, per agent: what the agent held in the month (the assignments
-- overlapping it, intermediate.assignment_terms) and what was collected on it (payments dated in
-- the month attributed to the assignment holding the case, intermediate.payment_attribution),
-- credited by bucket (intermediate.credit_weights), and (version 3) the credited part on cases
-- the agent never contacted while holding them before the payment: no call of theirs to the
-- case between the assignment and the payment that was either an attempt the debtor did not
-- answer (no answer, busy, voicemail, invalid number: the agent's work, the debtor sees it) or a
-- conversation of at least effective_min_s seconds. A call answered and over in seconds is
-- neither: it is what padding and token promises are made of, and as a claim on a case that was
-- about to pay it would cost nothing. The centre's collection, not the agent's merit; a
-- reversal follows the payment it reverses. Column meanings: the
-- metric dictionary.

with

terms as materialized (
    select * from intermediate.assignment_terms(month_start::date, month_end::date)
),

held as (
    select
        agent_id,
        count(distinct case_id) as cases_assigned,
        sum(term)::decimal(18, 2) as amount_due,
        -- rounded once, at the end
        sum(term * held_share)::decimal(18, 2) as amount_due_exposure
    from terms
    group by all
),

month_events as materialized (
    select
        e.*,
        -- when the payment was made (a reversal: the payment it reverses)
        coalesce(o.paid_at, e.paid_at) as payment_at
    from intermediate.payment_attribution e
    left join staging.repayments r
        on e.payment_type = 'reversal' and r.payment_id = e.payment_id
    left join staging.repayments o on o.payment_id = r.reversal_of
    where e.assignment_id is not null
        and e.paid_at >= month_start::date and e.paid_at < month_end::date
),

first_contact as (
    -- the holder's first call to the case in each holding with a payment in the month
    select h.assignment_id, min(c.started_at) as first_contact_at
    from intermediate.case_holdings h
    join staging.calls c
        on c.case_id = h.case_id and c.agent_id = h.agent_id
        and c.started_at >= h.assigned_at and c.started_at < h.held_until
        and (c.outcome not in ('connected_debtor', 'connected_third_party')
             or c.duration_s >= effective_min_s)
    where h.assignment_id in (select assignment_id from month_events)
    group by all
),

collections as (
    select
        e.agent_id,
        sum(e.signed_amount)::decimal(18, 2) as collected,
        coalesce(sum(e.signed_amount) filter (where e.bucket = 'M6+'), 0)::decimal(18, 2)
            as collected_m6plus,
        sum(e.signed_amount * coalesce(w.weight, 1.0))::decimal(18, 2) as credited_collections,
        coalesce(sum(e.signed_amount * coalesce(w.weight, 1.0)) filter (
            where f.first_contact_at is null or f.first_contact_at > e.payment_at
        ), 0)::decimal(18, 2) as uncontacted_collections,
        count(*) filter (where e.payment_type = 'payment' and (
            f.first_contact_at is null or f.first_contact_at > e.payment_at
        )) as uncontacted_payments
    from month_events e
    left join intermediate.credit_weights(bucket_weights) w using (bucket)
    left join first_contact f using (assignment_id)
    group by all
)

select
    agent_id,
    h.cases_assigned,
    h.amount_due,
    h.amount_due_exposure,
    c.collected,
    c.collected_m6plus,
    c.credited_collections,
    c.uncontacted_collections,
    c.uncontacted_payments
from held h
full join collections c using (agent_id)
