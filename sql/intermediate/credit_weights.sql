-- intermediate.credit_weights(bucket_weights): the one lookup of a bucket's credit weight
-- (metrics.bucket_weights; the article's M6+ 1.4x). Applied twice on purpose, by the two models
-- that join it: the agent's credited collections (intermediate.agent_recovery) and the
-- portfolio's expected credited recovery behind the target (sql/scorecard/scoring_inputs.sql),
-- so the bucket mix cancels out of recovery_vs_target. A bucket without a weight counts 1.0.

select w.bucket, coalesce(w.weight, 1.0)::double as weight
from (select unnest(bucket_weights) as w)
