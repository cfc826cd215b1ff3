-- usermgmt schema, version 6: a user's sessions and trusted devices, listed
-- and revoked one at a time (Manager.ListSessions, RevokeSession,
-- RevokeDevice).
--
-- sessions.last_seen_at is when the session last authenticated a request:
-- TouchSession sets it in the UPDATE that already moves idle_expires_at,
-- so it costs no extra write, and like idle_expires_at it is in no index
-- (the update stays HOT). NULL for sessions made before this version; the
-- Manager then shows what idle_expires_at tells.
ALTER TABLE {{schema}}.sessions ADD COLUMN last_seen_at timestamptz;

-- A trusted device gets an id to be named by (its hash never leaves the
-- Manager), and keeps where it was trusted from. Devices trusted before
-- this version get a random id and no address. Lists and deletes go
-- through devices_tenant_user (0001); the id is unique on its own.
ALTER TABLE {{schema}}.devices
    ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN ip text NOT NULL DEFAULT '',
    ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE {{schema}}.devices ALTER COLUMN id DROP DEFAULT;
ALTER TABLE {{schema}}.devices ADD CONSTRAINT devices_id_key UNIQUE (id);
