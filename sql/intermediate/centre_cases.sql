-- intermediate.centre_cases(month_start, month_end): the centre's cases counted once over all
-- agents (marts.center_month_summary): a case that moved between agents or teams in the month is
-- one case. Held: the distinct cases of the assignments overlapping the month, the amount due
-- being the term of the case's first such assignment (by assigned_at, then id). Handled: the
-- distinct cases among all agents' calls in the month, with their hardship and relief.

with

held as (
    select count(*) as cases_assigned, sum(term)::decimal(18, 2) as amount_due
    from (
        select case_id, arg_min(term, (assigned_at, assignment_id)) as term
        from intermediate.assignment_terms(month_start::date, month_end::date)
        group by all
    )
),

handled as (
    select
        count(*) as cases_handled,
        count(*) filter (where hardship_flag) as hardship_cases_handled,
        count(*) filter (where hardship_flag and relieved) as relieved_hardship_cases
    from (
        select distinct case_id, hardship_flag, relieved
        from intermediate.handled_cases(month_start::date, month_end::date)
    )
)

select * from held cross join handled
