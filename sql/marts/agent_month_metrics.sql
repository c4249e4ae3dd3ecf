-- marts.agent_month_metrics: one row per (agent_id, month), as the metric dictionary defines it
-- (column definitions in agent_month_metrics.yaml beside this file, docs/metrics.md).
-- Each concern is an intermediate model of its own, joined here per agent:
--   recovery   intermediate.agent_recovery     (amount due, collected, credited by bucket)
--   contact    intermediate.agent_contact      (calls, over-cap, off-hours, cases handled)
--              intermediate.agent_reach        (cases attempted, reached, expected reached)
--              intermediate.agent_contact_rules (version 3: the legal contact rules)
--   promises   intermediate.agent_promises, agent_commitments (7.0: kept per case held)
--   conduct    intermediate.agent_conduct      (complaints, QA flags, violations)
--   the rest   intermediate.agent_development  (surveys, training, cost, relief plans)
--   aging      intermediate.aging_stretches    (version 2: needs cases snapshots with dpd)
-- This file makes the rates from their counts and decides who has a row. Timestamps are local.
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

roster as (
    -- each agent's row in the latest snapshot dated on or before the month's last day
    select * from intermediate.roster_at(($month_end::date - interval 1 day)::date)
),

recovery as materialized (
    select * from intermediate.agent_recovery($month_start::date, $month_end::date,
                                              $bucket_weights, $effective_min_s)
),

contact as materialized (
    select * from intermediate.agent_contact($month_start::date, $month_end::date, $contact_cap,
                                             $hours_start, $hours_end, $effective_min_s)
),

contact_rules as materialized (
    select * from intermediate.agent_contact_rules($month_start::date, $month_end::date,
        $answered_cap, $unanswered_cap, $legal_start, $legal_end)
),

promises as materialized (
    select * from intermediate.agent_promises($month_start::date, $month_end::date, $sla_hours,
                                              $commit_min_s, $commit_min_share)
),

commitments as materialized (
    select * from intermediate.agent_commitments($month_start::date, $month_end::date,
                                                 $commit_min_s, $commit_min_share)
),

reach as materialized (
    select * from intermediate.agent_reach($month_start, $month_end, $effective_min_s, $reach_load_bands)
),

conduct as materialized (
    select * from intermediate.agent_conduct($month_start::date, $month_end::date, $qa_labels,
                                             $qa_threshold)
),

development as materialized (
    select * from intermediate.agent_development($month_start::date, $month_end::date,
                                                 $quarter_start::date)
),

dpd_sent as (
    -- NULL aging measures, never 0, when the lender sends no dpd: no case of the case master
    -- as of the month's last day carries one
    select exists (
        select 1 from intermediate.case_master_at(($month_end::date - interval 1 day)::date)
        where dpd is not null
    ) as sent
),

aging as (
    select
        agent_id,
        count(*) as aging_cases,
        count(*) filter (where closing_rank < opening_rank) as aging_reduced,
        count(*) filter (where closing_rank > opening_rank) as rolled_forward
    from intermediate.aging_stretches($month_start::date, $month_end::date)
    group by all
),

month_agents as (
    -- every active agent of the roster file, and every agent with an assignment, a payment,
    -- a call, an attributed complaint or (beyond the dictionary's list, so a one-vote veto is
    -- never lost) a confirmed violation in the month
    select agent_id from roster where status = 'active' and in_roster_file
    union select agent_id from recovery
    union select agent_id from contact
    union select agent_id from conduct
),

