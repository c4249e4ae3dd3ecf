-- intermediate.agent_development(month_start, month_end, quarter_start): satisfaction, skills,
-- cost and debt relief for marts.agent_month_metrics, per agent: surveys answered in the month,
-- mandatory courses due in the trailing 12 months and simulations of the quarter, costs incurred,
-- plans created. Column meanings: the metric dictionary.

with

surveys as (
    select agent_id, count(*) as surveys, avg(score) as csat_avg
    from staging.surveys s
    where s.responded_at >= month_start::date and s.responded_at < month_end::date
    group by all
),

training as (
    select
        t.agent_id,
        count(*) filter (
            where t.course_type = 'mandatory'
                and t.due_date >= month_end::date - interval 12 month
                and t.due_date < month_end::date
        ) as mandatory_due,
        count(*) filter (
            where t.course_type = 'mandatory'
                and t.due_date >= month_end::date - interval 12 month
                and t.due_date < month_end::date
                and t.passed and t.completed_on < month_end::date
        ) as mandatory_passed,
        avg(t.score) filter (
            where t.course_type = 'simulation'
                and t.completed_on >= quarter_start::date and t.completed_on < month_end::date
        ) as simulation_score
    from staging.trainings t
    group by all
),

cost as (
    select
        agent_id,
        sum(amount)::decimal(18, 2) as total_cost,
        coalesce(sum(amount) filter (where cost_type = 'field_visit'), 0) as field_visit_cost
    from staging.costs c
    where c.incurred_on >= month_start::date and c.incurred_on < month_end::date
    group by all
),

relief as (
    select
        p.agent_id,
        count(*) filter (where m.hardship_flag) as relief_plans,
        count(*) filter (where p.social_referral) as social_referrals
    from staging.plans p
    left join intermediate.case_master_at((month_end::date - interval 1 day)::date) m
        using (case_id)
    where p.created_at >= month_start::date and p.created_at < month_end::date
    group by all
)

select
    agent_id,
    s.surveys,
    s.csat_avg,
    t.mandatory_due,
    t.mandatory_passed,
    t.simulation_score,
    c.total_cost,
    c.field_visit_cost,
    r.relief_plans,
    r.social_referrals
from surveys s
full join training t using (agent_id)
full join cost c using (agent_id)
full join relief r using (agent_id)
