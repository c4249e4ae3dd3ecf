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
        -- the number an unanswered attempt is counted by: the debtor without a dialled number
        coalesce(c.dialled_number, m.debtor_id, 'case:' || c.case_id) as number_key,
        c.outcome in ('connected_debtor', 'connected_third_party') as answered,
        c.started_at::date as call_date
    from month_calls c
    left join intermediate.case_master_at((month_end::date - interval 1 day)::date) m
        using (case_id)
),

-- A rank matters only where it can pass a cap: the (agent, debtor, day)s, (agent, number, day)s
-- and (debtor, day)s with more calls than the cap are found by counting (a hash aggregate), and
-- only their calls are ranked. Ranking every call of the month (three windows sorting 30 M rows
-- by text keys on a large centre) gave the same flags at several times the cost.

busy_own_debtor as (
    select agent_id, debtor_key, call_date
    from keyed where answered
    group by all having count(*) > answered_cap
),

busy_own_number as (
    select agent_id, number_key, call_date
    from keyed where not answered
    group by all having count(*) > unanswered_cap
),

busy_centre as (
    select debtor_key, call_date
    from keyed where answered
    group by all having count(*) > answered_cap
),

own_debtor_over as (
    select call_id from (
        select k.call_id, row_number() over (partition by k.agent_id, k.debtor_key, k.call_date
                                             order by k.started_at, k.call_id) as own_rank
        from keyed k
        semi join busy_own_debtor b
            on b.agent_id is not distinct from k.agent_id
            and b.debtor_key is not distinct from k.debtor_key and b.call_date = k.call_date
        where k.answered
    ) where own_rank > answered_cap
),

own_number_over as (
    select call_id from (
        select k.call_id, row_number() over (
                partition by k.agent_id, k.number_key, k.call_date
                order by k.started_at, k.call_id) as own_rank
        from keyed k
        semi join busy_own_number b
            on b.agent_id is not distinct from k.agent_id
            and b.number_key is not distinct from k.number_key
            and b.call_date = k.call_date
        where not k.answered
    ) where own_rank > unanswered_cap
),

centre_over as (
    select call_id from (
        select k.call_id, row_number() over (partition by k.debtor_key, k.call_date
                                             order by k.started_at, k.call_id) as centre_rank
        from keyed k
        semi join busy_centre b
            on b.debtor_key is not distinct from k.debtor_key and b.call_date = k.call_date
        where k.answered
    ) where centre_rank > answered_cap
)

select
    k.call_id,
    k.agent_id,
    k.debtor_key,
    k.call_date,
    k.answered,
    k.dialled_number is not null as number_known,
    d.call_id is not null as answered_over_cap,
    n.call_id is not null as unanswered_over_cap,
    k.started_at::time < legal_start::time or k.started_at::time >= legal_end::time as curfew,
    c.call_id is not null as centre_answered_over_cap
from keyed k
left join own_debtor_over d on d.call_id = k.call_id
left join own_number_over n on n.call_id = k.call_id
left join centre_over c on c.call_id = k.call_id
