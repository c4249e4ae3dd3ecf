-- Per team, the medians an agent card compares the agent with: one for every figure of the
-- card's key metrics. Bound: $start.
select s.team_id, median(composite) as composite, median(collected) as collected,
    median(amount_due) as amount_due, median(recovery_rate) as recovery_rate,
    median(rpc_rate) as rpc_rate, median(ptp_kept_rate) as ptp_kept_rate,
    median(csat_avg) as csat_avg, median(complaints_per_1k_cases) as complaints_per_1k,
    median(cost_per_case) as cost_per_case, median(field_visit_share) as field_visit_share
from marts.agent_month_scorecard s
join marts.agent_month_metrics m using (agent_id, month)
where s.month = $start
group by all
