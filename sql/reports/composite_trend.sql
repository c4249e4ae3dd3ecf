-- Each agent's composite and collections over the six months up to the month. Bound: $six
-- (first day of the month five months before), $start.
select s.agent_id, s.month, s.composite, m.collected
from marts.agent_month_scorecard s
join marts.agent_month_metrics m using (agent_id, month)
where s.month > $six and s.month <= $start
order by s.agent_id, s.month
