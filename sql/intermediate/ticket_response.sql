-- intermediate.ticket_response(month_start, month_end, sla_hours): the middle office's response
-- to the agents' tickets, one row per ticket that counts in the month: opened in
-- [month_start, month_end) (with its hours to closure), or, opened in any month, still open
-- beyond its SLA (sla_hours: metrics.ticket_sla_hours) when the month is judged. Open tickets
-- are judged at the month's end, or at the newest ticket data for the month to date, so that
-- re-running a month gives the same answer.

with

as_of as (
    select least(
        month_end::timestamp,
        coalesce((select max(_business_date) from staging.tickets) + interval 1 day,
                 month_end::timestamp)
    ) as at
),

sla as (
    select s.ticket_type, s.hours from (select unnest(sla_hours) as s)
),

judged as (
    select
        t.agent_id,
        t.ticket_type,
        t.opened_at >= month_start::date and t.opened_at < month_end::date as opened_in_month,
        date_diff('second', t.opened_at, t.closed_at) / 3600.0 as response_h,
        coalesce(t.opened_at < a.at
                 and (t.closed_at is null or t.closed_at >= a.at)
                 and date_diff('second', t.opened_at, a.at) > s.hours * 3600, false)
            as open_past_sla
    from staging.tickets t
    cross join as_of a
    left join sla s using (ticket_type)
)

select * from judged where opened_in_month or open_past_sla
