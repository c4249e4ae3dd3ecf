-- marts.team_month_metrics: one row per (team_id, month): the sums of its agents' metrics (the
-- agents whose agent_month_metrics row carries the team_id), every ratio recomputed from the sums
-- (never an average of ratios), and what only the team has: cases counted once (a case that moved
-- between two of its agents is one case), middle-office ticket response, skill-risk mismatches,
-- complaint resolution (NULL when the lender never sends complaints.resolved_at).

with

agents as (
    select * from marts.agent_month_metrics where month = $month_start::date
),

sums as (
    select
        coalesce(team_id, '(no team)') as team_id,
        count(*) as agents,
        count(*) filter (where veto) as vetoed_agents,
        -- the agents' counts and amounts, summed under their own names
        sum(columns(['collected', 'collected_m6plus', 'credited_collections', 'call_attempts',
                     'connected_calls', 'rpc_calls', 'effective_calls', 'ptp_made', 'ptp_due',
                     'ptp_kept', 'over_cap_calls', 'own_over_cap_calls', 'off_hours_calls',
                     'complaints', 'qa_flagged_calls', 'privacy_incidents', 'major_violations',
                     'surveys', 'mandatory_due', 'mandatory_passed', 'total_cost',
                     'relief_plans', 'social_referrals'])),
        sum(amount_due_exposure) as amount_due_exposure,
        sum(cases_handled) as agent_cases_handled,
        sum(csat_avg * surveys) as csat_points,
        sum(field_visit_share * total_cost) as field_visit_cost
    from agents
    group by all
),

team_of_agent as (
    select agent_id, coalesce(team_id, '(no team)') as team_id from agents
),

-- each case once ------------------------------------------------------------------------------

case_totals as (
    -- the team's distinct cases held in the month; the amount due is the term of the case's
    -- first assignment in the month among the team's agents (by assigned_at, then id)
    select team_id, count(*) as cases_assigned, sum(term)::decimal(18, 2) as amount_due
    from (
        select o.team_id, t.case_id, arg_min(t.term, (t.assigned_at, t.assignment_id)) as term
        from intermediate.assignment_terms($month_start::date, $month_end::date) t
        join team_of_agent o using (agent_id)
        group by all
    )
    group by all
),

handled_totals as (
    -- the team's distinct cases among its agents' calls in the month (intermediate.handled_cases)
    select
        team_id,
        count(*) as cases_handled,
        count(*) filter (where hardship_flag) as hardship_cases_handled,
        count(*) filter (where hardship_flag and relieved) as relieved_hardship_cases
    from (
        select distinct o.team_id, h.case_id, h.hardship_flag, h.relieved
        from intermediate.handled_cases($month_start::date, $month_end::date) h
        join team_of_agent o using (agent_id)
    )
    group by all
),

tickets as (
    -- the team's agents' tickets that count in the month (intermediate.ticket_response)
    select o.team_id, t.*
    from intermediate.ticket_response($month_start::date, $month_end::date, $sla_hours) t
    join team_of_agent o using (agent_id)
),

response as (
    select
        team_id,
        median(response_h) filter (where opened_in_month and ticket_type = 'legal_signoff')
            as legal_signoff_median_h,
        quantile_cont(response_h, 0.9) filter (
            where opened_in_month and ticket_type = 'legal_signoff') as legal_signoff_p90_h,
        median(response_h) filter (where opened_in_month and ticket_type = 'fee_waiver')
            as fee_waiver_median_h,
        quantile_cont(response_h, 0.9) filter (
            where opened_in_month and ticket_type = 'fee_waiver') as fee_waiver_p90_h,
        median(response_h) filter (
            where opened_in_month and ticket_type = 'restructuring_approval')
            as restructuring_approval_median_h,
        quantile_cont(response_h, 0.9) filter (
            where opened_in_month and ticket_type = 'restructuring_approval')
            as restructuring_approval_p90_h,
        count(*) filter (where opened_in_month) as tickets_opened,
        count(*) filter (where open_past_sla) as open_tickets_past_sla
    from tickets
    group by all
),

mismatches as (
    select coalesce(team_id, '(no team)') as team_id, count(*) as skill_risk_mismatches
    from marts.skill_risk_mismatches
    where month = $month_start::date
    group by all
),

resolution as materialized (
    -- every complaint's resolution (intermediate.complaint_resolution), read once
    select * from intermediate.complaint_resolution($month_start::date, $month_end::date,
                                                    $complaint_deadline_days)
),

