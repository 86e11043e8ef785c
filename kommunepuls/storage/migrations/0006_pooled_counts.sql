-- One count row per cell instead of one per cell and metrics partition: partition -1
-- holds the cell's pooled value, to which every metrics flush adds its partitions'
-- changes (services/metrics/store.py). Readers already sum a cell's rows, so a cell of
-- one row reads the same. The rows of each partition are folded into one here.
WITH partitioned AS (
    DELETE FROM indicator_counts WHERE partition <> -1 RETURNING *
)
INSERT INTO indicator_counts AS c (indicator, municipality, period, grp, partition, numerator,
                                   denominator, events_through, computed_at)
SELECT indicator, municipality, period, grp, -1, sum(numerator), sum(denominator),
       max(events_through), max(computed_at)
FROM partitioned GROUP BY indicator, municipality, period, grp
HAVING sum(denominator) > 0;
COMMENT ON COLUMN indicator_counts.partition IS
    '-1: all partitions, the pooled row the metrics workers add to (migration 0006)';
