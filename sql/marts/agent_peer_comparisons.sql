-- marts.agent_peer_comparisons: "agents like you". Each appraised agent of the month against the
-- other appraised agents whose portfolio is closest, on every key measure (the scorecard's
-- scored rules and the composite): the peers' median and the share of the peers the agent beats.
-- The agent card shows it in place of the centre rank (docs/scorecard.md "Agents like you").
--
-- The matching rule (the dictionary says it too):
-- - compared: the appraised agents of the month (a composite: not_appraised agents are neither
--   compared nor anyone's peer); a vetoed agent is compared but is no one's peer (a composite of
--   0 and a month of misconduct are no yardstick);
-- - the portfolio, from what the agent held in the month (intermediate.assignment_terms, held
--   share x term = the exposure of marts.agent_month_metrics): the M6+ share of the exposure,
--   ln(1 + exposure) and the high-risk-industry share (marts.agent_month_scorecard); each
--   standardised over the pool of possible peers (minus its mean, over its standard deviation;
--   a feature that does not vary counts 0);
-- - the peers: the peer_k (fairness.peer_k) nearest by Euclidean distance of the standardised
--   features, rounded to 9 places; equal distances in agent_id order (deterministic);
-- - per measure: peers = the peers with a value; percentile = 100 x (peers beaten + half the
--   peers tied) / peers, where beating is a higher value, or a lower one for a rule whose
--   direction is lower; NULL when the agent has no value or fewer than fairness.min_peers peers
--   have one.

with

cards as (
    select agent_id, team_id, composite, veto, high_risk_share, rule_points
    from marts.agent_month_scorecard
    where month = $month_start::date and composite is not null
),

book as (
    select agent_id, exposure, coalesce(m6plus_share, 0) as m6plus_share
    from intermediate.agent_book($month_start::date, $month_end::date)
),

features as (
    select c.agent_id, c.veto,
        coalesce(b.m6plus_share, 0) as f_m6plus,
        ln(1 + greatest(coalesce(b.exposure, 0), 0)) as f_exposure,
        coalesce(c.high_risk_share, 0)::double as f_high_risk
    from cards c
    left join book b using (agent_id)
),

scales as (
    -- over the pool of possible peers: the appraised, not vetoed agents
    select avg(f_m6plus) as m_m6plus, stddev_pop(f_m6plus) as s_m6plus,
        avg(f_exposure) as m_exposure, stddev_pop(f_exposure) as s_exposure,
        avg(f_high_risk) as m_high_risk, stddev_pop(f_high_risk) as s_high_risk
    from features
    where not veto
),

standardised as (
    select f.agent_id, f.veto,
        coalesce((f.f_m6plus - s.m_m6plus) / nullif(s.s_m6plus, 0), 0) as z_m6plus,
        coalesce((f.f_exposure - s.m_exposure) / nullif(s.s_exposure, 0), 0) as z_exposure,
        coalesce((f.f_high_risk - s.m_high_risk) / nullif(s.s_high_risk, 0), 0) as z_high_risk
    from features f
    cross join scales s
),

nearest as (
    select a.agent_id, p.agent_id as peer_id,
        round(sqrt(power(a.z_m6plus - p.z_m6plus, 2) + power(a.z_exposure - p.z_exposure, 2)
                   + power(a.z_high_risk - p.z_high_risk, 2)), 9) as distance
    from standardised a
    join standardised p on p.agent_id <> a.agent_id and not p.veto
    qualify row_number() over (partition by a.agent_id order by distance, p.agent_id)
        <= $peer_k
),

peer_sets as (
    select agent_id, list(peer_id order by distance, peer_id) as peer_ids
    from nearest
    group by all
),

rules as (
    -- every rule of the scorecard (rule_points), kept when it was scored for someone this month
    select c.agent_id, r.dimension, r.metric as measure, r.direction, r.value, r.weight
    from cards c, unnest(c.rule_points) as u(r)
    qualify max(r.weight) over (partition by r.dimension, r.metric) > 0
),

measures as (
    select agent_id, 'composite' as dimension, 'composite' as measure, 'higher' as direction,
        composite::double as value
    from cards
    union all
    select agent_id, dimension, measure, direction, value from rules
),

compared as (
    select m.agent_id, m.dimension, m.measure, m.direction, m.value,
        count(p.value) as peers,
        median(p.value) as peer_median,
        coalesce(sum(case
            when m.value is null or p.value is null then 0
            when m.value = p.value then 0.5
            when (m.direction = 'lower') = (m.value < p.value) then 1
            else 0 end), 0) as beaten
    from measures m
    left join nearest n using (agent_id)
    left join measures p on p.agent_id = n.peer_id and p.measure = m.measure
        and p.dimension = m.dimension
    group by all
)

select
    $month_start::date as month,
    m.agent_id,
    c.team_id,
    m.dimension,
    m.measure,
    m.direction,
    round(m.value, 9) as value,
    m.peers,
    round(m.peer_median, 9) as peer_median,
    case when m.value is not null and m.peers >= $min_peers
         then round(100.0 * m.beaten / m.peers, 2) end as percentile,
    coalesce(s.peer_ids, []::varchar[]) as peer_ids
from compared m
join cards c using (agent_id)
left join peer_sets s using (agent_id)
order by m.agent_id, m.dimension, m.measure
