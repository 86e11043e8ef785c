-- Each `kommunepuls audit` run: the gateway tells when the read models last passed
-- (GET /v1/status, kommunepuls_audit_last_passed_timestamp_seconds).
CREATE TABLE audit_runs (
    id           bigserial PRIMARY KEY,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    passed       boolean NOT NULL,
    citizens     integer NOT NULL,
    settled      integer NOT NULL,
    in_flight    integer NOT NULL,
    stuck        integer NOT NULL,
    wrong        integer NOT NULL,
    inconsistent integer NOT NULL
);
