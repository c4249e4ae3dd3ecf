-- intermediate.case_master_at(as_of): the case master as of a date, one row per case: each
-- case's row in its latest snapshot dated on or before as_of (debtor PII as pseudonyms).

select c.*
from staging.cases c
where c.snapshot_date <= as_of
qualify row_number() over (partition by c.case_id order by c.snapshot_date desc) = 1
