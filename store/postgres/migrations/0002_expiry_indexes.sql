-- usermgmt schema, version 2: indexes for Tx.DeleteExpired, the periodic
-- job that deletes expired rows. With them it reads only the tokens and
-- trusted devices it deletes, not the whole of both tables (devices live
-- for 30 days by default). expires_at is never updated, so the indexes
-- cost one entry per insert and nothing on the hot paths.
--
-- Sessions get no such index: a session also expires by idle_expires_at,
-- which every request moves and which must stay out of every index so
-- that those updates stay HOT (see 0001); an index on expires_at alone
-- could not serve "expires_at <= now OR idle_expires_at <= now".
CREATE INDEX tokens_expires_at ON {{schema}}.tokens (expires_at);
CREATE INDEX devices_expires_at ON {{schema}}.devices (expires_at);
