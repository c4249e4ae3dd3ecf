-- intermediate.complaint_attribution: every complaint with the agent it counts against.
-- The agent named in the complaint when given; otherwise the agent holding the case when it was
-- received (latest assigned_at, then highest assignment_id, if assignments overlap); NULL when
-- neither is known (the centre summary counts those as unattributed).

with

holder as (
    select c.complaint_id, a.agent_id
    from staging.complaints c
    join intermediate.case_holdings a
        on a.case_id = c.case_id
        and a.assigned_at <= c.received_at
        and c.received_at < a.held_until
    where c.agent_id is null
    qualify row_number() over (
        partition by c.complaint_id order by a.assigned_at desc, a.assignment_id desc
    ) = 1
)

select
    c.complaint_id,
    c.case_id,
    c.received_at,
    c.channel,
    c.category,
    c.severity,
    c.substantiated,
    coalesce(c.agent_id, h.agent_id) as agent_id,
    case
        when c.agent_id is not null then 'named'
        when h.agent_id is not null then 'case_holder'
    end as attributed_by
from staging.complaints c
left join holder h using (complaint_id)
