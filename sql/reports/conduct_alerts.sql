-- The month's conduct alerts (marts.conduct_alerts), most severe first. Bound: $start.
select a.*, case a.severity when 'high' then 0 when 'medium' then 1 else 2 end as severity_order
from marts.conduct_alerts a
where a.month = $start
order by severity_order, a.agent_id, a.rule
