-- marts.qa_model_agreement: does the speech-analytics vendor hear what the human reviewers hear?
-- For the calls of the month that a human reviewed (qa_reviews, version 2) and that the model
-- version listened to, the agreement of each conduct label with the reviewers' findings.
--   * A model version listened to a call when it labelled any call on the call's date (the vendor
--     runs one version over a whole day; qa_flags has no row for a call with no label at all).
--   * The model flags the call with a label when its confidence is at least the QA threshold
--     (metrics.qa_confidence_threshold), as the metrics count it.
--   * The reviewers found a label on the call when any review of it has that finding (a call
--     reviewed twice counts once).
-- precision = flagged and found / flagged; recall = flagged and found / found. NULL when the
-- denominator is 0. No rows in a month without human reviews.
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

labels as (
    select unnest(['threat', 'abuse', 'insult', 'privacy_disclosure']) as label
),

reviewed as (
    select distinct c.call_id, c.started_at::date as call_date
    from staging.qa_reviews r
    join staging.calls c using (call_id)
    where c.started_at >= $month_start::date and c.started_at < $month_end::date
        and c.outcome in ('connected_debtor', 'connected_third_party')
),

versions_by_day as (
    -- the model versions that labelled calls on each day of the month
    select distinct f.model_version, c.started_at::date as call_date
    from staging.qa_flags f
    join staging.calls c using (call_id)
    where c.started_at >= $month_start::date and c.started_at < $month_end::date
),

population as (
    select v.model_version, r.call_id
    from reviewed r
    join versions_by_day v using (call_date)
),

flagged as (
    select distinct model_version, call_id, label
    from staging.qa_flags
    where confidence >= $qa_threshold
),

found as (
    select distinct call_id, finding as label
    from staging.qa_reviews
    where finding in (select label from labels)
),

pairs as (
    select
        p.model_version,
        l.label,
        p.call_id,
        f.call_id is not null as ai_flagged,
        h.call_id is not null as human_found
    from population p
    cross join labels l
    left join flagged f on f.model_version = p.model_version and f.call_id = p.call_id
        and f.label = l.label
    left join found h on h.call_id = p.call_id and h.label = l.label
),

final as (
    select
        $month_start::date as month,
        model_version,
        label,
        count(*) as reviewed_calls,
        count(*) filter (where ai_flagged) as ai_flagged,
        count(*) filter (where human_found) as human_found,
        count(*) filter (where ai_flagged and human_found) as both_found,
        (count(*) filter (where ai_flagged and human_found)
            / nullif(count(*) filter (where ai_flagged), 0))::double as precision,
        (count(*) filter (where ai_flagged and human_found)
            / nullif(count(*) filter (where human_found), 0))::double as recall
    from pairs
    group by all
)

select * from final
