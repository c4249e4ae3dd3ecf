-- "Agents like you" on the agent card, in place of the centre rank: each appraised agent's
-- percentile among the peers of the closest portfolio and the peers' median, per key measure
-- (marts.agent_peer_comparisons; the peers themselves are not shown to the agent). Bound: $start.
select agent_id, dimension, measure, direction, value, peers, peer_median, percentile
from marts.agent_peer_comparisons
where month = $start
order by agent_id, dimension, measure
