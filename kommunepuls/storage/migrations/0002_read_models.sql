-- Read models of the metrics service and the batch recompute.

-- The platform's clock: real time unless a simulator drives it (one row).
CREATE TABLE platform_clock (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    today      date NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Pooled counts per metrics partition (= citizen partition). A cell's value is the sum
-- over partitions: a handful of rows, so reading it is a lookup, not a recompute.
CREATE TABLE indicator_counts (
    indicator      text NOT NULL,
    municipality   char(3) NOT NULL,
    period         text NOT NULL,
    grp            smallint NOT NULL DEFAULT 0,   -- 0 = all groups the definition counts
    partition      smallint NOT NULL,
    numerator      integer NOT NULL,
    denominator    integer NOT NULL,
    events_through bigint NOT NULL,
    computed_at    timestamptz NOT NULL,
    PRIMARY KEY (indicator, municipality, period, grp, partition)
);
CREATE INDEX indicator_counts_period ON indicator_counts (indicator, period);

-- Each citizen's current contributions, by metrics partition: the worker's state,
-- checkpointed in the same transaction as the counts and the partition's position.
CREATE TABLE citizen_contributions (
    partition   smallint NOT NULL,
    citizen_id  text NOT NULL,
    position    bigint NOT NULL,   -- last event of the citizen these cells reflect
    day         date NOT NULL,     -- the platform day they were evaluated on
    cells       bigint[] NOT NULL,  -- packed cells, see kommunepuls/facts.py
    PRIMARY KEY (partition, citizen_id)
);

-- Every change of a pooled value, for "what did we report for March as known on 10 April".
CREATE TABLE indicator_revisions (
    id             bigserial PRIMARY KEY,
    indicator      text NOT NULL,
    municipality   char(3) NOT NULL,
    period         text NOT NULL,
    grp            smallint NOT NULL DEFAULT 0,
    numerator      integer NOT NULL,
    denominator    integer NOT NULL,
    events_through bigint NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX indicator_revisions_cell
    ON indicator_revisions (indicator, municipality, period, grp, recorded_at);

-- Snapshots of `kommunepuls recompute`: the same rules, straight from the event store.
CREATE TABLE recompute_runs (
    id             bigserial PRIMARY KEY,
    today          date NOT NULL,
    events_through bigint NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE recompute_counts (
    run_id       bigint NOT NULL REFERENCES recompute_runs (id) ON DELETE CASCADE,
    indicator    text NOT NULL,
    municipality char(3) NOT NULL,
    period       text NOT NULL,
    grp          smallint NOT NULL DEFAULT 0,
    numerator    integer NOT NULL,
    denominator  integer NOT NULL,
    PRIMARY KEY (run_id, indicator, municipality, period, grp)
);
