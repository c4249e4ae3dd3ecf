-- intermediate.month_holdings(month_start, month_end): each holding of a case in the month
-- (intermediate.assignment_terms), cut to the month: from its assignment or the month's start,
-- to its release or the month's end. What intermediate.agent_reach and
-- intermediate.agent_commitments count cases held on.

select
    agent_id,
    case_id,
    bucket,
    greatest(assigned_at, month_start::timestamp) as held_from,
    least(held_until, month_end::timestamp) as held_to
from intermediate.assignment_terms(month_start::date, month_end::date)
