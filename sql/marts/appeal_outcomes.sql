-- marts.appeal_outcomes: appeals (申诉) about the month's items, per subject type and, for QA
-- flags, per label and model version: filed, decided, overturned, the overturn rate among the
-- decided and the median days to decide. Beside the QA model's agreement with its reviewers
-- (marts.qa_model_agreement) on the compliance page: a label whose flags are often overturned
-- is a label the model gets wrong. Read from marts.agent_appeals (the month of the item).

select
    month,
    subject_type,
    qa_label,
    model_version,
    count(*) as filed,
    count(*) filter (where decision <> 'pending') as decided,
    count(*) filter (where decision = 'overturned') as overturned,
    (count(*) filter (where decision = 'overturned')
        / nullif(count(*) filter (where decision <> 'pending'), 0))::double as overturn_rate,
    median(days_to_decide) as median_days_to_decide
from marts.agent_appeals
where month = $month_start::date
group by all
order by subject_type, qa_label nulls first, model_version nulls first
