-- Audit log of the gateway's work lists: who read (or tried to read) which municipality's
-- citizens, when. Work lists are the only place the API shows individual citizens, so
-- every access is kept, granted or denied; the national role can query it.
CREATE TABLE worklist_access (
    id           bigserial PRIMARY KEY,
    accessed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    subject      text NOT NULL,          -- the token's `sub`
    role         text NOT NULL,
    municipality char(3) NOT NULL,       -- whose work list
    indicator    text NOT NULL,
    period       text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('granted', 'denied')),
    citizens     integer                 -- how many citizens were shown (granted only)
);
CREATE INDEX worklist_access_municipality ON worklist_access (municipality, accessed_at);
