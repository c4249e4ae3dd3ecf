-- Teams and their managers as the latest roster file on or before the month's last day lists
-- them: who receives each team's report. Bound: $end.
select snapshot_date, team_id, team_name, manager_email
from intermediate.roster_at(($end::date - interval 1 day)::date)
where in_roster_file
