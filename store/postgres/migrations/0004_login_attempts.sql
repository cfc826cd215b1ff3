-- usermgmt schema, version 4: failed sign-in attempts are counted per
-- sign-in key, a tenant and a normalised email, whether or not the tenant
-- has a user with that email. Counting only known users' failures (in
-- users.failed_attempts, as 0001 did) made a known address answer
-- differently once locked, which told it from an unknown one; counting
-- every key the same way in one table shared by every app instance does
-- not. The Manager reads and changes a key's record only under a
-- transaction-scoped advisory lock on the key (a key may have no row yet),
-- so a row is never written by two transactions at once.
--
-- The table holds what people typed as an email; rows go when expires_at
-- passes (DeleteExpired, through the index below): a day after the key's
-- last failure or the end of its lock.
CREATE TABLE {{schema}}.login_attempts (
    tenant_id    text COLLATE "C" NOT NULL,
    email        text COLLATE "C" NOT NULL,
    -- Attempts in a row not (yet) successful, those still being checked included.
    failures     integer NOT NULL CHECK (failures >= 0),
    -- NULL when not locked.
    locked_until timestamptz,
    -- The person was mailed that sign-in is paused.
    notified     boolean NOT NULL DEFAULT false,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, email)
);

CREATE INDEX login_attempts_expires_at ON {{schema}}.login_attempts (expires_at);

-- The counts and locks of 0001's columns carry over, then the columns go:
-- the lock state has one home. An app instance still running code older
-- than this migration cannot use the schema after it.
INSERT INTO {{schema}}.login_attempts (tenant_id, email, failures, locked_until, expires_at)
SELECT tenant_id, email, failed_attempts, locked_until, GREATEST(locked_until, now()) + interval '1 day'
FROM {{schema}}.users
WHERE failed_attempts > 0;

ALTER TABLE {{schema}}.users DROP COLUMN failed_attempts, DROP COLUMN locked_until;
