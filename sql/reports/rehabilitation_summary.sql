-- The centre summary's debt-rehabilitation table: per plan type and horizon, the centre's
-- cohorts of marts.rehabilitation_index pooled (sums of normal and observed over the cohorts
-- whose horizon has ended), with the number of cohorts. Bound: $start.
select
    plan_type,
    horizon_months,
    count(*) as cohorts,
    sum(debtors) as debtors,
    sum(observed) as observed,
    (sum(normal) / nullif(sum(observed), 0))::double as normal_share,
    (sum(with_new_credit) / nullif(sum(observed), 0))::double as new_credit_share
from marts.rehabilitation_index
where month = $start and scope = 'centre'
group by all
order by plan_type, horizon_months
