-- One row per team of the month, with its name and manager from the latest roster file on or
-- before the month's last day, and the team manager's appraisal (marts.team_month_scorecard:
-- composite, grade, rank among teams, each measure and its points). Bound: $start, $end.
select
    t.*,
    s.* exclude (team_id, month, agents, credited_collections, skill_risk_mismatches,
                 open_tickets_past_sla, mandatory_pass_rate, complaints_resolved_on_time_share,
                 config_version),
    n.team_name,
    n.manager_email
from marts.team_month_metrics t
left join marts.team_month_scorecard s using (team_id, month)
left join (
    select team_id, any_value(team_name) as team_name, any_value(manager_email) as manager_email
    from intermediate.roster_at(($end::date - interval 1 day)::date)
    where in_roster_file
    group by all
) n using (team_id)
where t.month = $start
order by t.team_id
