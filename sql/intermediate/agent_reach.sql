-- intermediate.agent_reach(month_start, month_end, effective_min_s, load_bands): contact per
-- case, not per call (version 3, "gaming does not pay"), per agent holding a case in the month:
-- the cases held (intermediate.assignment_terms), those the agent dialled while holding them in
-- the month, and those the agent reached with an effective call (a right-party contact of at
-- least effective_min_s seconds). Padding calls to cases already reached moves nothing; dropping
-- the unreachable cases from the dialling shows in the share attempted. Version 6.0, contact
-- against what the portfolio allows: each case held is expected to be reached at the centre's
-- rate for its bucket in the same month (every agent's cases of that bucket; the bucket of the
-- agent's latest holding of the case in the month), so expected_cases_reached is what the
-- agent's book allows. Version 8.0, and the size of the book: an agent holding more cases dials
-- each less, so the centre's rate is taken per bucket among the agents of a similar case load
-- (the agents holding a case in the month ranked by cases held, in load_bands equal groups of
-- at least 10 agents, ties in agent_id order; fairness.reach_load_bands, 1 = per bucket only as
-- 6.0-7.x). The allocation sets the load, not the agent: on generated centres the M6+ books
-- were also the largest (Spearman 0.55 between M6+ share and cases held), and per bucket alone
-- the ratio still leaned on the M6+ share (-0.21 to -0.27 on three medium centres; -0.03 to
-- -0.12 with five load bands).
-- Column meanings: the metric dictionary.

with

held as (
    select * from intermediate.month_holdings(month_start, month_end)
),

month_calls as (
    select c.agent_id, c.case_id, c.started_at, c.duration_s, c.outcome
    from staging.calls c
    where c.started_at >= month_start::date and c.started_at < month_end::date
),

per_case as (
    -- one row per (agent, case), whatever the number of holdings of it in the month
    select
        h.agent_id,
        h.case_id,
        arg_max(h.bucket, h.held_from) as bucket,  -- the agent's latest holding of it
        bool_or(c.started_at is not null) as attempted,
        bool_or(c.outcome = 'connected_debtor' and c.duration_s >= effective_min_s) as reached
    from held h
    left join month_calls c
        on c.agent_id = h.agent_id
        and c.case_id = h.case_id
        and c.started_at >= h.held_from
        and c.started_at < h.held_to
    group by all
),

loads as (
    -- each agent's case-load band (1 = the lightest books): the agents ranked by cases held
    -- (ties in agent_id order) in equal groups, as many as load_bands but each of at least 10
    -- agents (a band of one agent would expect of them what they did); under 20 agents, one
    select
        agent_id,
        1 + ((row_number() over (order by held, agent_id) - 1)
             * least(load_bands, greatest(1, count(*) over () // 10)))
            // count(*) over () as load_band
    from (select agent_id, count(*) as held from per_case group by agent_id)
),

bucket_rates as (
    -- the centre's share of cases reached per bucket and load band, over every agent's cases of
    -- the month
    select p.bucket, l.load_band, avg(coalesce(p.reached, false)::int) as reach_rate
    from per_case p
    join loads l using (agent_id)
    group by all
)

select
    p.agent_id,
    count(*) as cases_held,
    count(*) filter (where p.attempted) as cases_attempted,
    count(*) filter (where p.reached) as cases_reached,
    -- rounded: a sum of doubles in parallel differs in its last bits from run to run
    round(sum(b.reach_rate), 9) as expected_cases_reached
from per_case p
join loads l using (agent_id)
left join bucket_rates b
    on b.bucket is not distinct from p.bucket and b.load_band = l.load_band
group by all
