-- marts.latest_month: every agent of the latest built month (the newest month of
-- marts.agent_month_scorecard, which is built after the metrics): every metric, then the
-- scorecard.
select
    m.* exclude (veto, config_version),
    s.* exclude (agent_id, month, team_id, level, config_version),
    m.config_version
from marts.agent_month_metrics m
join marts.agent_month_scorecard s using (agent_id, month)
where m.month = (select max(month) from marts.agent_month_scorecard)
