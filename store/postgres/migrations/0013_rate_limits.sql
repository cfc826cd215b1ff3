-- usermgmt schema, version 13: the rate limiter's buckets, shared by every
-- app instance on the database (Store.Allow), so that N instances allow a
-- limit once, not N times.
--
-- A bucket is one row, in the form of the generic cell rate algorithm:
-- full_at is when the bucket will be full again (the time its tokens have
-- been spent up to), which is all a token bucket that refills
-- continuously needs. A row whose full_at has passed is the same as no
-- row: DeleteExpired removes it through the index.
--
-- key_hash is SHA-256 of the limiter's key (which may name a client IP or
-- an account): no key is kept in clear. The table is UNLOGGED: an attempt
-- writes no WAL, and a crash or a failover empties it, which gives every
-- client a fresh burst once, as restarting an instance with the
-- in-process limiter does.
CREATE UNLOGGED TABLE {{schema}}.rate_limits (
    key_hash bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    full_at  timestamptz NOT NULL
);

CREATE INDEX rate_limits_full_at ON {{schema}}.rate_limits (full_at);
