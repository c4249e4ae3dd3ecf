-- The month's skill-risk mismatches (marts.skill_risk_mismatches: a high-risk case given to an
-- L1 or new agent) with the agent's name as the roster had it at the month's end, for the team
-- report. The case id is shown, never debtor data. Bound: $start, $end.
select
    x.team_id,
    x.agent_id,
    g.agent_name,
    x.level,
    x.case_id,
    x.assigned_at,
    x.risk_score,
    x.tenure_months,
    x.reason_code
from marts.skill_risk_mismatches x
left join intermediate.roster_at(($end::date - interval 1 day)::date) g using (agent_id)
where x.month = $start
order by x.team_id, x.risk_score desc, x.assigned_at, x.case_id
