-- marts.agent_month_metrics: one row per (agent_id, month), as the metric dictionary defines it
-- (column definitions in agent_month_metrics.yaml beside this file, docs/metrics.md).
-- The shared rules (who holds a case when, payment and complaint attribution, the roster and
-- case master as of the month's end, the over-cap ranking) are the intermediate models in
-- sql/intermediate/.
--
-- Bound parameters:
--   $month_start, $month_end   the month as a half-open interval [start, end) in local time
--   $quarter_start             first day of the month's quarter
--   $bucket_weights            list of {bucket, weight}
--   $contact_cap, $hours_start, $hours_end, $effective_min_s, $qa_labels, $qa_threshold
-- Timestamps are the lender's local time without offset, so plain comparisons are local.

with

-- sources -------------------------------------------------------------------------------------

month_bounds as (
    select
        $month_start::date as month_start,
        $month_end::date as month_end,
        ($month_end::date - interval 1 day)::date as month_last_day,
        $quarter_start::date as quarter_start
),

roster as (
    -- each agent's row in the latest snapshot dated on or before the month's last day
    select * from intermediate.roster_at(($month_end::date - interval 1 day)::date)
),

case_master as (
    -- debtor, hardship flag: the case's latest snapshot on or before the month's last day
    select case_id, debtor_id, hardship_flag, dpd
    from intermediate.case_master_at(($month_end::date - interval 1 day)::date)
),

bucket_weights as (
    select w.bucket, w.weight from (select unnest($bucket_weights) as w)
),

-- payment attribution (intermediate.payment_attribution) -------------------------------------

repayment_events as (
    -- every repayment event, signed, with its assignment (NULL when no assignment held it)
    select payment_id, case_id, paid_at, signed_amount, assignment_id, agent_id, bucket
    from intermediate.payment_attribution
),

attributed_events as (
    select * from repayment_events where assignment_id is not null
),

-- recovery ------------------------------------------------------------------------------------

month_terms as materialized (
    -- the assignments held in the month, their term and the share of the month they were held
    -- (intermediate.assignment_terms)
    select * from intermediate.assignment_terms($month_start::date, $month_end::date)
),

recovery_base as materialized (
    select
        agent_id,
        count(distinct case_id) as cases_assigned,
        sum(term)::decimal(18, 2) as amount_due,
        -- rounded once, at the end
        sum(term * held_share)::decimal(18, 2) as amount_due_exposure
    from month_terms
    group by all
),

collections as materialized (
    select
        e.agent_id,
        sum(e.signed_amount)::decimal(18, 2) as collected,
        coalesce(sum(e.signed_amount) filter (where e.bucket = 'M6+'), 0)::decimal(18, 2)
            as collected_m6plus,
        sum(e.signed_amount * coalesce(w.weight, 1.0))::decimal(18, 2) as credited_collections
    from attributed_events e
    cross join month_bounds b
    left join bucket_weights w using (bucket)
    where e.paid_at >= b.month_start and e.paid_at < b.month_end
    group by all
),

-- contact -------------------------------------------------------------------------------------

month_calls as not materialized (
    -- re-read where used: a column scan costs less than holding a month of calls in memory
    select c.call_id, c.agent_id, c.case_id, c.started_at, c.duration_s, c.outcome, c.ptp_amount
    from staging.calls c, month_bounds b
    where c.started_at >= b.month_start and c.started_at < b.month_end
),

over_cap as materialized (
    -- per agent: calls beyond the daily contact cap per debtor, and those the agent's own calls
    -- alone put over it (intermediate.over_cap_calls); counted apart from the month's calls, so
    -- a month of calls is not joined to them call by call
    select
        agent_id,
        count(*) as over_cap_calls,
        count(*) filter (where own_excess) as own_over_cap_calls
    from intermediate.over_cap_calls($month_start::date, $month_end::date, $contact_cap)
    group by all
),

contact as materialized (
    select
        c.agent_id,
        count(*) as call_attempts,
        count(*) filter (where c.outcome in ('connected_debtor', 'connected_third_party'))
            as connected_calls,
        count(*) filter (where c.outcome = 'connected_debtor') as rpc_calls,
        coalesce(sum(c.duration_s) filter (
            where c.outcome in ('connected_debtor', 'connected_third_party')), 0) as talk_time_s,
        count(*) filter (
            where c.outcome = 'connected_debtor' and c.duration_s >= $effective_min_s
        ) as effective_calls,
        count(*) filter (where c.ptp_amount > 0) as ptp_made,
        count(*) filter (
            where c.started_at::time < $hours_start::time
                or c.started_at::time >= $hours_end::time
        ) as off_hours_calls
    from month_calls c
    group by all
),

handled as materialized (
    -- distinct cases among the agent's calls, with their hardship flag
    -- (intermediate.handled_cases)
    select
        agent_id,
        count(*) as cases_handled,
        count(*) filter (where hardship_flag) as hardship_cases_handled
    from intermediate.handled_cases($month_start::date, $month_end::date)
    group by all
),

-- promises to pay -----------------------------------------------------------------------------

promises_due as (
    select c.call_id, c.agent_id, c.case_id, c.started_at, c.ptp_amount, c.ptp_due_date
    from staging.calls c, month_bounds b
    where c.ptp_amount > 0 and c.ptp_due_date >= b.month_start and c.ptp_due_date < b.month_end
),

promise_outcomes as (
    -- kept when the signed sum of all the case's repayment events (any attribution) from the
    -- call to the end of the due date covers the promised amount
    select
        p.call_id,
        p.agent_id,
        p.case_id,
        p.started_at,
        p.ptp_due_date,
        coalesce(sum(e.signed_amount), 0) >= p.ptp_amount as kept
    from promises_due p
    left join repayment_events e
        on e.case_id = p.case_id
        and e.paid_at >= p.started_at
        and e.paid_at < p.ptp_due_date + interval 1 day
    group by p.call_id, p.agent_id, p.case_id, p.started_at, p.ptp_due_date, p.ptp_amount
),

sla as (
    select s.ticket_type, s.hours from (select unnest($sla_hours) as s)
),

neutralised as (
    -- a broken promise the middle office made impossible: a fee waiver or restructuring
    -- approval of the case, opened between the promise and the end of its due date, still open
    -- at its SLA deadline (closed_at null or after it; closed exactly at it is in time), the
    -- deadline itself before the end of the due date
    select distinct o.call_id
    from promise_outcomes o
    join staging.tickets t
        on t.case_id = o.case_id
        and t.ticket_type in ('fee_waiver', 'restructuring_approval')
        and t.opened_at >= o.started_at
        and t.opened_at < o.ptp_due_date + interval 1 day
    join sla s using (ticket_type)
    where not o.kept
        and t.opened_at + to_seconds((s.hours * 3600)::bigint) < o.ptp_due_date + interval 1 day
        and (t.closed_at is null
             or t.closed_at > t.opened_at + to_seconds((s.hours * 3600)::bigint))
),

promises as materialized (
    select
        o.agent_id,
        count(*) as ptp_due,
        count(*) filter (where o.kept) as ptp_kept,
        count(n.call_id) as ptp_neutralised
    from promise_outcomes o
    left join neutralised n using (call_id)
    group by all
),

-- conduct -------------------------------------------------------------------------------------

attributed_complaints as (
    -- counted unless found unsubstantiated (pending ones count); attributed to the named
    -- agent, else the case holder when received (intermediate.complaint_attribution)
    select c.complaint_id, c.category, c.substantiated, c.agent_id
    from intermediate.complaint_attribution c, month_bounds b
    where c.received_at >= b.month_start and c.received_at < b.month_end
        and c.substantiated is distinct from false
),

complaint_counts as materialized (
    select
        agent_id,
        count(*) as complaints,
        -- telling a debtor's contacts about the debt is the commonest privacy breach
        count(*) filter (
            where category in ('privacy_leak', 'third_party_disclosure') and substantiated
        ) as privacy_complaints
    from attributed_complaints
    where agent_id is not null
    group by all
),

flagged_calls as (
    -- per call with a label above the threshold: whether one is a configured QA label, whether
    -- one is a privacy disclosure
    select
        call_id,
        bool_or(list_contains($qa_labels, label)) as threat,
        bool_or(label = 'privacy_disclosure') as privacy
    from staging.qa_flags
    where confidence >= $qa_threshold
    group by all
),

qa as materialized (
    select
        c.agent_id,
        count(*) filter (where f.threat) as qa_flagged_calls,
        -- for the compliance officer's review, not a confirmed incident
        count(*) filter (where f.privacy) as suspected_privacy_calls
    from month_calls c
    join flagged_calls f using (call_id)
    where c.outcome in ('connected_debtor', 'connected_third_party')
    group by all
),

violations as materialized (
    select
        v.agent_id,
        count(*) filter (where v.violation_type in ('privacy_breach', 'unauthorized_disclosure'))
            as privacy_violations,
        count(*) filter (where v.severity = 'major') as major_violations
    from staging.violations v, month_bounds b
    where v.confirmed and v.occurred_on >= b.month_start and v.occurred_on < b.month_end
    group by all
),

-- satisfaction, skills, cost, relief ----------------------------------------------------------

survey_scores as materialized (
    select agent_id, count(*) as surveys, avg(score) as csat_avg
    from staging.surveys s, month_bounds b
    where s.responded_at >= b.month_start and s.responded_at < b.month_end
    group by all
),

training as materialized (
    select
        t.agent_id,
        count(*) filter (
            where t.course_type = 'mandatory'
                and t.due_date >= b.month_end - interval 12 month and t.due_date < b.month_end
        ) as mandatory_due,
        count(*) filter (
            where t.course_type = 'mandatory'
                and t.due_date >= b.month_end - interval 12 month and t.due_date < b.month_end
                and t.passed and t.completed_on < b.month_end
        ) as mandatory_passed,
        avg(t.score) filter (
            where t.course_type = 'simulation'
                and t.completed_on >= b.quarter_start and t.completed_on < b.month_end
        ) as simulation_score
    from staging.trainings t, month_bounds b
    group by all
),

cost as materialized (
    select
        agent_id,
        sum(amount)::decimal(18, 2) as total_cost,
        coalesce(sum(amount) filter (where cost_type = 'field_visit'), 0) as field_visit_cost
    from staging.costs c, month_bounds b
    where c.incurred_on >= b.month_start and c.incurred_on < b.month_end
    group by all
),

relief as materialized (
    select
        p.agent_id,
        count(*) filter (where m.hardship_flag) as relief_plans,
        count(*) filter (where p.social_referral) as social_referrals
    from staging.plans p
    cross join month_bounds b
    left join case_master m using (case_id)
    where p.created_at >= b.month_start and p.created_at < b.month_end
    group by all
),

-- aging (version 2: needs cases snapshots carrying dpd) --------------------------------------------

dpd_sent as (
    -- NULL aging measures, never 0, when the lender sends no dpd: no case of the case master
    -- as of the month's last day carries one
    select exists (select 1 from case_master where dpd is not null) as sent
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

-- the agents of the month ---------------------------------------------------------------------

month_agents as (
    select agent_id from roster where status = 'active' and in_roster_file
    union select agent_id from month_terms
    union select agent_id from contact
    union select agent_id from collections
    union select agent_id from complaint_counts
    -- beyond the dictionary's list: an agent whose only event is a confirmed violation keeps a
    -- row, so a one-vote veto (major, or a type on the configured veto list) is never lost
    union select agent_id from violations
),

final as (
    select
        m.agent_id,
        b.month_start as month,
        r.team_id,
        r.level,
        coalesce(rb.cases_assigned, 0) as cases_assigned,
        coalesce(rb.amount_due, 0)::decimal(18, 2) as amount_due,
        coalesce(co.collected, 0)::decimal(18, 2) as collected,
        (coalesce(co.collected, 0) / nullif(rb.amount_due, 0))::double as recovery_rate,
        coalesce(rb.amount_due_exposure, 0)::decimal(18, 2) as amount_due_exposure,
        (coalesce(co.collected, 0) / nullif(rb.amount_due_exposure, 0))::double
            as exposure_recovery_rate,
        coalesce(co.collected_m6plus, 0)::decimal(18, 2) as collected_m6plus,
        coalesce(co.credited_collections, 0)::decimal(18, 2) as credited_collections,
        coalesce(ct.call_attempts, 0) as call_attempts,
        coalesce(ct.connected_calls, 0) as connected_calls,
        coalesce(ct.rpc_calls, 0) as rpc_calls,
        (ct.rpc_calls / nullif(ct.call_attempts, 0))::double as rpc_rate,
        coalesce(ct.talk_time_s, 0)::bigint as talk_time_s,
        coalesce(ct.effective_calls, 0) as effective_calls,
        coalesce(h.cases_handled, 0) as cases_handled,
        coalesce(ct.ptp_made, 0) as ptp_made,
        coalesce(pr.ptp_due, 0) as ptp_due,
        coalesce(pr.ptp_kept, 0) as ptp_kept,
        (pr.ptp_kept / nullif(pr.ptp_due, 0))::double as ptp_kept_rate,
        coalesce(pr.ptp_neutralised, 0) as ptp_neutralised,
        (pr.ptp_kept / nullif(pr.ptp_due - pr.ptp_neutralised, 0))::double
            as ptp_kept_rate_adjusted,
        coalesce(oc.over_cap_calls, 0) as over_cap_calls,
        coalesce(oc.own_over_cap_calls, 0) as own_over_cap_calls,
        coalesce(ct.off_hours_calls, 0) as off_hours_calls,
        coalesce(cc.complaints, 0) as complaints,
        (1000.0 * coalesce(cc.complaints, 0) / nullif(h.cases_handled, 0))::double
            as complaints_per_1k_cases,
        coalesce(q.qa_flagged_calls, 0) as qa_flagged_calls,
        (coalesce(q.qa_flagged_calls, 0) / nullif(ct.connected_calls, 0))::double
            as threat_ratio,
        (coalesce(v.privacy_violations, 0) + coalesce(cc.privacy_complaints, 0))::bigint
            as privacy_incidents,
        coalesce(q.suspected_privacy_calls, 0) as suspected_privacy_calls,
        coalesce(v.major_violations, 0) as major_violations,
        coalesce(v.major_violations, 0) > 0 as veto,
        coalesce(s.surveys, 0) as surveys,
        s.csat_avg::double as csat_avg,
        coalesce(t.mandatory_due, 0) as mandatory_due,
        coalesce(t.mandatory_passed, 0) as mandatory_passed,
        (t.mandatory_passed / nullif(t.mandatory_due, 0))::double as mandatory_pass_rate,
        t.simulation_score::double as simulation_score,
        coalesce(cs.total_cost, 0)::decimal(18, 2) as total_cost,
        (coalesce(cs.total_cost, 0) / nullif(h.cases_handled, 0))::double as cost_per_case,
        (cs.field_visit_cost / nullif(cs.total_cost, 0))::double as field_visit_share,
        coalesce(h.hardship_cases_handled, 0) as hardship_cases_handled,
        coalesce(rl.relief_plans, 0) as relief_plans,
        coalesce(rl.social_referrals, 0) as social_referrals,
        case when ds.sent then coalesce(ag.aging_cases, 0) end as aging_cases,
        case when ds.sent then coalesce(ag.aging_reduced, 0) end as aging_reduced,
        case when ds.sent then coalesce(ag.rolled_forward, 0) end as rolled_forward,
        case when ds.sent then (ag.aging_reduced / nullif(ag.aging_cases, 0))::double end
            as aging_reduction_rate,
        case when ds.sent then (ag.rolled_forward / nullif(ag.aging_cases, 0))::double end
            as roll_forward_rate
    from month_agents m
    cross join month_bounds b
    left join roster r using (agent_id)
    left join recovery_base rb using (agent_id)
    left join collections co using (agent_id)
    left join contact ct using (agent_id)
    left join over_cap oc using (agent_id)
    left join promises pr using (agent_id)
    left join complaint_counts cc using (agent_id)
    left join qa q using (agent_id)
    left join violations v using (agent_id)
    left join survey_scores s using (agent_id)
    left join training t using (agent_id)
    left join cost cs using (agent_id)
    left join handled h using (agent_id)
    left join relief rl using (agent_id)
    left join aging ag using (agent_id)
    cross join dpd_sent ds
)

select * from final
