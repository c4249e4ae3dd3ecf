-- intermediate.case_holdings: who holds which case from when to when ("case held at time t").
-- A case is held by an assignment at time t when assigned_at <= t < held_until; an open
-- assignment is held until 9999-12-31. Every attribution (payments, complaints) joins here.

select
    assignment_id,
    case_id,
    agent_id,
    assigned_at,
    coalesce(released_at, timestamp '9999-12-31') as held_until,
    dpd_at_assignment,
    amount_due,
    bucket_of(dpd_at_assignment) as bucket
from staging.assignments
