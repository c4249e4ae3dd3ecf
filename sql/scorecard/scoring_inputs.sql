-- Per agent and month: what the scorecard needs beyond agent_month_metrics.
--   dynamic recovery target (macro, high-risk industries) and the difficulty coefficient,
--   the high-risk share of the portfolio, restructuring success, veto-list violations.
-- Weights are the exposure of the assignments held in the month (intermediate.assignment_terms:
-- the term times the share of the month held), as in amount_due_exposure. The difficulty
-- coefficient is the portfolio's expected credited recovery per yuan of exposure relative to
-- the centre's: per bucket, recoverability x credited weight (metrics.bucket_weights), so the
-- target is the credited collections the portfolio can be expected to give and the bucket mix
-- cancels out of recovery_vs_target (one difficulty adjustment, not two). It is centred: the
-- centre's exposure-weighted mean is 1.0, and the credit factor (the centre's credited over its
-- plain expected recovery) carries the bucket weights into every target, so the targets are
-- what they were before centring (6.0.0).
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/scoring/scorecard.py says what each one is).

with

bounds as (
    select
        $month_start::date as month_start,
        $month_end::date as month_end,
        year($month_start::date) || 'Q' || quarter($month_start::date) as quarter
),

held as (
    select t.agent_id, t.case_id, (t.term * t.held_share)::double as exposure, t.bucket
    from intermediate.assignment_terms($month_start::date, $month_end::date) t
),

cases as (
    select c.case_id, c.region_code, c.industry
    from intermediate.case_master_at(($month_end::date - interval 1 day)::date) c
),

macro as (
    -- the quarter's latest macro figures; an industry without its own row uses the region's
    select m.* from staging.macro m, bounds b where m.quarter = b.quarter
),

recoverability as (
    select r.bucket, r.value from (select unnest($bucket_recoverability) as r)
),

credit as (
    -- the one lookup of the bucket credit weight, as in the credited collections
    select bucket, weight from intermediate.credit_weights($bucket_weights)
),

case_targets as (
    select
        h.agent_id,
        h.exposure,
        r.value as recoverability,
        coalesce(w.weight, 1.0) as credit_weight,
        list_contains($high_risk_industries, c.industry) as high_risk,
        coalesce(
            power(coalesce(mi.prosperity_index, mr.prosperity_index, 100) / 100.0,
                  $prosperity_elasticity)
            * greatest(0.1, 1 - $unemployment_sensitivity * greatest(0,
                coalesce(mi.unemployment_rate, mr.unemployment_rate, $unemployment_baseline)
                - $unemployment_baseline))
            * power($dso_reference_days
                    / coalesce(mi.dso_benchmark_days, mr.dso_benchmark_days, $dso_reference_days),
                    $dso_elasticity),
            1.0) as macro_factor
    from held h
    left join cases c using (case_id)
    left join macro mi on mi.region_code = c.region_code and mi.industry = c.industry
    left join macro mr on mr.region_code = c.region_code and mr.industry is null
    left join recoverability r using (bucket)
    left join credit w using (bucket)
),

