-- marts.agent_month_pay: base + variable performance pay + retention (deferred) bonus, for the
-- agents with an active day in the month (version 3: no pay row for the others).
--   base_paid       = base_salary x active_days / days in the month ($base_proration
--                     'active_days'; 'full': base_salary), to the cent
--   target_pay      = base_salary / (1 - $variable_share)
--   variable_target = target_pay x $variable_share
--   variable_earned = variable_target x payout factor of the grade ($payout_factors)
--   deferred        = variable_earned x $deferred_share, held to the year end; paid_now = rest
--   veto            : the month's variable pay and the deferred pool of the calendar year so far
--                     are forfeited (paid_now = deferred = 0)
--   conduct gate    : (version 3, marts.agent_month_scorecard.conduct_gate_code) no variable pay
--                     for the month (payout factor 0); the deferred pool is kept
-- The pool before the month is the ytd_deferred_pool of the agent's latest earlier month of the
-- same year, so months are built in order. Seed example: base 1,500, factor 1.0 ->
-- 2,500 / 1,000 / 800 / 200.

with

card as (
    select agent_id, month, grade, veto, conduct_gate_code, active_days
    from marts.agent_month_scorecard
    where month = $month_start::date and active_days > 0
),

salary as (
    -- base salary from the latest roster snapshot on or before the month's last day
    select a.agent_id, a.base_salary
    from intermediate.roster_at(($month_end::date - interval 1 day)::date) a
),

factors as (
    select f.grade, f.factor from (select unnest($payout_factors) as f)
),

pool_before as (
    select p.agent_id, p.ytd_deferred_pool
    from marts.agent_month_pay p
    where p.month < $month_start::date and year(p.month) = year($month_start::date)
    qualify row_number() over (partition by p.agent_id order by p.month desc) = 1
),

amounts as (
    select
        c.agent_id,
        c.month,
        c.grade,
        c.veto,
        coalesce(s.base_salary, 0) as base_salary,
        c.active_days,
        coalesce(s.base_salary, 0) / (1 - $variable_share) as target_pay,
        coalesce(s.base_salary, 0) / (1 - $variable_share) * $variable_share as variable_target,
        c.conduct_gate_code,
        -- not appraised (no grade) or stopped by the conduct gate: no variable pay
        case when c.conduct_gate_code is not null then 0 else coalesce(f.factor, 0) end
            as payout_factor,
        coalesce(b.ytd_deferred_pool, 0) as pool_before
    from card c
    left join salary s using (agent_id)
    left join factors f using (grade)
    left join pool_before b using (agent_id)
),

final as (
    select
        agent_id,
        month,
        grade,
        base_salary::decimal(18, 2) as base_salary,
        active_days,
        round(case when $base_proration = 'full' then base_salary
                   else base_salary * active_days
                       / date_diff('day', $month_start::date, $month_end::date) end,
              2)::decimal(18, 2) as base_paid,
        round(target_pay, 2)::decimal(18, 2) as target_pay,
        round(variable_target, 2)::decimal(18, 2) as variable_target,
        payout_factor,
        conduct_gate_code,
        round(variable_target * payout_factor, 2)::decimal(18, 2) as variable_earned,
        -- the rest of the earned pay after the deferred part, so that paid_now + deferred =
        -- variable_earned to the cent (rounding both shares separately can lose a cent)
        case when veto then 0
             else round(variable_target * payout_factor, 2)
                 - round(variable_target * payout_factor * $deferred_share, 2)
        end::decimal(18, 2) as paid_now,
        case when veto then 0
             else round(variable_target * payout_factor * $deferred_share, 2)
        end::decimal(18, 2) as deferred,
        case when veto then round(variable_target * payout_factor, 2) + pool_before
             else 0
        end::decimal(18, 2) as forfeited,
        case when veto then 0
             else pool_before + round(variable_target * payout_factor * $deferred_share, 2)
        end::decimal(18, 2) as ytd_deferred_pool
    from amounts
)

select * from final
