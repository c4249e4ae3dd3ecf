-- marts.rehabilitation_index: the debt-rehabilitation index (债务康复指数, the article's closing
-- proposal; version 2: needs credit_followups). Do debtors who went through a plan return to
-- normal credit?
--   * Cohort: the debtors (of the plan's case, case master as of the month's last day) whose
--     plan was created in the cohort month and whose plan is active or completed (its latest
--     delivered status), per plan type (installment, restructuring, hardship_relief).
--   * Horizon h (12, 24, 36 months): observations dated from the cohort month's first day to the
--     last day of the h-th month after it. Observed = debtors with such an observation; of those,
--     normal = the latest such observation is `normal`, new_credit = it says new credit was
--     granted.
--   * Only horizons that ended by the month's last day, and only follow-ups dated by then, so a
--     month rebuilt later gives the same rows.
--   * Per centre (scope centre, team_id NULL) and per team of the plan's agent (their team in
--     the roster as of the month's last day).
-- No rows when the lender sends no follow-ups.
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

horizons as (
    select unnest([12, 24, 36]) as horizon_months
),

plans as (
    select
        p.plan_id,
        p.plan_type,
        date_trunc('month', p.created_at)::date as cohort_month,
        c.debtor_id,
        r.team_id
    from staging.plans p
    join intermediate.case_master_at(($month_end::date - interval 1 day)::date) c using (case_id)
    left join intermediate.roster_at(($month_end::date - interval 1 day)::date) r
        using (agent_id)
    where p.status in ('active', 'completed') and p.created_at < $month_end::date
),

cohorts as (
    select distinct p.cohort_month, p.plan_type, p.debtor_id, p.team_id, h.horizon_months,
        (p.cohort_month + to_months(h.horizon_months + 1))::date as horizon_end
    from plans p
    cross join horizons h
    where (p.cohort_month + to_months(h.horizon_months + 1))::date <= $month_end::date
),

latest as (
    -- each debtor's latest observation within each of their cohort's horizons
    select k.cohort_month, k.plan_type, k.debtor_id, k.team_id, k.horizon_months,
        f.credit_status, f.new_credit
    from cohorts k
    join staging.credit_followups f
        on f.debtor_id = k.debtor_id
        and f.observed_on >= k.cohort_month and f.observed_on < k.horizon_end
    qualify row_number() over (
        partition by k.cohort_month, k.plan_type, k.debtor_id, k.team_id, k.horizon_months
        order by f.observed_on desc) = 1
),

counted as (
    select
        k.cohort_month, k.plan_type, k.team_id, k.horizon_months, k.debtor_id,
        l.debtor_id is not null as observed,
        coalesce(l.credit_status = 'normal', false) as normal,
        coalesce(l.new_credit, false) as new_credit
    from cohorts k
    left join latest l using (cohort_month, plan_type, debtor_id, team_id, horizon_months)
),

scoped as (
    select 'team' as scope, * from counted where team_id is not null
    union all
    -- the centre counts a debtor once even if plans of two teams put them in the cohort
    select 'centre' as scope, cohort_month, plan_type, null::varchar as team_id, horizon_months,
        debtor_id, bool_or(observed), bool_or(normal), bool_or(new_credit)
    from counted
    group by all
),

final as (
    select
        $month_start::date as month,
        scope,
        team_id,
        cohort_month,
        plan_type,
        horizon_months,
        count(*) as debtors,
        count(*) filter (where observed) as observed,
        count(*) filter (where normal) as normal,
        count(*) filter (where new_credit) as with_new_credit,
        (count(*) filter (where normal) / nullif(count(*) filter (where observed), 0))::double
            as normal_share,
        (count(*) filter (where new_credit)
            / nullif(count(*) filter (where observed), 0))::double as new_credit_share
    from scoped
    where exists (select 1 from staging.credit_followups)
    group by all
)

select * from final
