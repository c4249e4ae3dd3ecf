-- marts.center_month_summary: one row per month for the whole centre. Sums over the teams,
-- ratios recomputed from sums, plus what no agent owns (unattributed payments and complaints,
-- over-cap calls no single agent could see) and the reconciliation totals that prove nothing
-- disappeared. Cases are counted once over all agents: a case that moved between agents or
-- teams in the month is one case.

with

bounds as (select $month_start::date as month_start, $month_end::date as month_end),

teams as (select * from marts.team_month_metrics where month = $month_start::date),

sums as (
    select
        count(*) as teams,
        -- the teams' counts and amounts, summed under their own names
        sum(columns(['agents', 'vetoed_agents', 'collected', 'collected_m6plus',
                     'credited_collections', 'call_attempts', 'connected_calls', 'rpc_calls',
                     'ptp_due', 'ptp_kept', 'over_cap_calls', 'own_over_cap_calls',
                     'off_hours_calls', 'complaints', 'qa_flagged_calls', 'privacy_incidents',
                     'major_violations', 'surveys', 'mandatory_due', 'mandatory_passed',
                     'total_cost', 'relief_plans', 'social_referrals', 'tickets_opened',
                     'open_tickets_past_sla', 'skill_risk_mismatches'])),
        sum(columns(['amount_due_exposure', 'agent_cases_handled'])),
        sum(field_visit_share * total_cost) as field_visit_cost,
        sum(csat_avg * surveys) as csat_points
    from teams
),

-- each case once (intermediate.centre_cases) --------------------------------------------------

case_totals as (
    select * from intermediate.centre_cases($month_start::date, $month_end::date)
),

unowned as (
    -- what no agent owns and the centre's own totals (intermediate.centre_unowned)
    select * from intermediate.centre_unowned($month_start::date, $month_end::date,
                                              $answered_cap, $unanswered_cap, $legal_start,
                                              $legal_end)
),

complaint_resolution as (
    -- every complaint (intermediate.complaint_resolution): hours to resolution of those received
    -- in the month, the share due resolved on time, those open past the deadline at month end
    -- (received in any month); NULL when the lender never sends complaints.resolved_at
    select
        median(resolution_h) filter (where received_in_month) as complaint_resolution_median_h,
        quantile_cont(resolution_h, 0.9) filter (where received_in_month)
            as complaint_resolution_p90_h,
        (count(*) filter (where due and resolved_on_time)
            / nullif(count(*) filter (where due), 0))::double
            as complaints_resolved_on_time_share,
        case when coalesce(bool_or(resolution_delivered), false)
            then count(*) filter (where open_past_deadline) end
            as open_complaints_past_deadline
    from intermediate.complaint_resolution($month_start::date, $month_end::date,
                                           $complaint_deadline_days)
),

fairness as (
    -- the fairness diagnostics of the month (marts.fairness_diagnostics)
    select * from marts.fairness_diagnostics where month = $month_start::date
),