complaint_resolution as (
    -- the team's agents' complaints: hours to resolution of those received in the month, the
    -- share of those due resolved on time, and those (received in any month) open past the
    -- deadline at the month's end
    select
        o.team_id,
        median(r.resolution_h) filter (where r.received_in_month)
            as complaint_resolution_median_h,
        quantile_cont(r.resolution_h, 0.9) filter (where r.received_in_month)
            as complaint_resolution_p90_h,
        (count(*) filter (where r.due and r.resolved_on_time)
            / nullif(count(*) filter (where r.due), 0))::double
            as complaints_resolved_on_time_share,
        count(*) filter (where r.open_past_deadline) as open_complaints_past_deadline
    from resolution r
    join team_of_agent o using (agent_id)
    group by all
),

resolution_delivered as (
    -- whether the lender sends complaints.resolved_at at all: without it, NULL, never 0
    select coalesce(bool_or(resolution_delivered), false) as delivered from resolution
),

final as (
    select
        s.team_id,
        $month_start::date as month,
        s.agents,
        s.vetoed_agents,
        coalesce(k.cases_assigned, 0) as cases_assigned,
        coalesce(k.amount_due, 0)::decimal(18, 2) as amount_due,
        s.collected,
        (s.collected / nullif(k.amount_due, 0))::double as recovery_rate,
        -- exposure: what each agent held, for as long as they held it; a sum over the agents,
        -- so the centre's rate lies between its teams' (amount_due counts each case once)
        coalesce(s.amount_due_exposure, 0)::decimal(18, 2) as amount_due_exposure,
        (s.collected / nullif(s.amount_due_exposure, 0))::double as exposure_recovery_rate,
        s.collected_m6plus, s.credited_collections, s.call_attempts, s.connected_calls,
        s.rpc_calls,
        (s.rpc_calls / nullif(s.call_attempts, 0))::double as rpc_rate,
        s.effective_calls,
        coalesce(h.cases_handled, 0) as cases_handled,
        s.ptp_made, s.ptp_due, s.ptp_kept,
        (s.ptp_kept / nullif(s.ptp_due, 0))::double as ptp_kept_rate,
        s.over_cap_calls, s.own_over_cap_calls, s.off_hours_calls, s.complaints,
        (1000.0 * s.complaints / nullif(h.cases_handled, 0))::double as complaints_per_1k_cases,
        s.qa_flagged_calls,
        (s.qa_flagged_calls / nullif(s.connected_calls, 0))::double as threat_ratio,
        s.privacy_incidents,
        s.major_violations,
        s.surveys,
        (s.csat_points / nullif(s.surveys, 0))::double as csat_avg,
        s.mandatory_due,
        s.mandatory_passed,
        (s.mandatory_passed / nullif(s.mandatory_due, 0))::double as mandatory_pass_rate,
        s.total_cost,
        (s.total_cost / nullif(h.cases_handled, 0))::double as cost_per_case,
        -- the agents' cases handled summed (a case two agents called counts for each): a sum
        s.agent_cases_handled,
        (s.total_cost / nullif(s.agent_cases_handled, 0))::double as cost_per_agent_case,
        (s.field_visit_cost / nullif(s.total_cost, 0))::double as field_visit_share,
        coalesce(h.hardship_cases_handled, 0) as hardship_cases_handled,
        s.relief_plans,
        s.social_referrals,
        (h.relieved_hardship_cases / nullif(h.hardship_cases_handled, 0))::double
            as relief_rate,
        coalesce(r.tickets_opened, 0) as tickets_opened,
        r.legal_signoff_median_h, r.legal_signoff_p90_h, r.fee_waiver_median_h,
        r.fee_waiver_p90_h, r.restructuring_approval_median_h, r.restructuring_approval_p90_h,
        coalesce(r.open_tickets_past_sla, 0) as open_tickets_past_sla,
        coalesce(m.skill_risk_mismatches, 0) as skill_risk_mismatches,
        cr.complaint_resolution_median_h,
        cr.complaint_resolution_p90_h,
        cr.complaints_resolved_on_time_share,
        case when d.delivered then coalesce(cr.open_complaints_past_deadline, 0) end
            as open_complaints_past_deadline
    from sums s
    cross join resolution_delivered d
    left join case_totals k using (team_id)
    left join handled_totals h using (team_id)
    left join response r using (team_id)
    left join mismatches m using (team_id)
    left join complaint_resolution cr using (team_id)
)

select * from final
