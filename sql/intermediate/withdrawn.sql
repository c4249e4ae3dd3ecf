-- intermediate.withdrawn: what an appeal took back (申诉改判, version 3). For each disputed item
-- (subject_type, subject_id), its latest decided appeal (by decided_at, then appeal_id); the item
-- is withdrawn when that decision is `overturned`. A withdrawn item no longer counts against the
-- agent anywhere: its QA flag, complaint, violation or contact-rule breach is left out of every
-- agent measure, alert, veto and conduct gate, exactly as if it had never been delivered (the
-- readers: intermediate.agent_conduct, agent_contact_rules, complaint_attribution.withdrawn,
-- marts.conduct_alerts, the scoring inputs). The centre's own counts of what happened (complaints
-- received and resolved on time, the QA model's agreement with its reviewers) keep every item.
-- A pending appeal withdraws nothing (the item counts until decided).

with

latest as (
    select subject_type, subject_id, appeal_id, agent_id, decided_at, decision
    from staging.appeals
    where decision is not null
    qualify row_number() over (
        partition by subject_type, subject_id order by decided_at desc, appeal_id desc) = 1
)

select subject_type, subject_id, appeal_id, agent_id, decided_at
from latest
where decision = 'overturned'
