-- marts.skill_risk_mismatches: assignments started in the month where a high-risk case
-- (risk_score >= $high_risk_score) went to an L1 agent or to one with under
-- $min_tenure_months months of tenure (the article: new hires must not handle high-risk cases).
-- Why, in parts (reason_code, and min_tenure_months beside tenure_months: the reports word them)
-- and in an English phrase for analysts (reason).

with

bounds as (
    select $month_start::date as month_start, $month_end::date as month_end
),

started as (
    select a.assignment_id, a.case_id, a.agent_id, a.assigned_at
    from staging.assignments a, bounds b
    where a.assigned_at >= b.month_start and a.assigned_at < b.month_end
),

risk as (
    -- the case's latest snapshot on or before the assignment
    select s.assignment_id, c.risk_score
    from started s
    join staging.cases c on c.case_id = s.case_id and c.snapshot_date <= s.assigned_at::date
    qualify row_number() over (partition by s.assignment_id order by c.snapshot_date desc) = 1
),

agent_then as (
    -- the agent's latest roster row on or before the assignment
    select s.assignment_id, g.team_id, g.level, g.hire_date
    from started s
    join staging.agents g on g.agent_id = s.agent_id and g.snapshot_date <= s.assigned_at::date
    qualify row_number() over (partition by s.assignment_id order by g.snapshot_date desc) = 1
),

final as (
    select
        b.month_start as month,
        s.assignment_id,
        s.case_id,
        s.agent_id,
        t.team_id,
        t.level,
        s.assigned_at,
        r.risk_score,
        date_diff('month', t.hire_date, s.assigned_at::date)
            - (day(s.assigned_at) < day(t.hire_date))::int as tenure_months,
        case
            when t.level = 'L1' then 'L1 agent'
            else 'tenure under ' || $min_tenure_months || ' months'
        end as reason,
        case when t.level = 'L1' then 'l1_agent' else 'new_hire' end as reason_code,
        case when t.level = 'L1' then null else $min_tenure_months::bigint end
            as min_tenure_months
    from started s
    cross join bounds b
    join risk r using (assignment_id)
    join agent_then t using (assignment_id)
    where r.risk_score >= $high_risk_score
        and (t.level = 'L1' or t.hire_date > s.assigned_at::date - to_months($min_tenure_months))
)

select * from final
