-- The cohorts worker folds each citizen's whole history on every change, and the fold
-- never reads these types (kommunepuls.domain.citizen.UNREAD_TYPES): samtale alone is
-- two thirds of all events. Through this index the history read visits only the rest
-- (event_store.read_histories names the same types; the planner uses the index only if
-- the query's predicate implies this one: tests/integration/test_query_plans.py). Measured on
-- 491k simulated events: ~11.8 -> ~3.8 µs of client and server CPU per event stored.
-- Building it locks out appends for the build; on a large store create it CONCURRENTLY
-- by hand first (OPERATE.md), and this statement then does nothing.
CREATE INDEX IF NOT EXISTS events_citizen_folded ON events (citizen_id, position)
    WHERE type NOT IN ('microloan_ended', 'microloan_granted', 'samtale');
