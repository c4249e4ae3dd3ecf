-- intermediate.complaint_attribution: every complaint with the agent it counts against.
-- The agent named in the complaint when given; otherwise the agent holding the case when it was
-- received (intermediate.event_holders); NULL when neither is known (the centre summary counts
-- those as unattributed). withdrawn: an appeal overturned it (intermediate.withdrawn); the agent
-- measures leave it out, the centre's counts of complaints received and resolved keep it.

with

holder as (
    -- who held the case when the complaint was received (intermediate.event_holders)
    select event_id as complaint_id, agent_id
    from intermediate.event_holders
    where kind = 'complaint'
)

select
    c.complaint_id,
    c.case_id,
    c.received_at,
    c.channel,
    c.category,
    c.severity,
    c.substantiated,
    c.resolved_at,
    coalesce(c.agent_id, h.agent_id) as agent_id,
    case
        when c.agent_id is not null then 'named'
        when h.agent_id is not null then 'case_holder'
    end as attributed_by,
    -- overturned on appeal: counts against no agent (the centre still received it)
    w.subject_id is not null as withdrawn
from staging.complaints c
left join holder h using (complaint_id)
left join intermediate.withdrawn w
    on w.subject_type = 'complaint' and w.subject_id = c.complaint_id
