-- usermgmt schema, version 9: a tenant's own groups, as its identity
-- provider pushes them over SCIM, and the roles they map to (issue 12).
--
-- A user's roles (users.roles, which the list's role filter, the last
-- admin guard and sessions read) are their direct_roles and the roles of
-- their groups; the Store recomputes them in the statement that changes a
-- mapping or a membership (SyncRoles), so nothing else has to know about
-- groups.
--
-- display_name is unique per tenant ignoring case: name_key is the name
-- as the Store folds it (Go's strings.ToLower, so the memory store and
-- this one agree on every name), and orders FindGroups. members is kept
-- by the statement that adds or removes members, from the rows it
-- inserted or deleted: a change of one member of a group of 50,000 never
-- counts or reads the other 49,999.
CREATE TABLE {{schema}}.groups (
    tenant_id    text COLLATE "C" NOT NULL,
    id           uuid NOT NULL,
    display_name text NOT NULL,
    name_key     text COLLATE "C" NOT NULL,
    external_id  text COLLATE "C" NOT NULL DEFAULT '',
    roles        text[] NOT NULL DEFAULT '{}',
    members      integer NOT NULL DEFAULT 0 CHECK (members >= 0),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT groups_tenant_name_key UNIQUE (tenant_id, name_key)
);

-- SCIM's externalId eq.
CREATE INDEX groups_tenant_external ON {{schema}}.groups (tenant_id, external_id) WHERE external_id <> '';

-- One row a membership. The primary key serves a group's member changes
-- and its member pages (by user id); group_members_user a user's groups
-- (GroupsOf, GroupRolesOf, SyncRoles).
CREATE TABLE {{schema}}.group_members (
    tenant_id text COLLATE "C" NOT NULL,
    group_id  uuid NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES {{schema}}.groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON {{schema}}.group_members (tenant_id, user_id);
