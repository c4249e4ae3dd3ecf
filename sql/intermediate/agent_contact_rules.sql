-- intermediate.agent_contact_rules(month_start, month_end, answered_cap, unanswered_cap,
-- legal_start, legal_end): the legal contact rules (version 3) per agent: the agent's own calls
-- of the month judged by intermediate.contact_rule_calls, each call counted once however many
-- rules it breaks. Column meanings: the metric dictionary.

select
    agent_id,
    count(*) filter (where answered_over_cap) as answered_over_cap_calls,
    count(*) filter (where unanswered_over_cap) as unanswered_over_cap_calls,
    count(*) filter (where curfew) as curfew_calls,
    count(*) filter (where answered_over_cap or unanswered_over_cap or curfew)
        as contact_rule_breaches
from intermediate.contact_rule_calls(month_start, month_end, answered_cap, unanswered_cap,
                                     legal_start, legal_end)
group by all
