-- Erasure (Manager.EraseUser): the append-only rule of events lets exactly
-- one kind of write through. An UPDATE passes only in a transaction that
-- set usermgmt.erasing to its own id (set_config(…, pg_current_xact_id()::text,
-- true): transaction-local, so it ends with the transaction and is safe
-- behind PgBouncer in transaction mode; and a value left in a session
-- names a transaction that is over, so it opens nothing), and then only
-- if it clears ip and user_agent and at most clears detail, changing
-- nothing else of the row. DELETE never
-- passes: retention drops whole partitions, which fires no trigger. This
-- guards against the library's own mistakes and stray SQL; a role that can
-- run SQL can set the flag too, so keep writes to events for the app's role.
--
-- The statement trigger of 0001 calls the same function; the row trigger
-- below checks each row. Both stay on the table whatever its partitions.
CREATE OR REPLACE FUNCTION {{schema}}.events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('usermgmt.erasing', true) = pg_current_xact_id()::text THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        END IF;
        IF to_jsonb(NEW) - '{ip,user_agent,detail}'::text[] = to_jsonb(OLD) - '{ip,user_agent,detail}'::text[]
                AND NEW.ip = '' AND NEW.user_agent = '' AND NEW.detail IN (OLD.detail, '') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'usermgmt: erasure may only clear the ip, user_agent and detail of an event'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'usermgmt: activity events are append-only'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_erasure_only
    BEFORE UPDATE ON {{schema}}.events
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.events_append_only();

-- The events a user acted in on someone else (an admin's changes, the
-- system's), which erasure pseudonymises: a small share of the log, since a
-- person's own sign-ins and codes have the person as actor and subject.
CREATE INDEX events_tenant_actor ON {{schema}}.events (tenant_id, actor_id) WHERE actor_id <> user_id;
