-- usermgmt schema, version 3: the mail outbox. The Manager writes a mail in
-- the transaction of the change it tells about, so the mail exists if and
-- only if the change committed; delivery happens after the commit, from
-- any instance: a worker claims the earliest due mail with FOR UPDATE SKIP
-- LOCKED, so several instances share the outbox without waiting for each
-- other's claims.
--
-- Like tokens, sessions and devices, a mail carries tenant_id and user_id
-- but no foreign key to users: users are never deleted, and a key would
-- make every enqueue lock the user's row (FOR KEY SHARE) for nothing.
--
-- A mail lives from enqueue to delivery (then it is deleted) or, after its
-- last failed attempt, until expires_at (then DeleteExpired deletes it).
-- Every claim and every retry changes next_attempt_at, which the claim
-- index holds, so those updates are never HOT; the table stays small
-- (delivered mail is deleted at once) and autovacuum keeps up with it.
CREATE TABLE {{schema}}.outbox (
    id              uuid PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL,
    user_id         uuid NOT NULL,
    -- CancelMail reads kind '' as "every kind": no mail has that kind.
    kind            text NOT NULL CHECK (kind <> ''),
    recipient       text NOT NULL,
    -- The AES-GCM sealed template data of the mail: it holds a live link.
    sealed          bytea NOT NULL,
    -- Attempts begun, the one in flight included.
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the mail is due; while it is claimed, when the claim lapses.
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    -- NULL while pending; set when the last attempt failed.
    failed_at       timestamptz,
    created_at      timestamptz NOT NULL,
    deliver_by      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);

-- ClaimMail: the earliest due pending mail, ties broken by id. The index
-- gives the rows in exactly that order, so a claim reads the first
-- unlocked entry and stops; failed mails, which are kept for listing, are
-- not in it.
CREATE INDEX outbox_claim ON {{schema}}.outbox (next_attempt_at, id) WHERE failed_at IS NULL;

-- ListMail: a tenant's mails newest first, keyset-paged by id (UUIDv7).
CREATE INDEX outbox_tenant_id ON {{schema}}.outbox (tenant_id, id);

-- CancelMail: a user's mails, of one kind or of all.
CREATE INDEX outbox_tenant_user_kind ON {{schema}}.outbox (tenant_id, user_id, kind);

-- DeleteExpired reads only the mails it deletes (see 0002).
CREATE INDEX outbox_expires_at ON {{schema}}.outbox (expires_at);
