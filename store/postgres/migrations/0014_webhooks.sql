-- usermgmt schema, version 14: webhooks (issue 14).
--
-- A tenant's endpoints; the messages its changes queue (written in the
-- change's own transaction, with a snapshot of the user, so a message
-- exists if and only if its change committed); and a delivery of each
-- message to each endpoint that wanted it. Every key includes tenant_id
-- (docs/citus.md): the endpoints and messages are found by (tenant_id, id),
-- and a delivery by its endpoint and message.
CREATE TABLE {{schema}}.webhook_endpoints (
    tenant_id             text COLLATE "C" NOT NULL,
    id                    uuid NOT NULL,
    url                   text NOT NULL,
    description           text NOT NULL DEFAULT '',
    event_types           text[] NOT NULL,
    -- AES-GCM sealed by the Manager; previous_secret signs beside secret
    -- until previous_secret_until after a rotation.
    secret                bytea NOT NULL,
    previous_secret       bytea,
    previous_secret_until timestamptz,
    disabled_at           timestamptz,
    disabled_reason       text NOT NULL DEFAULT '',
    -- Failed attempts in a row, and until when the endpoint rests after
    -- the last one.
    failures              integer NOT NULL DEFAULT 0,
    rest_until            timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The payload is kept as sent (bytea, not jsonb, which would reorder it):
-- a resend sends the same bytes under the same webhook-id.
CREATE TABLE {{schema}}.webhook_messages (
    tenant_id  text COLLATE "C" NOT NULL,
    id         uuid NOT NULL,
    user_id    uuid NOT NULL,
    type       text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- EraseUser: a user's messages.
CREATE INDEX webhook_messages_user ON {{schema}}.webhook_messages (tenant_id, user_id);

-- user_id is the message's, kept here for the order rule of the claim.
CREATE TABLE {{schema}}.webhook_deliveries (
    tenant_id        text COLLATE "C" NOT NULL,
    endpoint_id      uuid NOT NULL,
    message_id       uuid NOT NULL,
    user_id          uuid NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- While pending: when it is due; while claimed, when the claim lapses.
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    last_status_code integer NOT NULL DEFAULT 0,
    last_error       text NOT NULL DEFAULT '',
    response_excerpt text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    -- When a delivered or failed delivery may be pruned; NULL while pending.
    expires_at       timestamptz,
    PRIMARY KEY (tenant_id, endpoint_id, message_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES {{schema}}.webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, message_id) REFERENCES {{schema}}.webhook_messages (tenant_id, id) ON DELETE CASCADE
);

-- ClaimWebhook walks the pending deliveries in claim order; the order
-- rule probes webhook_deliveries_order for an earlier pending message of
-- the same endpoint and user. Delivered and failed ones are in neither.
CREATE INDEX webhook_deliveries_claim ON {{schema}}.webhook_deliveries (next_attempt_at, message_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON {{schema}}.webhook_deliveries (tenant_id, endpoint_id, user_id, message_id)
    WHERE status = 'pending';

-- The cascade from webhook_messages (EraseUser, pruning) finds a
-- message's deliveries.
CREATE INDEX webhook_deliveries_message ON {{schema}}.webhook_deliveries (tenant_id, message_id);

-- DeleteExpired reads only the deliveries it deletes.
CREATE INDEX webhook_deliveries_expires_at ON {{schema}}.webhook_deliveries (expires_at);
