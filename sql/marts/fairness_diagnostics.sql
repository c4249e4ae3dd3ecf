-- marts.fairness_diagnostics: the scorecard must measure skill, not the luck of the portfolio
-- or the team. Over the appraised, not vetoed agents of the month: the rank correlation
-- (Spearman; ties get their average rank) of the composite with the M6+ share of their amount
-- due and with their difficulty coefficient; the share of the composite's rank variance
-- between teams (eta squared) and its root (eta); and the share chance alone gives with these
-- teams and agents: the 95th percentile of eta squared over 200 reassignments of the agents to
-- teams of the same sizes, in orders drawn from md5 (a re-run gives the same figure). With six
-- teams of ten, chance alone gives about 0.08 on average; a share above the 95th percentile is
-- a team effect. marts.center_month_summary reports them and warns on them.

with

appraised as (
    select s.agent_id, s.team_id, s.composite, s.difficulty_coefficient,
        coalesce(sum(t.term) filter (where t.bucket = 'M6+') / nullif(sum(t.term), 0), 0)
            as m6plus_share
    from marts.agent_month_scorecard s
    left join intermediate.assignment_terms($month_start::date, $month_end::date) t
        using (agent_id)
    where s.month = $month_start::date and s.composite is not null and not s.veto
    group by all
),

ranked as (
    select
        agent_id,
        team_id,
        (rank() over (order by composite) + count(*) over (order by composite
            range between unbounded preceding and current row)) / 2.0 as r_composite,
        (rank() over (order by m6plus_share) + count(*) over (order by m6plus_share
            range between unbounded preceding and current row)) / 2.0 as r_m6plus,
        (rank() over (order by difficulty_coefficient) + count(*) over (
            order by difficulty_coefficient
            range between unbounded preceding and current row)) / 2.0 as r_difficulty
    from appraised
),

slots as (
    -- the team label of each slot: the real team sizes, in a fixed order
    select team_id, row_number() over (order by team_id, agent_id) as k from ranked
),

shuffled as (
    -- draws 1-200: the agents in an order drawn from md5 of the agent and the draw
    select d.draw, a.r_composite,
        row_number() over (partition by d.draw
                           order by md5(a.agent_id || '|' || d.draw::varchar)) as k
    from range(1, 201) d(draw)
    cross join ranked a
),

labelled as (
    -- draw 0 is the real teams
    select 0 as draw, team_id, r_composite from ranked
    union all
    select s.draw, l.team_id, s.r_composite from shuffled s join slots l using (k)
),

shares as (
    select t.draw, sum(t.n * power(t.mean_r - g.grand, 2)) / nullif(g.total_ss, 0) as share
    from (select draw, team_id, count(*) as n, avg(r_composite) as mean_r
          from labelled group by all) t
    cross join (select avg(r_composite) as grand,
                       sum(power(r_composite - (select avg(r_composite) from ranked), 2))
                           as total_ss
                from ranked) g
    group by t.draw, g.total_ss
)

select
    $month_start::date as month,
    round(corr(r_composite, r_m6plus), 4) as rho_composite_m6plus_share,
    round(corr(r_composite, r_difficulty), 4) as rho_composite_difficulty,
    round((select sqrt(share) from shares where draw = 0), 4) as eta_composite_team,
    round((select share from shares where draw = 0), 4) as team_share_of_variance,
    round((select quantile_cont(share, 0.95) from shares where draw > 0), 4)
        as team_share_by_chance,
    count(distinct team_id) as teams,
    count(*) as agents
from ranked
