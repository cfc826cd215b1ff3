-- The activity log, partitioned by month so that retention drops whole
-- months (DROP TABLE) instead of deleting rows.
--
-- The key is the id: events are UUIDv7, whose first 48 bits are the Unix
-- time in milliseconds, so a month is the id range from the month's first
-- millisecond to the next month's. Ranging on id keeps the primary key
-- (tenant_id, user_id, id) as it is (a partitioned table's unique keys
-- must hold the partition key; created_at would have to join it), and a
-- user's page, read newest first by id with "id < cursor", walks the
-- partitions in order and stops at the LIMIT.
--
-- The table of before becomes the first partition, events_legacy, as it
-- is: attaching it checks no row (its NOT NULL id is the whole constraint
-- of a FROM (MINVALUE) TO (MAXVALUE) partition), and events_prepare then
-- closes it at the month after its newest event (one scan for max(id),
-- one to check the bound) and opens the months after it.
--
-- The last partition is always open-ended (… TO (MAXVALUE)), and there is
-- no DEFAULT partition (a DEFAULT partition would stop PostgreSQL reading
-- the partitions in order): an insert always has a partition. Normally the
-- last one is three months ahead and empty; if no one calls
-- events_prepare for longer (Migrate and PruneExpired do), it takes the
-- events of those months, and the next events_prepare closes it after its
-- newest event, at the cost of scanning it. Once retention has dropped
-- the first partition, an event older than the oldest month kept has no
-- partition (its insert fails): the Manager only writes events of now.
ALTER TABLE {{schema}}.events RENAME TO events_legacy;
ALTER TABLE {{schema}}.events_legacy RENAME CONSTRAINT events_pkey TO events_legacy_pkey;
CREATE TABLE {{schema}}.events (LIKE {{schema}}.events_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (id);
ALTER TABLE {{schema}}.events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, user_id, id);
ALTER TABLE {{schema}}.events ATTACH PARTITION {{schema}}.events_legacy FOR VALUES FROM (MINVALUE) TO (MAXVALUE);

-- The append-only rule: a statement trigger fires only on the table a
-- statement names, so the parent and every partition have it (the legacy
-- partition keeps its own). Dropping a partition fires none: retention.
CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON {{schema}}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.events_append_only();

-- events_bound is the smallest UUIDv7 of the millisecond of t (UTC).
CREATE FUNCTION {{schema}}.events_bound(t timestamp) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') || repeat('0', 20))::uuid
$$;

-- events_month is the month (UTC) of the UUIDv7 id.
CREATE FUNCTION {{schema}}.events_month(id uuid) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT date_trunc('month', to_timestamp(('x' || lpad(left(replace(id::text, '-', ''), 12), 16, '0'))::bit(64)::bigint
        / 1000.0) AT TIME ZONE 'UTC')
$$;

-- events_partitions lists the partitions with their bounds; lo is NULL
-- for MINVALUE, hi for MAXVALUE.
CREATE FUNCTION {{schema}}.events_partitions(OUT part regclass, OUT lo uuid, OUT hi uuid) RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass, nullif(b[1], 'MINVALUE')::uuid, nullif(b[2], 'MAXVALUE')::uuid
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid,
    regexp_match(pg_get_expr(c.relpartbound, c.oid), '^FOR VALUES FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)$') b
    WHERE i.inhparent = '{{schema}}.events'::regclass
$$;

-- events_prepare makes sure every month up to two after that of at has a
-- partition of its own and the open-ended last one starts after them. It
-- does nothing (and takes no lock that stops reads or writes) when that
-- is so already, or when another transaction is at it (it locks the
-- parent only, so autovacuum of a partition is not in its way);
-- otherwise it holds an ACCESS EXCLUSIVE lock on events for a moment
-- (lock_timeout 2s).
CREATE FUNCTION {{schema}}.events_prepare(at timestamptz) RETURNS void
LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
DECLARE
    target timestamp := date_trunc('month', at AT TIME ZONE 'UTC') + interval '3 months';
    tail regclass;
    lo uuid;
    newest uuid;
    m timestamp;
BEGIN
    BEGIN
        LOCK TABLE ONLY {{schema}}.events IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN;
    END;
    SELECT p.part, p.lo INTO STRICT tail, lo FROM {{schema}}.events_partitions() p WHERE p.hi IS NULL;
    IF lo >= {{schema}}.events_bound(target) THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT id FROM %s ORDER BY id DESC LIMIT 1', tail) INTO newest;
    m := greatest(date_trunc('month', at AT TIME ZONE 'UTC'), {{schema}}.events_month(newest) + interval '1 month',
        {{schema}}.events_month(lo) + interval '1 month');
    EXECUTE format('ALTER TABLE {{schema}}.events DETACH PARTITION %s', tail);
    EXECUTE format('ALTER TABLE {{schema}}.events ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%L)',
        tail, coalesce(quote_literal(lo), 'MINVALUE'), {{schema}}.events_bound(m));
    LOOP
        EXECUTE format('CREATE TABLE {{schema}}.%I PARTITION OF {{schema}}.events FOR VALUES FROM (%L) TO (%s)',
            to_char(m, '"events_"YYYY_MM'), {{schema}}.events_bound(m),
            CASE WHEN m >= target THEN 'MAXVALUE' ELSE quote_literal({{schema}}.events_bound(m + interval '1 month')) END);
        EXECUTE format('CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON {{schema}}.%I
            FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.events_append_only()', to_char(m, '"events_"YYYY_MM'));
        EXIT WHEN m >= target;
        m := m + interval '1 month';
    END LOOP;
END
$$;

-- events_drop drops every partition whose events are all older than
-- before and returns how many events they held (counted just before the
-- drop). The open-ended last partition is never dropped. Like
-- events_prepare it does nothing while another transaction is at it.
CREATE FUNCTION {{schema}}.events_drop(before timestamptz) RETURNS bigint
LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
DECLARE
    p regclass;
    n bigint;
    total bigint := 0;
BEGIN
    BEGIN
        LOCK TABLE ONLY {{schema}}.events IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN 0;
    END;
    FOR p IN SELECT e.part FROM {{schema}}.events_partitions() e
        WHERE e.hi <= {{schema}}.events_bound(before AT TIME ZONE 'UTC') LOOP
        EXECUTE format('SELECT count(*) FROM %s', p) INTO n;
        EXECUTE format('DROP TABLE %s', p);
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;

SELECT {{schema}}.events_prepare(now());
