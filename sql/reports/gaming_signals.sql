-- The month's gaming signals (marts.gaming_signals), with the agent's and the team's names as the
-- roster had them at the month's end (for the team report and the compliance page; never the
-- agent's own card: a signal is a question for the manager, not a finding). Bound: $start.
select g.*, r.agent_name, r.team_name
from marts.gaming_signals g
left join intermediate.roster_at(($start::date + interval 1 month - interval 1 day)::date) r
    using (agent_id)
where g.month = $start
order by g.team_id, g.agent_id, g.signal
