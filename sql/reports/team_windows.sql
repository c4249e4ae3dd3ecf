-- "Best windows for your portfolio" on the team report (docs/contact-windows.md): for each team,
-- the month's contact windows (marts.contact_windows) weighted by the team's debtor-segment mix
-- (the cases its agents held in the month, intermediate.month_holdings, by the case's industry
-- as of the month's last day), the best $top per kind of day. rate = the mix-weighted shrunk
-- rate (over the segments with windows: the weights re-spread when a segment has none); the
-- 90% interval is rate +- 1.645 x sqrt(sum of (weight x sd)^2), each window's sd read back from
-- its interval (high - low) / (2 x 1.645): the segments' estimates taken as independent; lift =
-- rate / the mix-weighted segment rates. Bound: $start, $end, $top.
with

held as (
    select distinct a.team_id, h.case_id
    from intermediate.month_holdings($start::date, $end::date) h
    join marts.agent_month_metrics a on a.agent_id = h.agent_id and a.month = $start::date
    where a.team_id is not null
),

mix as (
    select h.team_id, coalesce(m.industry, 'unknown') as segment, count(*) as cases
    from held h
    left join intermediate.case_master_at(($end::date - interval 1 day)::date) m using (case_id)
    group by all
),

windows as (
    select * from marts.contact_windows where month = $start::date
),

weighted as (
    select x.team_id, w.day_kind, w.hour,
        sum(x.cases) as cases,
        sum(x.cases * w.shrunk_rpc_rate) / sum(x.cases) as rate,
        sum(x.cases * w.segment_rpc_rate) / sum(x.cases) as base,
        sqrt(sum(power(x.cases * (w.shrunk_rpc_high - w.shrunk_rpc_low) / (2 * 1.645), 2)))
            / sum(x.cases) as sd
    from mix x
    join windows w using (segment)
    group by all
)

select team_id, day_kind, hour, cases, rate,
    greatest(0, rate - 1.645 * sd) as low,
    least(1, rate + 1.645 * sd) as high,
    rate / nullif(base, 0) as lift,
    row_number() over (partition by team_id, day_kind order by rate desc, hour) as window_rank
from weighted
qualify window_rank <= $top
order by team_id, day_kind, window_rank
