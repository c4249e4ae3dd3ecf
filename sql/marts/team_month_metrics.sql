-- marts.team_month_metrics: one row per (team_id, month). Sums of the agent metrics, and every
-- ratio recomputed from the sums (never an average of ratios); middle-office ticket response;
-- skill-risk mismatches; debt-relief (ESG) figures. A team's agents are those whose
-- agent_month_metrics row carries its team_id. Cases are counted once: a case that moved between
-- two agents of the team is one case (cases_assigned, amount_due from the case's first
-- assignment in the month, cases_handled, hardship_cases_handled, relief_rate). Complaint
-- resolution against the handling deadline (intermediate.complaint_resolution): NULL when the
-- lender never sends complaints.resolved_at.

with

bounds as (
    select $month_start::date as month_start, $month_end::date as month_end
),

agents as (
    select * from marts.agent_month_metrics where month = $month_start::date
),

sums as (
    select
        coalesce(team_id, '(no team)') as team_id,
        count(*) as agents,
        count(*) filter (where veto) as vetoed_agents,
        sum(collected)::decimal(18, 2) as collected,
        sum(collected_m6plus)::decimal(18, 2) as collected_m6plus,
        sum(credited_collections)::decimal(18, 2) as credited_collections,
        sum(call_attempts) as call_attempts,
        sum(connected_calls) as connected_calls,
        sum(rpc_calls) as rpc_calls,
        sum(effective_calls) as effective_calls,
        sum(ptp_made) as ptp_made,
        sum(ptp_due) as ptp_due,
        sum(ptp_kept) as ptp_kept,
        sum(over_cap_calls) as over_cap_calls,
        sum(own_over_cap_calls) as own_over_cap_calls,
        sum(off_hours_calls) as off_hours_calls,
        sum(complaints) as complaints,
        sum(qa_flagged_calls) as qa_flagged_calls,
        sum(privacy_incidents) as privacy_incidents,
        sum(major_violations) as major_violations,
        sum(surveys) as surveys,
        sum(csat_avg * surveys) as csat_points,
        sum(mandatory_due) as mandatory_due,
        sum(mandatory_passed) as mandatory_passed,
        sum(total_cost)::decimal(18, 2) as total_cost,
        sum(field_visit_share * total_cost) as field_visit_cost,
        sum(relief_plans) as relief_plans,
        sum(social_referrals) as social_referrals
    from agents
    group by all
),

team_of_agent as (
    select agent_id, coalesce(team_id, '(no team)') as team_id from agents
),

-- each case once ------------------------------------------------------------------------------

team_cases as (
    -- the team's distinct cases held in the month; the amount due is the term of the case's
    -- first assignment in the month among the team's agents (by assigned_at, then id)
    select o.team_id, t.case_id, arg_min(t.term, (t.assigned_at, t.assignment_id)) as term
    from intermediate.assignment_terms($month_start::date, $month_end::date) t
    join team_of_agent o using (agent_id)
    group by all
),

case_totals as (
    select team_id, count(*) as cases_assigned, sum(term)::decimal(18, 2) as amount_due
    from team_cases
    group by all
),

handled_cases as (
    -- the team's distinct cases among its agents' calls in the month (intermediate.handled_cases)
    select distinct o.team_id, h.case_id, h.hardship_flag as hardship, h.relieved
    from intermediate.handled_cases($month_start::date, $month_end::date) h
    join team_of_agent o using (agent_id)
),

handled_totals as (
    select
        h.team_id,
        count(*) as cases_handled,
        count(*) filter (where h.hardship) as hardship_cases_handled,
        count(*) filter (where h.hardship and h.relieved) as relieved_hardship_cases
    from handled_cases h
    group by all
),

as_of as (
    -- open tickets are judged at the month's end, or at the newest ticket data for the month
    -- to date, so that re-running a month gives the same answer
    select least(
        b.month_end::timestamp,
        coalesce((select max(_business_date) from staging.tickets) + interval 1 day,
                 b.month_end::timestamp)
    ) as at
    from bounds b
),

sla as (
    select s.ticket_type, s.hours from (select unnest($sla_hours) as s)
),

