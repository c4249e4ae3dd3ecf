-- Each agent's portfolio of the month by delinquency bucket: the amount due at assignment of
-- the assignments held in the month (intermediate.case_holdings). Bound: $start, $end.
select agent_id, bucket, sum(amount_due)::double as amount_due
from intermediate.case_holdings
where assigned_at < $end and held_until > $start
group by all
order by agent_id, bucket
