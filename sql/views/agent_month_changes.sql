-- marts.agent_month_changes: each agent-month beside the agent's previous calendar month, and the
-- change, so that "who improved" is a where clause (no window function). A month without a row
-- the month before has NULL previous values and changes.

with

graded as (
    select
        s.agent_id,
        s.month,
        s.team_id,
        s.level,
        s.composite,
        m.recovery_rate,
        s.grade,
        -- the grade's step: S 5, A 4, B 3, C 2, D 1, VETO 0; NA (not appraised) has none
        case s.grade
            when 'S' then 5 when 'A' then 4 when 'B' then 3 when 'C' then 2 when 'D' then 1
            when 'VETO' then 0
        end as grade_step
    from marts.agent_month_scorecard s
    join marts.agent_month_metrics m using (agent_id, month)
)

select
    c.agent_id,
    c.month,
    c.team_id,
    c.level,
    p.month as previous_month,
    c.composite,
    p.composite as previous_composite,
    round(c.composite - p.composite, 2) as composite_change,
    c.recovery_rate,
    p.recovery_rate as previous_recovery_rate,
    c.recovery_rate - p.recovery_rate as recovery_rate_change,
    c.grade,
    p.grade as previous_grade,
    c.grade_step - p.grade_step as grade_change
from graded c
left join graded p
    on p.agent_id = c.agent_id and p.month = (c.month - interval 1 month)::date
