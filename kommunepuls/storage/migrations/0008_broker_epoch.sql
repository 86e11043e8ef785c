-- How many times the broker was declared to have lost its data (`kommunepuls recover`).
-- A worker that remembers having sent something (the cohorts worker: which citizens it
-- evaluated, which day it swept) must forget it when this moves: what it sent may have
-- been lost with the broker before the metrics worker counted it.
CREATE TABLE broker_epoch (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    epoch        bigint NOT NULL,
    recovered_at timestamptz NOT NULL DEFAULT now()
);
