-- marts.agents_current: one row per agent, their latest month (the newest month with a row in
-- marts.agent_month_scorecard, which is built after the metrics): every metric, then the
-- scorecard of that month.
select
    m.* exclude (veto, config_version),
    s.* exclude (agent_id, month, team_id, level, config_version),
    m.config_version
from marts.agent_month_scorecard s
join marts.agent_month_metrics m using (agent_id, month)
qualify row_number() over (partition by s.agent_id order by s.month desc) = 1
