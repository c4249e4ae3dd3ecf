-- marts.contact_windows: when each debtor segment answers (version 8.2). Per debtor segment (the
-- case's industry), kind of day (weekday, weekend) and hour within the legal hours: the month's
-- attempts, right-party contacts (outcome connected_debtor), the raw rate, and a rate adjusted
-- and shrunk for the team report's "best windows for your portfolio" (docs/contact-windows.md).
--
-- - The attempts: intermediate.window_attempts, every call of the month started within the legal
--   hours (a call in the curfew is never a window) with its segment (the case's industry as of
--   the month's last day), kind of day (weekend: Saturday, Sunday; kaohe does not know the
--   adjusted working days) and hour, and its expected contact (the centre's rate for its order
--   in the debtor's day and its bucket: a dialler stops once a debtor is reached, so a raw rate
--   falls through the day even when the hour does not matter).
-- - Adjusted: a segment's expected contacts are scaled to sum to its contacts;
--   adjusted_rpc_rate = segment rate x contacts / expected contacts.
-- - Shrunk (beta-binomial, empirical Bayes) toward the segment's own rate mu: prior Beta(M mu,
--   M (1 - mu)); M by the method of moments over the segment's windows with attempts:
--   tau2 = (mean (r* - mu)^2 - mean mu (1 - mu) / n) / (1 - mean 1 / n), M = mu (1 - mu) / tau2
--   - 1, at least 1 and at most the segment's attempts (also when tau2 <= 0: no variation beyond
--   chance, the prior as strong as all the segment's data). shrunk = (x* + M mu) / (n + M), x* =
--   n x adjusted_rpc_rate; the interval is 90%, the normal approximation of the posterior
--   Beta(x* + M mu, n - x* + M (1 - mu)) (mean +- 1.645 sd, within 0..1), mu taken as known.

with

attempts as (
    select * from intermediate.window_attempts($month_start::date, $month_end::date,
                                               $legal_start, $legal_end)
),

windows as (
    select segment, day_kind, hour,
        count(*) as attempts,
        count(distinct agent_id) as agents,
        count(*) filter (where contact = 1) as contacts,
        sum(expected) as expected_raw
    from attempts
    group by all
),

segments as (
    select segment, sum(contacts) / sum(attempts) as mu,
        sum(attempts) as segment_attempts,
        sum(contacts) / nullif(sum(expected_raw), 0) as scale
    from windows
    group by all
),

grid as (
    -- every segment of the month x day kind x hour of the legal hours, attempted or not
    select s.segment, k.day_kind, h.hour
    from segments s
    cross join (values ('weekday'), ('weekend')) k(day_kind)
    cross join range(hour($legal_start::time),
                     hour($legal_end::time - interval 1 second) + 1) h(hour)
),

adjusted as (
    select g.segment, g.day_kind, g.hour::integer as hour,
        coalesce(w.attempts, 0) as attempts,
        coalesce(w.agents, 0) as agents,
        coalesce(w.contacts, 0) as contacts,
        w.expected_raw * s.scale as expected,
        s.mu, s.segment_attempts,
        case when w.attempts > 0 then w.contacts / w.attempts end as raw_rate,
        case when w.attempts > 0 then least(1.0, coalesce(
            s.mu * w.contacts / nullif(w.expected_raw * s.scale, 0), w.contacts / w.attempts))
        end as adj_rate
    from grid g
    join segments s using (segment)
    left join windows w using (segment, day_kind, hour)
),

moments as (
    -- the method of moments over the segment's windows with attempts
    select segment,
        (avg(power(adj_rate - mu, 2)) - avg(mu * (1 - mu) / attempts))
            / nullif(1 - avg(1.0 / attempts), 0) as tau2
    from adjusted
    where attempts > 0
    group by all
),

prior as (
    select a.*,
        least(a.segment_attempts, greatest(1.0, case when m.tau2 > 0
            then a.mu * (1 - a.mu) / m.tau2 - 1 else a.segment_attempts end)) as strength
    from adjusted a
    left join moments m using (segment)
),

posterior as (
    select *,
        coalesce(attempts * adj_rate, 0) + strength * mu as alpha,
        attempts - coalesce(attempts * adj_rate, 0) + strength * (1 - mu) as beta
    from prior
),

final as (
    select *,
        alpha / (alpha + beta) as shrunk,
        1.645 * sqrt(alpha * beta / (power(alpha + beta, 2) * (alpha + beta + 1))) as half
    from posterior
)

select
    $month_start::date as month,
    segment,
    day_kind,
    hour,
    attempts,
    agents,
    contacts as right_party_contacts,
    round(raw_rate, 9) as rpc_rate,
    round(expected, 9) as expected_contacts,
    round(adj_rate, 9) as adjusted_rpc_rate,
    round(mu, 9) as segment_rpc_rate,
    round(strength, 6) as prior_strength,
    round(shrunk, 9) as shrunk_rpc_rate,
    round(greatest(0, shrunk - half), 9) as shrunk_rpc_low,
    round(least(1, shrunk + half), 9) as shrunk_rpc_high,
    round(shrunk / nullif(mu, 0), 9) as lift,
    row_number() over (partition by segment, day_kind
                       order by round(shrunk, 9) desc, hour) as window_rank
from final
order by segment, day_kind, hour
