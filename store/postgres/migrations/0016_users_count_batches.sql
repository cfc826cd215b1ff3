-- usermgmt schema, version 16: the badge counts follow a batch of new
-- users in one write (issue 14: ImportUsers inserts 1,000 users a
-- statement, Tx.CreateUsers).
--
-- The row trigger of 0001 upserted the tenant's one tenant_counts row for
-- every user inserted: a batch made a thousand versions of that row in
-- one transaction, and while any other transaction held an old snapshot
-- (a long report, a session idle in a transaction) none of them could be
-- pruned, so each upsert walked all the versions before it. An import of
-- 100,000 users slowed from thousands of rows a second to a hundred. A
-- statement trigger with the inserted rows as a transition table counts
-- the statement's users by tenant and status and upserts each tenant's
-- row once. Deletes and status changes stay row triggers: they come one
-- user at a time.
DROP TRIGGER users_count_insert_delete ON {{schema}}.users;

CREATE TRIGGER users_count_delete
    AFTER DELETE ON {{schema}}.users
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.users_count_status();

CREATE FUNCTION {{schema}}.users_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {{schema}}.tenant_counts AS c (tenant_id, invited, active, deactivated)
    SELECT tenant_id, count(*) FILTER (WHERE status = 'invited'), count(*) FILTER (WHERE status = 'active'),
           count(*) FILTER (WHERE status = 'deactivated')
    FROM inserted GROUP BY tenant_id
    ON CONFLICT (tenant_id) DO UPDATE SET
        invited = c.invited + excluded.invited,
        active = c.active + excluded.active,
        deactivated = c.deactivated + excluded.deactivated;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_insert
    AFTER INSERT ON {{schema}}.users
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.users_count_inserted();
