-- intermediate.payment_attribution: every repayment event with the assignment it counts for.
-- A payment counts for the assignment holding its case at paid_at (intermediate.event_holders).
-- A reversal follows the payment it reverses (claw-back from the same assignment). An event
-- whose payment no assignment held is unattributed (NULL assignment).

with

payment_holder as (
    -- who held the case when the payment was made (intermediate.event_holders)
    select event_id as payment_id, assignment_id
    from intermediate.event_holders
    where kind = 'payment'
)

select
    r.payment_id,
    r.case_id,
    r.paid_at,
    r.payment_type,
    case when r.payment_type = 'reversal' then -r.amount else r.amount end as signed_amount,
    h.assignment_id,
    a.agent_id,
    a.bucket
from staging.repayments r
left join payment_holder h
    on h.payment_id = case when r.payment_type = 'reversal' then r.reversal_of else r.payment_id end
left join intermediate.case_holdings a using (assignment_id)