tickets as (
    select
        o.team_id,
        t.ticket_type,
        t.opened_at,
        t.closed_at,
        date_diff('second', t.opened_at, t.closed_at) / 3600.0 as response_h
    from staging.tickets t
    join team_of_agent o using (agent_id)
    cross join bounds b
    where t.opened_at >= b.month_start and t.opened_at < b.month_end
),

response as (
    select
        team_id,
        median(response_h) filter (where ticket_type = 'legal_signoff') as legal_signoff_median_h,
        quantile_cont(response_h, 0.9) filter (where ticket_type = 'legal_signoff')
            as legal_signoff_p90_h,
        median(response_h) filter (where ticket_type = 'fee_waiver') as fee_waiver_median_h,
        quantile_cont(response_h, 0.9) filter (where ticket_type = 'fee_waiver')
            as fee_waiver_p90_h,
        median(response_h) filter (where ticket_type = 'restructuring_approval')
            as restructuring_approval_median_h,
        quantile_cont(response_h, 0.9) filter (where ticket_type = 'restructuring_approval')
            as restructuring_approval_p90_h,
        count(*) as tickets_opened
    from tickets
    group by all
),

past_sla as (
    -- any ticket of the team's agents (opened in any month) still open at as_of beyond its SLA
    select o.team_id, count(*) as open_tickets_past_sla
    from staging.tickets t
    join team_of_agent o using (agent_id)
    join sla s using (ticket_type)
    cross join as_of a
    where t.opened_at < a.at
        and (t.closed_at is null or t.closed_at >= a.at)
        and date_diff('second', t.opened_at, a.at) > s.hours * 3600
    group by all
),

mismatches as (
    select coalesce(team_id, '(no team)') as team_id, count(*) as skill_risk_mismatches
    from marts.skill_risk_mismatches
    where month = $month_start::date
    group by all
),

complaint_resolution as (
    -- the team's agents' complaints (intermediate.complaint_resolution): hours to resolution of
    -- those received in the month, the share of those due resolved on time, and those (received
    -- in any month) open past the deadline at the month's end
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
    from intermediate.complaint_resolution($month_start::date, $month_end::date,
                                           $complaint_deadline_days) r
    join team_of_agent o using (agent_id)
    group by all
),

resolution_delivered as (
    -- whether the lender sends complaints.resolved_at at all: without it, NULL, never 0
    select coalesce(bool_or(resolution_delivered), false) as delivered
    from intermediate.complaint_resolution($month_start::date, $month_end::date,
                                           $complaint_deadline_days)
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
        s.collected_m6plus,
        s.credited_collections,
        s.call_attempts,
        s.connected_calls,
        s.rpc_calls,
        (s.rpc_calls / nullif(s.call_attempts, 0))::double as rpc_rate,
        s.effective_calls,
        coalesce(h.cases_handled, 0) as cases_handled,
        s.ptp_made,
        s.ptp_due,
        s.ptp_kept,
        (s.ptp_kept / nullif(s.ptp_due, 0))::double as ptp_kept_rate,
        s.over_cap_calls,
        s.own_over_cap_calls,
        s.off_hours_calls,
        s.complaints,
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
        (s.field_visit_cost / nullif(s.total_cost, 0))::double as field_visit_share,
        coalesce(h.hardship_cases_handled, 0) as hardship_cases_handled,
        s.relief_plans,
        s.social_referrals,
        (h.relieved_hardship_cases / nullif(h.hardship_cases_handled, 0))::double
            as relief_rate,
        coalesce(r.tickets_opened, 0) as tickets_opened,
        r.legal_signoff_median_h,
        r.legal_signoff_p90_h,
        r.fee_waiver_median_h,
        r.fee_waiver_p90_h,
        r.restructuring_approval_median_h,
        r.restructuring_approval_p90_h,
        coalesce(p.open_tickets_past_sla, 0) as open_tickets_past_sla,
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
    left join past_sla p using (team_id)
    left join mismatches m using (team_id)
    left join complaint_resolution cr using (team_id)
)

select * from final
