-- intermediate.payment_attribution: every repayment event with the assignment it counts for.
-- A payment counts for the assignment holding its case at paid_at; if overlapping assignments
-- hold it (a data-quality failure), the latest assigned_at wins, then the highest
-- assignment_id. A reversal follows the payment it reverses (claw-back from the same
-- assignment). An event whose payment no assignment held is unattributed (NULL assignment).

with

payment_holder as (
    select p.payment_id, a.assignment_id
    from staging.repayments p
    join intermediate.case_holdings a
        on a.case_id = p.case_id
        and a.assigned_at <= p.paid_at
        and p.paid_at < a.held_until
    where p.payment_type = 'payment'
    qualify row_number() over (
        partition by p.payment_id order by a.assigned_at desc, a.assignment_id desc
    ) = 1
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
