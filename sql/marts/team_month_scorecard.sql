-- marts.team_month_scorecard: one row per (team_id, month). The team manager's appraisal
-- (部门考核): each team measure is scored by its rule in team_scorecard.rules ($team_rules) like
-- the agents' rules, clip((value - floor) / (target - floor), 0, 1) x 100 in both directions;
-- the composite is the weighted mean of the points of the rules with a value (a rule without
-- data drops out and its weight is spread over the others), 2 decimals; the grade comes from the
-- agents' bands ($grade_bands = scorecard.grades: the best band the composite reaches, D below
-- them all, NA when no rule has data).
-- Version 8.0: the counts that grow with the size of the book (skill-risk mismatches, tickets
-- past SLA) are also given per 100 cases the team held in the month (cases_assigned), so a rule
-- means the same for a team of 100-case agents and one of 330-case agents; the shipped rules
-- score those. The per-agent columns stay for configurations that name them.

with

teams as (
    select * from marts.team_month_metrics where month = $month_start::date
),

targets as (
    -- the team's credited collections against the sum of its agents' targets: each agent's
    -- recovery_target (credited collections per yuan of exposure) x their exposure
    select
        coalesce(s.team_id, '(no team)') as team_id,
        sum(m.credited_collections)::decimal(18, 2) as credited_collections,
        round(sum(s.recovery_target * m.amount_due_exposure), 2)::decimal(18, 2)
            as target_collections
    from marts.agent_month_scorecard s
    join marts.agent_month_metrics m using (agent_id, month)
    where s.month = $month_start::date
    group by all
),

alerts as (
    select coalesce(team_id, '(no team)') as team_id, count(*) as conduct_alerts
    from marts.conduct_alerts
    where month = $month_start::date
    group by all
),

measures as (
    select
        t.team_id,
        t.agents,
        coalesce(g.credited_collections, 0)::decimal(18, 2) as credited_collections,
        g.target_collections,
        (g.credited_collections / nullif(g.target_collections, 0))::double as recovery_vs_target,
        coalesce(a.conduct_alerts, 0) as conduct_alerts,
        (coalesce(a.conduct_alerts, 0) / nullif(t.agents, 0))::double
            as conduct_alerts_per_agent,
        t.skill_risk_mismatches,
        (t.skill_risk_mismatches / nullif(t.agents, 0))::double
            as skill_risk_mismatches_per_agent,
        (100.0 * t.skill_risk_mismatches / nullif(t.cases_assigned, 0))::double
            as skill_risk_mismatches_per_100_cases,
        t.open_tickets_past_sla,
        (t.open_tickets_past_sla / nullif(t.agents, 0))::double
            as open_tickets_past_sla_per_agent,
        (100.0 * t.open_tickets_past_sla / nullif(t.cases_assigned, 0))::double
            as open_tickets_past_sla_per_100_cases,
        t.mandatory_pass_rate,
        t.complaints_resolved_on_time_share
    from teams t
    left join targets g using (team_id)
    left join alerts a using (team_id)
),

rules as (
    select r.measure, r.floor, r.target, r.weight, i as position
    from (select unnest($team_rules) as r, generate_subscripts($team_rules, 1) as i)
),

valued as (
    -- every (team, rule) with the measure's value (NULL: no data)
    select
        m.team_id,
        r.measure,
        r.position,
        r.floor,
        r.target,
        r.weight,
        case r.measure
            when 'recovery_vs_target' then m.recovery_vs_target
            when 'conduct_alerts_per_agent' then m.conduct_alerts_per_agent
            when 'skill_risk_mismatches_per_agent' then m.skill_risk_mismatches_per_agent
            when 'open_tickets_past_sla_per_agent' then m.open_tickets_past_sla_per_agent
            when 'skill_risk_mismatches_per_100_cases' then m.skill_risk_mismatches_per_100_cases
            when 'open_tickets_past_sla_per_100_cases' then m.open_tickets_past_sla_per_100_cases
            when 'mandatory_pass_rate' then m.mandatory_pass_rate
            when 'complaints_resolved_on_time_share' then m.complaints_resolved_on_time_share
        end as value
    from measures m
    cross join rules r
),

scored as (
    select
        team_id,
        measure,
        position,
        weight,
        value,
        -- (least and greatest skip a NULL: no value, no points)
        case when value is not null
            then greatest(0.0, least(1.0, (value - floor) / (target - floor))) * 100 end as points
    from valued
),

composite as (
    select
        team_id,
        round(sum(points * weight) filter (where value is not null and weight > 0)
              / nullif(sum(weight) filter (where value is not null and weight > 0), 0), 2)
            as composite,
        coalesce(list(measure order by position)
                     filter (where value is null and weight > 0), []::varchar[])
            as missing_measures,
        max(points) filter (where measure = 'recovery_vs_target') as recovery_vs_target_points,
        max(points) filter (where measure = 'conduct_alerts_per_agent')
            as conduct_alerts_per_agent_points,
        max(points) filter (where measure = 'skill_risk_mismatches_per_agent')
            as skill_risk_mismatches_per_agent_points,
        max(points) filter (where measure = 'open_tickets_past_sla_per_agent')
            as open_tickets_past_sla_per_agent_points,
        max(points) filter (where measure = 'skill_risk_mismatches_per_100_cases')
            as skill_risk_mismatches_per_100_cases_points,
        max(points) filter (where measure = 'open_tickets_past_sla_per_100_cases')
            as open_tickets_past_sla_per_100_cases_points,
        max(points) filter (where measure = 'mandatory_pass_rate') as mandatory_pass_rate_points,
        max(points) filter (where measure = 'complaints_resolved_on_time_share')
            as complaints_resolved_on_time_share_points
    from scored
    group by all
),

bands as (
    select b.grade, b.band from (select unnest($grade_bands) as b)
),

banded as (
    -- the best band the composite reaches
    select c.team_id, arg_max(b.grade, b.band) as grade
    from composite c
    join bands b on c.composite >= b.band
    group by all
),

final as (
    select
        m.team_id,
        $month_start::date as month,
        m.agents,
        m.credited_collections,
        m.target_collections,
        m.recovery_vs_target,
        c.recovery_vs_target_points,
        m.conduct_alerts,
        m.conduct_alerts_per_agent,
        c.conduct_alerts_per_agent_points,
        m.skill_risk_mismatches,
        m.skill_risk_mismatches_per_agent,
        c.skill_risk_mismatches_per_agent_points,
        m.skill_risk_mismatches_per_100_cases,
        c.skill_risk_mismatches_per_100_cases_points,
        m.open_tickets_past_sla,
        m.open_tickets_past_sla_per_agent,
        c.open_tickets_past_sla_per_agent_points,
        m.open_tickets_past_sla_per_100_cases,
        c.open_tickets_past_sla_per_100_cases_points,
        m.mandatory_pass_rate,
        c.mandatory_pass_rate_points,
        m.complaints_resolved_on_time_share,
        c.complaints_resolved_on_time_share_points,
        c.missing_measures,
        c.composite,
        case
            when c.composite is null then 'NA'
            else coalesce(g.grade, 'D')
        end as grade,
        case when c.composite is not null then rank() over (
            partition by c.composite is null order by c.composite desc) end as rank_among_teams
    from measures m
    left join composite c using (team_id)
    left join banded g using (team_id)
)

select * from final
