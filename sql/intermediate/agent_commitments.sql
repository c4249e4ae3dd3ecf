-- intermediate.agent_commitments(month_start, month_end, commit_min_s, commit_min_share):
-- commitments kept per case held (version 7.0, "gaming does not pay"), per agent holding a case
-- in the month. A held case counts by the best-kept commitment the agent took on it that fell
-- due in the month (the part of the promise the case paid by its due date, 0..1; a commitment
-- as in intermediate.agent_promises: a right-party call of at least commit_min_s seconds for at
-- least commit_min_share of the amount due on the holding); a case with none counts 0. Against
-- the cases held, not the promises recorded: leaving a doubtful promise unrecorded moves
-- nothing (commitment_kept_rate rises when broken promises go unrecorded), splitting one
-- promise into several counts once, and the cases held are the manager's allocation. Each case
-- held is expected to keep a commitment at the centre's rate for its bucket in the same month
-- (every agent's cases of that bucket; the bucket of the agent's latest holding of the case),
-- as in intermediate.agent_reach. Column meanings: the metric dictionary.

with

held as (
    select * from intermediate.month_holdings(month_start, month_end)
),

commitments as (
    -- promises due in the month that are commitments (intermediate.promises_due), on a case the
    -- agent who took the promise held in the month
    select p.call_id, p.agent_id, p.case_id, p.started_at, p.ptp_amount, p.ptp_due_date
    from intermediate.promises_due(month_start, month_end, commit_min_s, commit_min_share) p
    where p.commitment
        and exists (select 1 from held x where x.agent_id = p.agent_id and x.case_id = p.case_id)
),

kept as (
    -- the part of each commitment the case paid from the call to the end of its due date (the
    -- signed sum of all its repayment events, any attribution), as in agent_promises
    select
        k.agent_id,
        k.case_id,
        max(least(greatest(coalesce(k.paid, 0), 0), k.ptp_amount) / k.ptp_amount) as kept_share
    from (
        select p.call_id, p.agent_id, p.case_id, p.ptp_amount, sum(e.signed_amount) as paid
        from commitments p
        left join intermediate.payment_attribution e
            on e.case_id = p.case_id
            and e.paid_at >= p.started_at
            and e.paid_at < p.ptp_due_date + interval 1 day
        group by all
    ) k
    group by all
),

per_case as (
    -- one row per (agent, case) held in the month
    select
        h.agent_id,
        h.case_id,
        arg_max(h.bucket, h.held_from) as bucket,
        coalesce(any_value(k.kept_share), 0) as kept_share
    from held h
    left join kept k using (agent_id, case_id)
    group by all
),

bucket_rates as (
    select bucket, avg(kept_share) as kept_rate
    from per_case
    group by all
)

select
    p.agent_id,
    -- rounded: a sum of doubles in parallel differs in its last bits from run to run
    round(sum(p.kept_share), 9) as kept_commitment_cases,
    round(round(sum(p.kept_share), 9) / count(*), 9)::double as kept_commitment_case_rate,
    round(round(sum(b.kept_rate), 9) / count(*), 9)::double
        as expected_kept_commitment_case_rate,
    round(round(sum(p.kept_share), 9) / nullif(round(sum(b.kept_rate), 9), 0), 9)::double
        as kept_commitments_vs_expected
from per_case p
left join bucket_rates b on b.bucket is not distinct from p.bucket
group by all
