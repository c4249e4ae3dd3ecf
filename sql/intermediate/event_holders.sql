-- intermediate.event_holders: the assignment holding the case when an event happened, for the
-- events that are attributed to a case holder: payments (at paid_at) and complaints that name no
-- agent (at received_at). Held means assigned_at <= t < held_until (intermediate.case_holdings);
-- if overlapping assignments hold it (a data-quality failure), the latest assigned_at wins,
-- then the highest assignment_id. The one definition of "who held the case at time t".

with

events as (
    select 'payment' as kind, payment_id as event_id, case_id, paid_at as at
    from staging.repayments
    where payment_type = 'payment'
    union all
    select 'complaint', complaint_id, case_id, received_at
    from staging.complaints
    where agent_id is null
)

select e.kind, e.event_id, a.assignment_id, a.agent_id
from events e
join intermediate.case_holdings a
    on a.case_id = e.case_id
    and a.assigned_at <= e.at
    and e.at < a.held_until
qualify row_number() over (
    partition by e.kind, e.event_id order by a.assigned_at desc, a.assignment_id desc
) = 1
