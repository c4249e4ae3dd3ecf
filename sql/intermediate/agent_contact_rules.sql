-- intermediate.agent_contact_rules(month_start, month_end, answered_cap, unanswered_cap,
-- legal_start, legal_end): the legal contact rules (version 3) per agent: the agent's own calls
-- of the month judged by intermediate.contact_rule_calls, each call counted once however many
-- rules it breaks; a call whose breach an appeal overturned (intermediate.withdrawn) counts as
-- none. Column meanings: the metric dictionary.

select
    agent_id,
    count(*) filter (where answered_over_cap) as answered_over_cap_calls,
    count(*) filter (where unanswered_over_cap) as unanswered_over_cap_calls,
    count(*) filter (where curfew) as curfew_calls,
    count(*) filter (where answered_over_cap or unanswered_over_cap or curfew)
        as contact_rule_breaches
from intermediate.contact_rule_calls(month_start, month_end, answered_cap, unanswered_cap,
                                     legal_start, legal_end) c
where not exists (select 1 from intermediate.withdrawn w  -- a breach overturned on appeal
                  where w.subject_type = 'contact_rule' and w.subject_id = c.call_id)
group by all
