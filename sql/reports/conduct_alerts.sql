-- The month's conduct alerts (marts.conduct_alerts), most severe first, with the agent's and the
-- team's names as the roster had them at the month's end (for the team report, the agent card
-- and the compliance page). Bound: $start.
select
    a.*,
    r.agent_name,
    r.team_name,
    case a.severity when 'high' then 0 when 'medium' then 1 else 2 end as severity_order
from marts.conduct_alerts a
left join intermediate.roster_at(($start::date + interval 1 month - interval 1 day)::date) r
    using (agent_id)
where a.month = $start
order by severity_order, a.agent_id, a.rule
