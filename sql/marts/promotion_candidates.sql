-- marts.promotion_candidates: each appraised agent's progress on the next step of the ladder.
--   streak_months: consecutive appraised months ending at M with composite >= the rule's
--   minimum and no veto; a veto, a month below the bar or a month without a scorecard breaks the
--   streak; a month not appraised (grade NA: left, joined, no work, too few cases) neither breaks
--   it nor counts toward it.
--   L3 -> L4 also needs expertise: M6+ capability (>= $m6plus_min M6+ assignments held in the
--   trailing 12 months, recovering at least the centre's median on M6+) or restructuring
--   expertise (>= $restructuring_min completed restructuring plans in the trailing 12 months).
--   The progress is in parts (min_composite, streak_veto_month, expertise_code, expertise_count:
--   the reports word them) and, for analysts, in an English sentence made of them (reason).
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

rules as (
    select r.* from (select unnest($promotion_rules) as r)
),

card as (
    select s.agent_id, s.level, r.to_level, r.min_composite, r.months as required_months,
        r.requires_expertise
    from marts.agent_month_scorecard s
    join rules r on r.from_level = s.level
    where s.month = $month_start::date and s.composite is not null
),

window_months as (
    select c.agent_id, (($month_start::date) - to_months(i::int))::date as month
    from card c, range(0, 36) t(i)
),

history as (
    -- every month of the last 36: on the bar or not (a missing month is not); NA skipped
    select w.agent_id, w.month,
        coalesce(s.composite >= c.min_composite and not s.veto, false) as on_bar,
        coalesce(s.grade = 'NA', false) as not_appraised,
        coalesce(s.veto, false) as vetoed
    from window_months w
    join card c using (agent_id)
    left join marts.agent_month_scorecard s
        on s.agent_id = w.agent_id and s.month = w.month
),

breaks as (
    select agent_id, max(month) filter (where not on_bar and not not_appraised) as last_break
    from history
    group by all
),

streaks as (
    select
        agent_id,
        count(*) filter (where on_bar and month > coalesce(b.last_break, date '0001-01-01'))
            as streak_months,
        max(month) filter (where vetoed) as last_veto
    from history
    left join breaks b using (agent_id)
    group by all
),

m6plus as (
    -- M6+ assignments held in the trailing 12 months and what was collected on M6+
    select
        a.agent_id,
        count(*) as m6plus_assignments,
        sum(a.amount_due) as m6plus_due
    from intermediate.case_holdings a
    where a.bucket = 'M6+'
        and a.assigned_at < $month_start::date + interval 1 month
        and a.held_until > $month_start::date - interval 11 month
    group by all
),

m6plus_rates as (
    select m.agent_id, m.m6plus_assignments,
        sum(c.collected_m6plus) / nullif(m.m6plus_due, 0) as m6plus_recovery
    from m6plus m
    left join marts.agent_month_metrics c
        on c.agent_id = m.agent_id
        and c.month between $month_start::date - interval 11 month and $month_start::date
    group by m.agent_id, m.m6plus_assignments, m.m6plus_due
),

centre as (
    select median(m6plus_recovery) as m6plus_median from m6plus_rates
),

restructurings as (
    select p.agent_id, count(*) as completed_restructurings
    from staging.plans p
    where p.plan_type = 'restructuring' and p.status = 'completed'
        and p.created_at >= $month_start::date - interval 11 month
        and p.created_at < $month_start::date + interval 1 month
    group by all
),

parts as (
    -- the progress in parts: the rule's numbers, the veto that broke the streak, the expertise
    select
        c.agent_id,
        c.level as from_level,
        c.to_level,
        least(s.streak_months, c.required_months) as streak_months,
        c.required_months,
        c.min_composite::double as min_composite,
        s.streak_months >= c.required_months
            and (not c.requires_expertise
                 or (coalesce(m.m6plus_assignments, 0) >= $m6plus_min
                     -- an unknown M6+ recovery is not a shown capability (false, not NULL)
                     and coalesce(m.m6plus_recovery >= k.m6plus_median, false))
                 or coalesce(r.completed_restructurings, 0) >= $restructuring_min)
            as eligible,
        case
            -- a veto within the rule's months (a month of the window: its first day)
            when s.last_veto > $month_start::date - to_months(c.required_months)
                then s.last_veto
        end as streak_veto_month,
        case
            when not c.requires_expertise then null
            when coalesce(m.m6plus_assignments, 0) >= $m6plus_min
                and m.m6plus_recovery >= k.m6plus_median
                then 'm6plus_capability'
            when coalesce(r.completed_restructurings, 0) >= $restructuring_min
                then 'restructuring_expertise'
            else 'needs_expertise'
        end as expertise_code,
        r.completed_restructurings,
        m.m6plus_assignments
    from card c
    join streaks s using (agent_id)
    cross join centre k
    left join m6plus_rates m using (agent_id)
    left join restructurings r using (agent_id)
),

final as (
    select
        agent_id,
        $month_start::date as month,
        from_level,
        to_level,
        streak_months,
        required_months,
        min_composite,
        eligible,
        -- the sentence for analysts, made of the parts beside it
        streak_months || ' of ' || required_months || ' months >= ' || min_composite::int
            || case
                when streak_veto_month is not null
                    then '; veto in ' || strftime(streak_veto_month, '%Y-%m')
                        || ' broke the streak'
                else ''
            end
            || case expertise_code
                when 'm6plus_capability'
                    then '; M6+ capability: ' || m6plus_assignments || ' assignments'
                when 'restructuring_expertise'
                    then '; restructuring expertise: ' || completed_restructurings
                        || ' completed plans'
                when 'needs_expertise'
                    then '; needs M6+ capability or restructuring expertise'
                else ''
            end as reason,
        streak_veto_month,
        expertise_code,
        case expertise_code
            when 'm6plus_capability' then m6plus_assignments
            when 'restructuring_expertise' then completed_restructurings
        end as expertise_count
    from parts
)

select * from final
