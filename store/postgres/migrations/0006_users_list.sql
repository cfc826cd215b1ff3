-- usermgmt schema, version 6: what the Settings → Users list shows beside
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

-- The list filtered by role (GET /users?role=): roles @> ARRAY[role]
-- inside one tenant. A rare role (tenant_admin among a million users) is
-- found here and its few rows sorted by email; a common one walks the
-- email index instead (the planner weighs the two by the roles column's
-- element statistics, which is why the role is a literal in the query).
-- tenant_id is the first column (btree_gin, 0001), so a tenant's entries
-- are read alone.
CREATE INDEX users_tenant_roles ON {{schema}}.users USING gin (tenant_id, roles);
