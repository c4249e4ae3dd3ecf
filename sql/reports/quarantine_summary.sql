-- Quarantined rows and files of the month's deliveries, by source and reason. Bound: $start,
-- $end (the files' business dates).
select q.source, q.reason_code, count(*) as n
from audit.quarantine q
join audit.file_registry f using (file_id)
where f.business_date >= $start and f.business_date < $end
group by all
order by all
