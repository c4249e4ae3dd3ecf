-- marts.agent_appeals: one row per appeal (申诉) about an item of the month, with the agent who
-- filed it and where it stands. The month is the disputed item's: a QA flag's or contact-rule
-- breach's call (started_at), a complaint's received_at, a violation's occurred_on; an appeal
-- naming an item kaohe never received is kept in the month it was filed (item_found false), so
-- no appeal is silently dropped. The decision is the delivered one ('pending' while empty);
-- counts_against says whether the item still counts against the agent: false once the item's
-- latest decided appeal overturned it (intermediate.withdrawn). final_on: the day the month's
-- grades become final, appeals.window_days ($appeal_window_days) after the month's end; a grade
-- is provisional before it, or while an appeal about the month is pending.

with

appeals as (
    select
        a.*,
        case when a.subject_type = 'qa_flag' then split_part(a.subject_id, ':', 1)
             when a.subject_type = 'contact_rule' then a.subject_id end as call_id,
        case when a.subject_type = 'qa_flag' then split_part(a.subject_id, ':', 2) end as qa_label
    from staging.appeals a
),

flag_versions as (
    -- the model version of a disputed flag (the latest if several versions gave it)
    select call_id, label as qa_label, max(model_version) as model_version
    from staging.qa_flags
    group by all
),

item_dates as (
    select
        a.appeal_id,
        coalesce(
            case when a.subject_type = 'qa_flag' and f.qa_label is null then null
                 else c.started_at::date end,
            p.received_at::date,
            v.occurred_on
        ) as item_date,
        f.model_version
    from appeals a
    left join staging.calls c on c.call_id = a.call_id
    left join flag_versions f on f.call_id = a.call_id and f.qa_label = a.qa_label
    left join staging.complaints p
        on a.subject_type = 'complaint' and p.complaint_id = a.subject_id
    left join staging.violations v
        on a.subject_type = 'violation' and v.violation_id = a.subject_id
),

final as (
    select
        date_trunc('month', coalesce(d.item_date, a.filed_at::date))::date as month,
        a.appeal_id,
        a.agent_id,
        a.subject_type,
        a.subject_id,
        a.qa_label,
        d.model_version,
        d.item_date is not null as item_found,
        a.filed_at,
        a.decided_at,
        coalesce(a.decision, 'pending') as decision,
        a.reviewer_id,
        round(date_diff('second', a.filed_at, a.decided_at) / 86400.0, 2) as days_to_decide,
        w.subject_id is null as counts_against,
        ($month_end::date + to_days($appeal_window_days::int))::date as final_on
    from appeals a
    join item_dates d using (appeal_id)
    left join intermediate.withdrawn w using (subject_type, subject_id)
)

select *
from final
where month = $month_start::date
order by agent_id, filed_at, appeal_id
