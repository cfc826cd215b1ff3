-- usermgmt schema, version 1. {{schema}} is replaced by the configured
-- schema name (quoted identifier) before this file runs; see Migrations.
--
-- Every tenant-scoped key starts with tenant_id. Tables looked up by a token
-- hash or a session id alone (the caller does not know the tenant yet) are
-- keyed by that hash or id and carry tenant_id in a secondary index.

-- pg_trgm and btree_gin are trusted extensions (PostgreSQL 13+): a database
-- owner may create them. They live in the database's default schema, not in
-- {{schema}}, so dropping {{schema}} never drops them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE SCHEMA IF NOT EXISTS {{schema}};

-- Users. Emails are stored normalised (trimmed, NFC, lower-case) and
-- compared bytewise (COLLATE "C"), so ORDER BY email and keyset cursors
-- agree with Go's string order on every server locale.
CREATE TABLE {{schema}}.users (
    tenant_id       text COLLATE "C" NOT NULL,
    id              uuid NOT NULL,
    email           text COLLATE "C" NOT NULL,
    status          text NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
    roles           text[] NOT NULL DEFAULT '{}',
    mfa_enabled     boolean NOT NULL DEFAULT false,
    last_login_at   timestamptz,
    activated_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    password_hash   text NOT NULL DEFAULT '',
    mfa_secret      bytea,
    mfa_last_step   bigint NOT NULL DEFAULT 0,
    -- SHA-256 hashes of the unused recovery codes, concatenated (32 bytes each).
    recovery_codes  bytea NOT NULL DEFAULT '' CHECK (octet_length(recovery_codes) % 32 = 0),
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    last_mail_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- Also the index of the unfiltered list: WHERE tenant_id = $1 AND email > $cursor ORDER BY email.
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email)
) WITH (fillfactor = 90);

-- The list filtered by status, paged by email.
CREATE INDEX users_tenant_status_email ON {{schema}}.users (tenant_id, status, email);

-- Email substring search inside one tenant: LIKE '%term%' through trigrams,
-- with the tenant as the first GIN column (btree_gin) so a search never
-- reads another tenant's entries.
CREATE INDEX users_tenant_email_trgm ON {{schema}}.users USING gin (tenant_id, email gin_trgm_ops);

-- CountActiveWithRole(tenant_admin), which guards the last tenant admin.
CREATE INDEX users_tenant_active_admins ON {{schema}}.users (tenant_id)
    WHERE status = 'active' AND roles @> '{tenant_admin}';

-- Badge counts per tenant, kept by a trigger in the same transaction as
-- every insert, delete and status change of a user.
CREATE TABLE {{schema}}.tenant_counts (
    tenant_id   text COLLATE "C" PRIMARY KEY,
    invited     bigint NOT NULL DEFAULT 0,
    active      bigint NOT NULL DEFAULT 0,
    deactivated bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION {{schema}}.users_count_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {{schema}}.tenant_counts AS c (tenant_id, invited, active, deactivated)
        VALUES (NEW.tenant_id, (NEW.status = 'invited')::int, (NEW.status = 'active')::int,
                (NEW.status = 'deactivated')::int)
        ON CONFLICT (tenant_id) DO UPDATE SET
            invited = c.invited + excluded.invited,
            active = c.active + excluded.active,
            deactivated = c.deactivated + excluded.deactivated;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE {{schema}}.tenant_counts SET
            invited = invited - (OLD.status = 'invited')::int,
            active = active - (OLD.status = 'active')::int,
            deactivated = deactivated - (OLD.status = 'deactivated')::int
        WHERE tenant_id = OLD.tenant_id;
    ELSE
        UPDATE {{schema}}.tenant_counts SET
            invited = invited - (OLD.status = 'invited')::int + (NEW.status = 'invited')::int,
            active = active - (OLD.status = 'active')::int + (NEW.status = 'active')::int,
            deactivated = deactivated - (OLD.status = 'deactivated')::int + (NEW.status = 'deactivated')::int
        WHERE tenant_id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_insert_delete
    AFTER INSERT OR DELETE ON {{schema}}.users
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.users_count_status();

CREATE TRIGGER users_count_status_change
    AFTER UPDATE OF status ON {{schema}}.users
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION {{schema}}.users_count_status();

-- Single-use link tokens (invite, password reset, MFA enrollment and
-- challenge): only the SHA-256 of the token is kept.
CREATE TABLE {{schema}}.tokens (
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    purpose    text NOT NULL,
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    uuid NOT NULL,
    data       bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX tokens_tenant_user_purpose ON {{schema}}.tokens (tenant_id, user_id, purpose);

-- Sessions hold the hash of the session token, the hash of the current
-- refresh token and a snapshot of the roles taken at login or refresh.
-- idle_expires_at moves on every request: fillfactor leaves room for HOT
-- updates (it is in no index).
CREATE TABLE {{schema}}.sessions (
    id              uuid PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL,
    user_id         uuid NOT NULL,
    token_hash      bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    refresh_hash    bytea NOT NULL CHECK (octet_length(refresh_hash) = 32),
    roles           text[] NOT NULL DEFAULT '{}',
    ip              text NOT NULL DEFAULT '',
    user_agent      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
) WITH (fillfactor = 80);
CREATE INDEX sessions_tenant_user ON {{schema}}.sessions (tenant_id, user_id);

-- Every refresh token a session has had. The current one is not spent;
-- presenting a spent one is reuse (a stolen token) and the Manager revokes
-- the session. Rows go with their session.
CREATE TABLE {{schema}}.refresh_tokens (
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    session_id uuid NOT NULL REFERENCES {{schema}}.sessions (id) ON DELETE CASCADE,
    spent      boolean NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_session ON {{schema}}.refresh_tokens (session_id);

-- Trusted devices: browsers that may skip TOTP at login.
CREATE TABLE {{schema}}.devices (
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX devices_tenant_user ON {{schema}}.devices (tenant_id, user_id);

-- The activity log: append-only, UUIDv7 ids (time-ordered), read newest
-- first one user at a time.
CREATE TABLE {{schema}}.events (
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    uuid NOT NULL,
    id         uuid NOT NULL,
    type       text NOT NULL,
    actor_id   uuid NOT NULL,
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (tenant_id, user_id, id)
);

CREATE FUNCTION {{schema}}.events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'usermgmt: activity events are append-only'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON {{schema}}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.events_append_only();
