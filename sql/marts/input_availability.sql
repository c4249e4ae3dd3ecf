-- marts.input_availability: which optional (version-2 and 3) inputs the lender sent for the month, and
-- which measures are NULL without them. A landing without them still runs: the measures are NULL
-- (never 0) and this table, the run's output and the data-quality page say why.
--   * a version-2 source is sent when staging holds any of its rows dated in the month (cases
--     snapshots, reviews, follow-ups by their own date);
--   * a version-2 column is sent when any row of its source dated in the month carries a value.
-- Bound parameters: the `bound` list of the dictionary beside this file (exactly those are
-- passed; kaohe/models/__init__.py metric_params says what each one is).

with

inputs as (
    select * from (values
        ('cases.dpd', 'agent_month_metrics (aging_cases, aging_reduced, rolled_forward, aging_reduction_rate, roll_forward_rate), roll_rates',
            (select count(*) from staging.cases
             where snapshot_date >= $month_start::date and snapshot_date < $month_end::date
                and dpd is not null)),
        ('cases.overdue_amount', 'roll_rates (opening_overdue_amount, closing_overdue_amount)',
            (select count(*) from staging.cases
             where snapshot_date >= $month_start::date and snapshot_date < $month_end::date
                and overdue_amount is not null)),
        ('complaints.resolved_at', 'complaint resolution of team_month_metrics and center_month_summary',
            (select count(*) from staging.complaints
             where received_at >= $month_start::date and received_at < $month_end::date
                and resolved_at is not null)),
        ('qa_reviews', 'human spot checks of agency_month_metrics (else the AI-label proxy), qa_model_agreement',
            (select count(*) from staging.qa_reviews
             where reviewed_at >= $month_start::date and reviewed_at < $month_end::date)),
        ('credit_followups', 'rehabilitation_index',
            (select count(*) from staging.credit_followups where observed_on < $month_end::date)),
        -- version 3: without it, unanswered attempts are judged per debtor (stricter), not NULL
        ('calls.dialled_number', 'unanswered_over_cap_calls of agent_month_metrics, judged per debtor',
            (select count(*) from staging.calls
             where started_at >= $month_start::date and started_at < $month_end::date
                and dialled_number is not null)),
        -- version 3: without it, a leaver's last working day is their last call before the
        -- first roster snapshot showing them left, not NULL
        ('agents.left_on', 'active_days of the scorecard and of the pay',
            (select count(*) from staging.agents
             where snapshot_date < $month_end::date and left_on is not null))
    ) as t(input, measures, rows)
)

select
    $month_start::date as month,
    input,
    rows > 0 as sent,
    rows,
    measures,
    case when rows > 0 then null
        when input = 'calls.dialled_number'
            then 'not sent: ' || measures || ' (stricter than per number) this month'
        when input = 'agents.left_on'
            then 'not sent: ' || measures || ' end on a leaver''s last call before the roster '
                || 'showed them left'
        else 'not sent: ' || measures || ' are NULL (or fall back) this month' end as note
from inputs
