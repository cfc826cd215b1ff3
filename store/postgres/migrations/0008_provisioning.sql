-- usermgmt schema, version 8: provisioning (issue 12).
--
-- What an identity provider says about a person beyond the email (SCIM's
-- name, displayName and externalId), the roles granted directly (roles
-- stays what the user holds: direct_roles and the roles of the user's
-- groups, so the role filter, the last-admin guard and sessions read one
-- column), a version that grows with every write (SCIM's ETag) and when
-- the identity provider deleted the user (hidden from SCIM until it
-- provisions them again). The new columns take no rewrite of the table:
-- constant defaults are stored in the catalogue.
ALTER TABLE {{schema}}.users
    ADD COLUMN display_name     text NOT NULL DEFAULT '',
    ADD COLUMN given_name       text NOT NULL DEFAULT '',
    ADD COLUMN family_name      text NOT NULL DEFAULT '',
    ADD COLUMN external_id      text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN direct_roles     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN version          bigint NOT NULL DEFAULT 1,
    ADD COLUMN deprovisioned_at timestamptz;

-- Until now every role was granted directly.
UPDATE {{schema}}.users SET direct_roles = roles WHERE roles <> '{}';

-- SCIM's externalId eq, the identity provider's lookup of a person. Only
-- users that have one are indexed.
CREATE INDEX users_tenant_external_id ON {{schema}}.users (tenant_id, external_id) WHERE external_id <> '';

-- The deprovisioned users of a tenant, few: FindUsers without a filter
-- takes its total from tenant_counts less these, instead of counting a
-- tenant of 100,000 on every page of an identity provider's import.
CREATE INDEX users_tenant_deprovisioned ON {{schema}}.users (tenant_id) WHERE deprovisioned_at IS NOT NULL;

-- Who did it, when the actor is not a user: "provisioning: Okta".
ALTER TABLE {{schema}}.events ADD COLUMN actor_name text NOT NULL DEFAULT '';

-- Provisioning tokens: looked up by the SHA-256 of the secret alone (the
-- request names no tenant; the token decides it), listed per tenant.
CREATE TABLE {{schema}}.provisioning_tokens (
    hash         bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    id           uuid NOT NULL UNIQUE,
    tenant_id    text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL,
    created_by   uuid,
    last_used_at timestamptz
);
CREATE INDEX provisioning_tokens_tenant ON {{schema}}.provisioning_tokens (tenant_id, created_at, id);
