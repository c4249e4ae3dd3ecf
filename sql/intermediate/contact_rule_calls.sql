-- intermediate.contact_rule_calls(month_start, month_end, answered_cap, unanswered_cap,
-- legal_start, legal_end): every call started in the month judged by the legal contact rules
-- (version 3; config contact_rules, cited in config/regulatory_rules.yaml):
--   answered calls (connected_debtor, connected_third_party): the agent's own ranked per
--     (agent, debtor, calendar day) by (started_at, call_id); ranks above answered_cap are over;
--   unanswered attempts (no_answer, busy, voicemail, invalid_number): the agent's own ranked per
--     (agent, dialled number, day), per debtor when the call has no dialled_number (stricter);
--     ranks above unanswered_cap are over;
--   curfew: started before legal_start or at/after legal_end.
-- centre_answered_over_cap ranks every agent's answered calls per (debtor, day): the excess the
-- dialler's governance owns, beyond the agents' own. The debtor comes from the case master as of
-- the month's last day; a case missing from it counts as its own debtor ('case:' || case_id).

with

month_calls as (
    select c.call_id, c.agent_id, c.case_id, c.started_at, c.outcome, c.dialled_number
    from staging.calls c
    where c.started_at >= month_start::date and c.started_at < month_end::date
),

keyed as (
    select
        c.call_id,
        c.agent_id,
        c.started_at,
        c.dialled_number,
        coalesce(m.debtor_id, 'case:' || c.case_id) as debtor_key,
        c.outcome in ('connected_debtor', 'connected_third_party') as answered,
        c.started_at::date as call_date
    from month_calls c
    left join intermediate.case_master_at((month_end::date - interval 1 day)::date) m
        using (case_id)
),

ranked as (
    select
        *,
        row_number() over (partition by agent_id, debtor_key, call_date, answered
                           order by started_at, call_id) as own_debtor_rank,
        row_number() over (partition by agent_id, coalesce(dialled_number, debtor_key),
                                        call_date, answered
                           order by started_at, call_id) as own_number_rank,
        row_number() over (partition by debtor_key, call_date, answered
                           order by started_at, call_id) as centre_rank
    from keyed
)

select
    call_id,
    agent_id,
    debtor_key,
    call_date,
    answered,
    dialled_number is not null as number_known,
    answered and own_debtor_rank > answered_cap as answered_over_cap,
    not answered and own_number_rank > unanswered_cap as unanswered_over_cap,
    started_at::time < legal_start::time or started_at::time >= legal_end::time as curfew,
    answered and centre_rank > answered_cap as centre_answered_over_cap
from ranked
