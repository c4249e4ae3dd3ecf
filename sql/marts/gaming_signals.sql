-- marts.gaming_signals: the manager's review list of gaming patterns (version 3, "gaming does
-- not pay"). One row per (agent, month, signal) raised. A signal is a question for the manager,
-- never a sanction: the scores are already built so that none of these behaviours pays.
-- Each appraised agent's value is compared with the baseline of agents with a similar portfolio
-- (the median of the appraised agents whose largest bucket by amount due is the same; the whole
-- centre when that stratum has fewer than gaming.baseline_min_agents); a signal is raised when
-- value >= min_ratio x baseline, value - baseline >= min_excess and evidence >= min_evidence
-- (config gaming.signals). The signals (measured on the events in intermediate.gaming_measures,
-- the rest from marts.agent_month_metrics):
--   token_promises           promises due made on a call under 20 s or for under 3% of the
--                            amount due (intermediate.agent_promises with those bounds: a token
--                            is far from a commitment), per promise due
--   unattempted_cases        held cases the agent never dialled, per case held
--   uncontacted_collections  credited collections on cases not contacted before the payment
-- Bound parameters: the `bound` list of the dictionary beside this file.

with

rules as (
    select r.signal, r.min_ratio, r.min_excess, r.min_evidence
    from (select unnest($signal_rules) as r)
),

appraised as (
    select m.*
    from marts.agent_month_metrics m
    join marts.agent_month_scorecard s using (agent_id, month)
    where m.month = $month_start::date and s.grade <> 'NA'
),

strata as (
    -- the bucket holding the largest part of the agent's amount due in the month
    select agent_id, arg_max(bucket, term) as stratum
    from (
        select agent_id, bucket, sum(term) as term
        from intermediate.assignment_terms($month_start::date, $month_end::date)
        group by all
    )
    group by all
),

measures as (
    select agent_id, signal, value, evidence
    from intermediate.gaming_measures($month_start::date, $month_end::date, $effective_min_s)
    union all
    select agent_id, 'token_promises',
        ((ptp_due - commitments_due) / nullif(ptp_due, 0))::double, ptp_due - commitments_due
    from intermediate.agent_promises($month_start::date, $month_end::date, $sla_hours, 20, 0.03)
    union all
    select agent_id, 'unattempted_cases', 1 - attempted_case_share,
        cases_assigned - cases_attempted
    from appraised
    union all
    select agent_id, 'uncontacted_collections',
        (uncontacted_collections / nullif(credited_collections, 0))::double,
        uncontacted_payments
    from appraised
),

valued as (
    -- every appraised agent has a value for each signal (none measured: 0)
    select a.agent_id, a.team_id, coalesce(st.stratum, 'none') as stratum, r.signal,
        coalesce(m.value, 0) as value, coalesce(m.evidence, 0) as evidence
    from appraised a
    cross join rules r
    left join strata st using (agent_id)
    left join measures m on m.agent_id = a.agent_id and m.signal = r.signal
),

compared as (
    select
        *,
        count(*) over (partition by signal, stratum) >= $baseline_min_agents as in_stratum,
        median(value) over (partition by signal, stratum) as stratum_median,
        median(value) over (partition by signal) as centre_median,
        percent_rank() over (partition by signal, stratum order by value) as stratum_rank,
        percent_rank() over (partition by signal order by value) as centre_rank
    from valued
)

select
    $month_start::date as month,
    c.agent_id,
    c.team_id,
    c.signal,
    round(c.value, 6) as value,
    round(case when c.in_stratum then c.stratum_median else c.centre_median end, 6)
        as centre_baseline,
    case when c.in_stratum then c.stratum else 'centre' end as baseline_group,
    round(100 * case when c.in_stratum then c.stratum_rank else c.centre_rank end, 1)
        as percentile,
    c.evidence,
    r.min_ratio,
    r.min_excess,
    r.min_evidence
from compared c
join rules r using (signal)
where c.evidence >= r.min_evidence
    and c.value >= r.min_ratio * (case when c.in_stratum then c.stratum_median
                                       else c.centre_median end)
    and c.value - (case when c.in_stratum then c.stratum_median else c.centre_median end)
        >= r.min_excess
order by c.agent_id, c.signal
