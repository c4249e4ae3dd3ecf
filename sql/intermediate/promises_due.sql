-- intermediate.promises_due(month_start, month_end, commit_min_s, commit_min_share): every
-- promise to pay due in the month (a call with ptp_amount > 0, of any month), with whether it is
-- a commitment (version 3, "gaming does not pay"): made on a call of at least commit_min_s
-- seconds for at least commit_min_share of the amount due on the case's holding at the call (the
-- latest holding; the share is not judged on a case nobody held at the call). The one
-- definition intermediate.agent_promises and intermediate.agent_commitments read.

select
    c.call_id, c.agent_id, c.case_id, c.started_at, c.ptp_amount, c.ptp_due_date,
    c.duration_s >= commit_min_s
        and c.ptp_amount >= commit_min_share * coalesce(h.amount_due, 0) as commitment
from staging.calls c
left join intermediate.case_holdings h
    on h.case_id = c.case_id and h.assigned_at <= c.started_at and c.started_at < h.held_until
where c.ptp_amount > 0
    and c.ptp_due_date >= month_start::date and c.ptp_due_date < month_end::date
qualify row_number() over (partition by c.call_id order by h.assigned_at desc,
                                                            h.assignment_id desc) = 1
