-- usermgmt schema, version 7: what the Settings → Users list shows beside
-- each user (issue 11).
--
-- users.invite_expires_at is when the link of the user's latest invitation
-- expires, set when an invitation is issued or resent (in the same
-- statement that records the mail time) and cleared when the link is
-- spent, so the list tells an expired invitation from a live one without
-- reading the tokens table for every row. Deactivation kills the link and
-- sets it to that moment. Invited users of earlier versions take the
-- expiry of their live link, or now when they have none (it was pruned or
-- killed): either way the list is right at once.
ALTER TABLE {{schema}}.users ADD COLUMN invite_expires_at timestamptz;

UPDATE {{schema}}.users u SET invite_expires_at = COALESCE(
    (SELECT max(t.expires_at) FROM {{schema}}.tokens t
     WHERE t.tenant_id = u.tenant_id AND t.user_id = u.id AND t.purpose = 'invite'),
    now())
WHERE u.status = 'invited' AND u.password_hash = '';

-- The list filtered by role (GET /users?role=). roles is an array, which
-- no b-tree orders by email within a role, and a filter over it is at the
-- mercy of how the role's holders fall in email order: measured at
-- 1,000,000 users, a GIN index on (tenant_id, roles) served a rare role
-- well (0.6 ms) but the planner walked the email index for a role held by
-- one user in ten whose holders all sort late, and read 55,000 rows
-- (970 ms). So each (user, role) is a row here, keyed (tenant_id, role,
-- email): a page of a role is a keyset walk of exactly the page, whatever
-- the role's size or spread, joined to users on (tenant_id, email). A
-- trigger keeps it in the transaction of every insert, role change and
-- status change of a user (status is kept for the status badge's filter).
CREATE TABLE {{schema}}.user_roles (
    tenant_id text COLLATE "C" NOT NULL,
    role      text NOT NULL,
    email     text COLLATE "C" NOT NULL,
    status    text NOT NULL,
    PRIMARY KEY (tenant_id, role, email)
);
CREATE INDEX user_roles_status ON {{schema}}.user_roles (tenant_id, role, status, email);

CREATE FUNCTION {{schema}}.users_sync_roles() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM {{schema}}.user_roles WHERE tenant_id = OLD.tenant_id AND email = OLD.email
            AND role = ANY (OLD.roles);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO {{schema}}.user_roles (tenant_id, role, email, status)
        SELECT DISTINCT NEW.tenant_id, r, NEW.email, NEW.status FROM unnest(NEW.roles) r;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_sync_roles_insert_delete
    AFTER INSERT OR DELETE ON {{schema}}.users
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.users_sync_roles();

CREATE TRIGGER users_sync_roles_change
    AFTER UPDATE OF roles, status ON {{schema}}.users
    FOR EACH ROW WHEN (OLD.roles IS DISTINCT FROM NEW.roles OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION {{schema}}.users_sync_roles();

INSERT INTO {{schema}}.user_roles (tenant_id, role, email, status)
SELECT DISTINCT u.tenant_id, r, u.email, u.status FROM {{schema}}.users u, unnest(u.roles) r;
