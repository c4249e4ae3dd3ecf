-- intermediate.agent_recovery(month_start, month_end, bucket_weights): the recovery part of
-- marts.agent_month_metrics, per agent: what the agent held in the month (the assignments
-- overlapping it, intermediate.assignment_terms) and what was collected on it (payments dated in
-- the month attributed to the assignment holding the case, intermediate.payment_attribution),
-- credited by bucket (intermediate.credit_weights). Column meanings: the metric dictionary.

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

collections as (
    select
        e.agent_id,
        sum(e.signed_amount)::decimal(18, 2) as collected,
        coalesce(sum(e.signed_amount) filter (where e.bucket = 'M6+'), 0)::decimal(18, 2)
            as collected_m6plus,
        sum(e.signed_amount * coalesce(w.weight, 1.0))::decimal(18, 2) as credited_collections
    from intermediate.payment_attribution e
    left join intermediate.credit_weights(bucket_weights) w using (bucket)
    where e.assignment_id is not null
        and e.paid_at >= month_start::date and e.paid_at < month_end::date
    group by all
)

select
    agent_id,
    h.cases_assigned,
    h.amount_due,
    h.amount_due_exposure,
    c.collected,
    c.collected_m6plus,
    c.credited_collections
from held h
full join collections c using (agent_id)