final as (
    select
        m.agent_id,
        $month_start::date as month,
        r.team_id,
        r.level,
        coalesce(rc.cases_assigned, 0) as cases_assigned,
        coalesce(rc.amount_due, 0)::decimal(18, 2) as amount_due,
        coalesce(rc.collected, 0)::decimal(18, 2) as collected,
        (coalesce(rc.collected, 0) / nullif(rc.amount_due, 0))::double as recovery_rate,
        coalesce(rc.amount_due_exposure, 0)::decimal(18, 2) as amount_due_exposure,
        (coalesce(rc.collected, 0) / nullif(rc.amount_due_exposure, 0))::double
            as exposure_recovery_rate,
        coalesce(rc.collected_m6plus, 0)::decimal(18, 2) as collected_m6plus,
        coalesce(rc.credited_collections, 0)::decimal(18, 2) as credited_collections,
        coalesce(ct.call_attempts, 0) as call_attempts,
        coalesce(ct.connected_calls, 0) as connected_calls,
        coalesce(ct.rpc_calls, 0) as rpc_calls,
        (ct.rpc_calls / nullif(ct.call_attempts, 0))::double as rpc_rate,
        coalesce(ct.talk_time_s, 0)::bigint as talk_time_s,
        coalesce(ct.effective_calls, 0) as effective_calls,
        coalesce(ct.cases_handled, 0) as cases_handled,
        coalesce(ct.ptp_made, 0) as ptp_made,
        coalesce(pr.ptp_due, 0) as ptp_due,
        coalesce(pr.ptp_kept, 0) as ptp_kept,
        (pr.ptp_kept / nullif(pr.ptp_due, 0))::double as ptp_kept_rate,
        coalesce(pr.ptp_neutralised, 0) as ptp_neutralised,
        (pr.ptp_kept / nullif(pr.ptp_due - pr.ptp_neutralised, 0))::double
            as ptp_kept_rate_adjusted,
        coalesce(ct.over_cap_calls, 0) as over_cap_calls,
        coalesce(ct.own_over_cap_calls, 0) as own_over_cap_calls,
        coalesce(ct.off_hours_calls, 0) as off_hours_calls,
        (coalesce(ct.over_cap_calls, 0) / nullif(ct.call_attempts, 0))::double as over_cap_rate,
        (coalesce(ct.own_over_cap_calls, 0) / nullif(ct.call_attempts, 0))::double
            as own_over_cap_rate,
        (ct.off_hours_calls / nullif(ct.call_attempts, 0))::double as off_hours_rate,
        coalesce(cr.answered_over_cap_calls, 0) as answered_over_cap_calls,
        coalesce(cr.unanswered_over_cap_calls, 0) as unanswered_over_cap_calls,
        coalesce(cr.curfew_calls, 0) as curfew_calls,
        coalesce(cr.contact_rule_breaches, 0) as contact_rule_breaches,
        (coalesce(cr.contact_rule_breaches, 0) / nullif(ct.call_attempts, 0))::double
            as contact_rule_breach_rate,
        coalesce(cd.complaints, 0) as complaints,
        (1000.0 * coalesce(cd.complaints, 0) / nullif(ct.cases_handled, 0))::double
            as complaints_per_1k_cases,
        coalesce(cd.qa_flagged_calls, 0) as qa_flagged_calls,
        (coalesce(cd.qa_flagged_calls, 0) / nullif(ct.connected_calls, 0))::double
            as threat_ratio,
        (coalesce(cd.privacy_violations, 0) + coalesce(cd.privacy_complaints, 0))::bigint
            as privacy_incidents,
        coalesce(cd.suspected_privacy_calls, 0) as suspected_privacy_calls,
        coalesce(cd.major_violations, 0) as major_violations,
        coalesce(cd.major_violations, 0) > 0 as veto,
        coalesce(dv.surveys, 0) as surveys,
        dv.csat_avg::double as csat_avg,
        coalesce(dv.mandatory_due, 0) as mandatory_due,
        coalesce(dv.mandatory_passed, 0) as mandatory_passed,
        (dv.mandatory_passed / nullif(dv.mandatory_due, 0))::double as mandatory_pass_rate,
        dv.simulation_score::double as simulation_score,
        coalesce(dv.total_cost, 0)::decimal(18, 2) as total_cost,
        (coalesce(dv.total_cost, 0) / nullif(ct.cases_handled, 0))::double as cost_per_case,
        (dv.field_visit_cost / nullif(dv.total_cost, 0))::double as field_visit_share,
        coalesce(ct.hardship_cases_handled, 0) as hardship_cases_handled,
        coalesce(dv.relief_plans, 0) as relief_plans,
        (ct.relieved_hardship_cases / nullif(ct.hardship_cases_handled, 0))::double
            as relief_rate,
        coalesce(dv.social_referrals, 0) as social_referrals,
        case when ds.sent then coalesce(ag.aging_cases, 0) end as aging_cases,
        case when ds.sent then coalesce(ag.aging_reduced, 0) end as aging_reduced,
        case when ds.sent then coalesce(ag.rolled_forward, 0) end as rolled_forward,
        case when ds.sent then (ag.aging_reduced / nullif(ag.aging_cases, 0))::double end
            as aging_reduction_rate,
        case when ds.sent then (ag.rolled_forward / nullif(ag.aging_cases, 0))::double end
            as roll_forward_rate,
        -- version 3: collections on cases never contacted, contact per case (6.0: against what
        -- the book allows), promises that are commitments (weighed by amount)
        coalesce(rc.uncontacted_collections, 0)::decimal(18, 2) as uncontacted_collections,
        coalesce(rc.uncontacted_payments, 0) as uncontacted_payments,
        coalesce(re.cases_attempted, 0) as cases_attempted,
        coalesce(re.cases_reached, 0) as cases_reached,
        (re.cases_attempted / nullif(re.cases_held, 0))::double as attempted_case_share,
        (re.cases_reached / nullif(re.cases_held, 0))::double as case_reach_rate,
        round(re.expected_cases_reached / nullif(re.cases_held, 0), 9) as expected_case_reach_rate,
        round(re.cases_reached / nullif(re.expected_cases_reached, 0), 9)::double
            as case_reach_vs_expected,
        coalesce(pr.commitments_due, 0) as commitments_due,
        (pr.commitment_paid / nullif(pr.commitment_amount, 0))::double as commitment_kept_rate,
        -- 7.0: commitments kept per case held, against what the book allows
        cm.kept_commitment_cases, cm.kept_commitment_case_rate,
        cm.expected_kept_commitment_case_rate, cm.kept_commitments_vs_expected,
        -- conduct that more lawful calls cannot dilute: per case held, per effective conversation
        (coalesce(cr.contact_rule_breaches, 0) / nullif(rc.cases_assigned, 0))::double
            as contact_rule_breaches_per_case,
        (coalesce(cd.qa_flagged_calls, 0) / nullif(ct.effective_calls, 0))::double
            as effective_threat_ratio
    from month_agents m
    left join roster r using (agent_id)
    left join recovery rc using (agent_id)
    left join contact ct using (agent_id)
    left join contact_rules cr using (agent_id)
    left join promises pr using (agent_id)
    left join reach re using (agent_id)
    left join commitments cm using (agent_id)
    left join conduct cd using (agent_id)
    left join development dv using (agent_id)
    left join aging ag using (agent_id)
    cross join dpd_sent ds
)

select * from final
