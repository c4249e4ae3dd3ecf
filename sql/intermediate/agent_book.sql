-- intermediate.agent_book(month_start, month_end): each agent's book of the month, from
-- intermediate.assignment_terms: the exposure held (amount due x the share of the month held,
-- as marts.agent_month_metrics.amount_due_exposure) and its M6+ share. The portfolio measure
-- agents like you are matched on, and the fairness checks (tests, benchmarks) read.

-- Rounded (6 places of a yuan, 12 of a share): a sum of doubles depends on the order it is
-- added in, and analysts' DuckDB clients must read the same figures (test_analyst_clients).
select
    agent_id,
    round(sum(term * held_share), 6)::double as exposure,
    round(sum(term * held_share) filter (where bucket = 'M6+')
        / nullif(sum(term * held_share), 0), 12)::double as m6plus_share
from intermediate.assignment_terms(month_start::date, month_end::date)
group by agent_id
