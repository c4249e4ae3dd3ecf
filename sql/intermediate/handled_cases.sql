-- intermediate.handled_cases(month_start, month_end): the cases each agent worked in the month
-- (at least one call with started_at in [month_start, month_end)), one row per agent and case,
-- with the case's hardship flag as of the month's last day and whether the case has debt relief:
-- a hardship_relief or restructuring plan (any agent) created before month_end and not cancelled.
-- A team or the centre counts a case once: distinct case_id over its agents' rows.

with

worked as (
    select distinct c.agent_id, c.case_id
    from staging.calls c
    where c.started_at >= month_start and c.started_at < month_end
),

relieved as (
    select distinct p.case_id
    from staging.plans p
    where p.plan_type in ('hardship_relief', 'restructuring')
        and p.created_at < month_end
        and p.status is distinct from 'cancelled'
)

select
    w.agent_id,
    w.case_id,
    coalesce(m.hardship_flag, false) as hardship_flag,
    r.case_id is not null as relieved
from worked w
left join intermediate.case_master_at((month_end::date - interval 1 day)::date) m using (case_id)
left join relieved r using (case_id)