centre as (
    -- the centre's expected recovery per yuan of exposure, plain and credited (bucket weights):
    -- their ratio is the credit factor of every target; the credited one centres the difficulty
    -- coefficient (its exposure-weighted mean over the centre's agents is 1.0)
    select
        sum(recoverability * exposure) / nullif(sum(exposure), 0) as recoverability,
        sum(recoverability * credit_weight * exposure) / nullif(sum(exposure), 0)
            as credited_recoverability
    from case_targets
),

portfolio as (
    select
        agent_id,
        sum(exposure * macro_factor) / nullif(sum(exposure), 0) as macro_factor,
        sum(exposure * case when high_risk then $high_risk_target_factor else 1 end)
            / nullif(sum(exposure), 0) as high_risk_factor,
        sum(exposure) filter (where high_risk) / nullif(sum(exposure), 0) as high_risk_share,
        sum(exposure * recoverability * credit_weight) / nullif(sum(exposure), 0)
            as recoverability
    from case_targets
    group by all
),

restructuring as (
    -- concluded restructuring plans of the trailing 12 months: completed / concluded
    select
        p.agent_id,
        count(*) filter (where p.status = 'completed')
            / nullif(count(*) filter (where p.status in ('completed', 'defaulted', 'cancelled')), 0)
            as restructuring_success_rate,
        count(*) filter (where p.status in ('completed', 'defaulted', 'cancelled'))
            as restructurings_concluded
    from staging.plans p, bounds b
    where p.plan_type = 'restructuring'
        and p.created_at >= b.month_end - interval 12 month and p.created_at < b.month_end
    group by all
),

veto_list as (
    select v.agent_id, count(*) as veto_list_violations, min(v.violation_type) as veto_type
    from staging.violations v, bounds b
    where v.confirmed and list_contains($veto_types, v.violation_type)
        and v.occurred_on >= b.month_start and v.occurred_on < b.month_end
        and not exists (select 1 from intermediate.withdrawn w  -- overturned on appeal
                        where w.subject_type = 'violation' and w.subject_id = v.violation_id)
    group by all
),

left_roster as (
    -- the first roster snapshot showing each agent as left, and HR's leave date when sent
    select agent_id, min(snapshot_date) as first_left, min(left_on) as left_on
    from staging.agents where status = 'left' group by all
),

tenure as (
    -- active days in the month: from max(hire_date, month start) to the day after the last
    -- working day (none: the month's end). The last working day is agents.left_on (version 3)
    -- when HR sends it, else the day of the agent's last call before the first snapshot showing
    -- them left (a weekly roster cannot date a departure), else the day before that snapshot
    select
        r.agent_id,
        r.hire_date,
        (coalesce(l.left_on, (select max(c.started_at)::date from staging.calls c
                              where c.agent_id = l.agent_id and c.started_at < l.first_left),
                  l.first_left - interval 1 day) + interval 1 day)::date as leave_date
    from intermediate.roster_at(($month_end::date - interval 1 day)::date) r
    left join left_roster l using (agent_id)
),

majors as (
    select v.agent_id, min(v.violation_type) as major_type
    from staging.violations v, bounds b
    where v.confirmed and v.severity = 'major'
        and v.occurred_on >= b.month_start and v.occurred_on < b.month_end
        and not exists (select 1 from intermediate.withdrawn w  -- overturned on appeal
                        where w.subject_type = 'violation' and w.subject_id = v.violation_id)
    group by all
),

high_alerts as (
    -- version 3, the conduct gate: the agent's high conduct alerts in the month
    select agent_id, count(*) as high_conduct_alerts
    from marts.conduct_alerts
    where month = $month_start::date and severity = 'high'
    group by all
),

final as (
    -- rounded to 9 places: parallel floating-point sums differ in their last bits from run to
    -- run, and a re-run must give the same table
    select
        m.agent_id,
        round($base_rate * coalesce(p.macro_factor, 1) * coalesce(p.high_risk_factor, 1)
              * coalesce(c.credited_recoverability / nullif(c.recoverability, 0), 1), 9)
            as base_target,
        round(coalesce(p.macro_factor, 1), 9) as macro_factor,
        round(coalesce(p.high_risk_factor, 1), 9) as high_risk_factor,
        round(coalesce(c.credited_recoverability / nullif(c.recoverability, 0), 1), 9)
            as credit_factor,
        round(coalesce(p.high_risk_share, 0), 9) as high_risk_share,
        round(coalesce(p.recoverability / nullif(c.credited_recoverability, 0), 1), 9)
            as difficulty_coefficient,
        r.restructuring_success_rate::double as restructuring_success_rate,
        r.restructurings_concluded,
        coalesce(v.veto_list_violations, 0) as veto_list_violations,
        coalesce(v.veto_type, j.major_type) as veto_violation_type,
        greatest(0, date_diff('day',
            greatest(coalesce(e.hire_date, $month_start::date), $month_start::date),
            least(coalesce(e.leave_date, $month_end::date), $month_end::date))) as active_days,
        e.hire_date > $month_start::date as joined_in_month,
        e.leave_date < $month_end::date as left_by_month_end,
        coalesce(h.high_conduct_alerts, 0) as high_conduct_alerts
    from marts.agent_month_metrics m
    cross join centre c
    left join portfolio p using (agent_id)
    left join restructuring r using (agent_id)
    left join veto_list v using (agent_id)
    left join majors j using (agent_id)
    left join tenure e using (agent_id)
    left join high_alerts h using (agent_id)
    where m.month = $month_start::date
)

select * from final
