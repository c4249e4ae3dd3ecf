-- intermediate.roster_at(as_of): the roster as of a date, one row per agent.
-- Each agent's row in the latest agents snapshot dated on or before as_of; in_roster_file says
-- whether that row comes from the latest roster file itself (the agents HR still lists on that
-- date) rather than from an older snapshot of an agent the latest file no longer names.
-- The month's roster is roster_at(the month's last day).

select
    a.*,
    a.snapshot_date = max(a.snapshot_date) over () as in_roster_file
from staging.agents a
where a.snapshot_date <= as_of
qualify row_number() over (partition by a.agent_id order by a.snapshot_date desc) = 1