final as (
    select
        b.month_start as month,
        coalesce(s.teams, 0) as teams,
        coalesce(s.agents, 0) as agents,
        coalesce(s.vetoed_agents, 0) as vetoed_agents,
        coalesce(ca.cases_assigned, 0) as cases_assigned,
        coalesce(ca.amount_due, 0)::decimal(18, 2) as amount_due,
        coalesce(s.collected, 0)::decimal(18, 2) as collected,
        (s.collected / nullif(ca.amount_due, 0))::double as recovery_rate,
        -- 7.0: on exposure, a sum over the teams: the centre lies between its teams
        coalesce(s.amount_due_exposure, 0)::decimal(18, 2) as amount_due_exposure,
        (s.collected / nullif(s.amount_due_exposure, 0))::double as exposure_recovery_rate,
        coalesce(s.collected_m6plus, 0)::decimal(18, 2) as collected_m6plus,
        coalesce(s.credited_collections, 0)::decimal(18, 2) as credited_collections,
        coalesce(s.call_attempts, 0) as call_attempts,
        coalesce(s.connected_calls, 0) as connected_calls,
        (s.rpc_calls / nullif(s.call_attempts, 0))::double as rpc_rate,
        (s.ptp_kept / nullif(s.ptp_due, 0))::double as ptp_kept_rate,
        coalesce(s.over_cap_calls, 0) as over_cap_calls,
        coalesce(s.own_over_cap_calls, 0) as own_over_cap_calls,
        -- breaches no single agent could see: the dialler's governance, not an agent's fault
        coalesce(s.over_cap_calls - s.own_over_cap_calls, 0) as cross_agent_over_cap_calls,
        u.cross_agent_answered_over_cap_calls,
        coalesce(s.off_hours_calls, 0) as off_hours_calls,
        coalesce(s.complaints, 0) as complaints,
        (1000.0 * s.complaints / nullif(ca.cases_handled, 0))::double as complaints_per_1k_cases,
        (s.qa_flagged_calls / nullif(s.connected_calls, 0))::double as threat_ratio,
        coalesce(s.privacy_incidents, 0) as privacy_incidents,
        coalesce(s.major_violations, 0) as major_violations,
        (s.csat_points / nullif(s.surveys, 0))::double as csat_avg,
        (s.mandatory_passed / nullif(s.mandatory_due, 0))::double as mandatory_pass_rate,
        coalesce(s.total_cost, 0)::decimal(18, 2) as total_cost,
        (s.total_cost / nullif(ca.cases_handled, 0))::double as cost_per_case,
        coalesce(s.agent_cases_handled, 0) as agent_cases_handled,
        (s.total_cost / nullif(s.agent_cases_handled, 0))::double as cost_per_agent_case,
        (s.field_visit_cost / nullif(s.total_cost, 0))::double as field_visit_share,
        coalesce(ca.cases_handled, 0) as cases_handled,
        coalesce(ca.hardship_cases_handled, 0) as hardship_cases_handled,
        coalesce(s.relief_plans, 0) as relief_plans,
        coalesce(s.social_referrals, 0) as social_referrals,
        (ca.relieved_hardship_cases / nullif(ca.hardship_cases_handled, 0))::double
            as relief_rate,
        coalesce(s.tickets_opened, 0) as tickets_opened,
        coalesce(s.open_tickets_past_sla, 0) as open_tickets_past_sla,
        coalesce(s.skill_risk_mismatches, 0) as skill_risk_mismatches,
        u.unattributed_collected,
        u.unattributed_payment_events,
        u.complaints_received,
        u.unattributed_complaints,
        cr.complaint_resolution_median_h,
        cr.complaint_resolution_p90_h,
        cr.complaints_resolved_on_time_share,
        cr.open_complaints_past_deadline,
        u.net_repayments,
        (u.net_repayments - coalesce(s.collected, 0) - u.unattributed_collected)::decimal(18, 2)
            as reconciliation_gap,
        u.calls_in_month,
        u.calls_in_month - coalesce(s.call_attempts, 0) as calls_gap,
        f.rho_composite_m6plus_share,
        f.rho_composite_difficulty,
        f.eta_composite_team,
        -- the portfolio when |rho| is above fairness.warn_above; the team when its share of the
        -- variance is above what chance gives with these teams
        case
            when greatest(abs(f.rho_composite_m6plus_share), abs(f.rho_composite_difficulty))
                    > $fairness_warn_above
                or f.team_share_of_variance > f.team_share_by_chance
            then 'the composite follows the portfolio or the team more than skill should: '
                || 'rho M6+ share ' || f.rho_composite_m6plus_share
                || ', rho difficulty ' || f.rho_composite_difficulty
                || ', team share of variance ' || f.team_share_of_variance
                || ' (chance ' || f.team_share_by_chance || ')'
        end as fairness_warning,
        -- version 3: on cases their holder never contacted (the centre's, not an agent's merit)
        (select coalesce(sum(uncontacted_collections), 0)::decimal(18, 2)
         from marts.agent_month_metrics where month = $month_start::date)
            as uncontacted_collections,
        f.team_share_of_variance,
        f.team_share_by_chance
    from bounds b
    cross join sums s
    cross join case_totals ca
    cross join unowned u
    cross join complaint_resolution cr
    left join fairness f on true
)

select * from final
