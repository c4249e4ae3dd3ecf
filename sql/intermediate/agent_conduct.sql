-- intermediate.agent_conduct(month_start, month_end, qa_labels, qa_threshold): the conduct part
-- of marts.agent_month_metrics, per agent: complaints attributed in the month
-- (intermediate.complaint_attribution), connected calls the QA model flagged, confirmed
-- violations; none an appeal overturned (intermediate.withdrawn). Column meanings: the metric
-- dictionary.

with

complaints as (
    -- counted unless found unsubstantiated (pending ones count); attributed to the named
    -- agent, else the case holder when received
    select
        c.agent_id,
        count(*) as complaints,
        -- telling a debtor's contacts about the debt is the commonest privacy breach
        count(*) filter (
            where c.category in ('privacy_leak', 'third_party_disclosure') and c.substantiated
        ) as privacy_complaints
    from intermediate.complaint_attribution c
    where c.received_at >= month_start::date and c.received_at < month_end::date
        and c.substantiated is distinct from false
        and not c.withdrawn
        and c.agent_id is not null
    group by all
),

flagged_calls as (
    -- per call with a label above the threshold: whether one is a configured QA label, whether
    -- one is a privacy disclosure
    select
        call_id,
        bool_or(list_contains(qa_labels, label)) as threat,
        bool_or(label = 'privacy_disclosure') as privacy
    from staging.qa_flags f
    where confidence >= qa_threshold
        and not exists (select 1 from intermediate.withdrawn w  -- overturned on appeal
                        where w.subject_type = 'qa_flag'
                            and w.subject_id = f.call_id || ':' || f.label)
    group by all
),

qa as (
    select
        c.agent_id,
        count(*) filter (where f.threat) as qa_flagged_calls,
        -- for the compliance officer's review, not a confirmed incident
        count(*) filter (where f.privacy) as suspected_privacy_calls
    from staging.calls c
    join flagged_calls f using (call_id)
    where c.started_at >= month_start::date and c.started_at < month_end::date
        and c.outcome in ('connected_debtor', 'connected_third_party')
    group by all
),

violations as (
    select
        v.agent_id,
        count(*) filter (where v.violation_type in ('privacy_breach', 'unauthorized_disclosure'))
            as privacy_violations,
        count(*) filter (where v.severity = 'major') as major_violations
    from staging.violations v
    where v.confirmed and v.occurred_on >= month_start::date and v.occurred_on < month_end::date
        and not exists (select 1 from intermediate.withdrawn w  -- overturned on appeal
                        where w.subject_type = 'violation' and w.subject_id = v.violation_id)
    group by all
)

select
    agent_id,
    c.complaints,
    c.privacy_complaints,
    q.qa_flagged_calls,
    q.suspected_privacy_calls,
    v.privacy_violations,
    v.major_violations
from complaints c
full join qa q using (agent_id)
full join violations v using (agent_id)
