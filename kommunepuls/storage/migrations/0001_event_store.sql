-- The event store: the record of truth. Append-only; a retraction is an event.
CREATE TABLE events (
    -- Gap-free and commit-ordered: appenders take the head row's lock (below) before
    -- choosing positions and hold it to commit, so no transaction can commit a lower
    -- position after a reader has seen a higher one. A plain bigserial would not do:
    -- a transaction that drew 41 may commit after 42 was read, and the reader skips 41.
    position       bigint PRIMARY KEY,
    event_id       uuid NOT NULL UNIQUE,
    citizen_id     text NOT NULL,
    municipality   char(3) NOT NULL,
    type           text NOT NULL,
    schema_version smallint NOT NULL,
    occurred_at    date NOT NULL,
    recorded_at    timestamptz NOT NULL,
    source         text NOT NULL,
    case_ref       text,
    data           jsonb NOT NULL,
    -- Keyed digest of the stored body: tells a retry (same body) from a conflict.
    body_hash      bytea NOT NULL
);
CREATE INDEX events_citizen ON events (citizen_id, position);
CREATE INDEX events_municipality_recorded ON events (municipality, recorded_at);

CREATE TABLE event_store_head (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
);
INSERT INTO event_store_head (id, position) VALUES (true, 0);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event store is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Tracking table: a reader's position, written in the same transaction as its effects.
CREATE TABLE checkpoints (
    name       text PRIMARY KEY,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
