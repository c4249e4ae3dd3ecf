-- marts.roll_rates: the roll-rate matrices (迁徙矩阵) of the month, per team and for the centre:
-- for every holding measured by intermediate.aging_stretches (opening and closing dpd snapshot),
-- opening bucket x closing bucket, with counts and overdue amounts. A case handed over within
-- the month counts once per holding (each holder is measured on their stretch). The team is the
-- holding agent's team_id in agent_month_metrics; scope 'centre' rows (team_id NULL) cover every
-- holding. No rows when the lender sends no dpd (version 2).
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

stretches as (
    select s.*, m.team_id
    from intermediate.aging_stretches($month_start::date, $month_end::date) s
    left join marts.agent_month_metrics m
        on m.agent_id = s.agent_id and m.month = $month_start::date
),

cells as (
    -- one grouping per team and one for the centre; a holding without a team counts in the
    -- centre only
    select
        case when grouping(team_id) = 1 then 'centre' else 'team' end as scope,
        team_id,
        opening_bucket,
        closing_bucket,
        any_value(opening_rank) as opening_rank,
        any_value(closing_rank) as closing_rank,
        count(*) as cases,
        sum(opening_overdue_amount) as opening_overdue_amount,
        sum(closing_overdue_amount) as closing_overdue_amount
    from stretches
    group by grouping sets ((team_id, opening_bucket, closing_bucket),
                            (opening_bucket, closing_bucket))
    having grouping(team_id) = 1 or team_id is not null
),

final as (
    select
        $month_start::date as month,
        scope,
        team_id,
        opening_bucket,
        closing_bucket,
        opening_rank,
        closing_rank,
        cases,
        (cases / sum(cases) over (partition by scope, team_id, opening_bucket))::double
            as share_of_opening,
        opening_overdue_amount::decimal(18, 2) as opening_overdue_amount,
        closing_overdue_amount::decimal(18, 2) as closing_overdue_amount
    from cells
)

select * from final
