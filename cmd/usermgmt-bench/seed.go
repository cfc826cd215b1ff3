package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"
)

// Well-known users of the big tenant that the measurements act on.
const (
	bigTenant   = "t00000"
	adminEmail  = "admin@bigco.example"
	heavyEmail  = "heavy.user@bigco.example"
	targetEmail = "force.logout@bigco.example"
	rareTerm    = "quokka"
	commonTerm  = "maria"
	benchPHC    = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzZWVk$YmVuY2hzZWVkYmVuY2hzZWVkYmVuY2hzZWVkYmVuYw"
)

type seedParams struct {
	Tenants, Users, BigTenant, Events, HeavyEvents, Sessions int
}

func (p seedParams) key() string {
	return fmt.Sprintf("tenants=%d users=%d big=%d events=%d heavy=%d sessions=%d",
		p.Tenants, p.Users, p.BigTenant, p.Events, p.HeavyEvents, p.Sessions)
}

func (p seedParams) validate() error {
	switch {
	case p.Tenants < 2:
		return fmt.Errorf("need at least 2 tenants")
	case p.BigTenant < 10 || p.Users-p.BigTenant < p.Tenants-1:
		return fmt.Errorf("need a big tenant of at least 10 users and one user per other tenant")
	case p.Events < p.HeavyEvents+(p.Users-1):
		return fmt.Errorf("need at least one event per user besides the heavy user's")
	}
	return nil
}

// seeded reports whether schema already holds data seeded with p.
func seeded(ctx context.Context, db *sql.DB, schema string, p seedParams) (bool, error) {
	var exists bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'bench_seed')`, schema).Scan(&exists)
	if err != nil || !exists {
		return false, err
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM "`+schema+`".bench_seed WHERE params = $1`, p.key()).Scan(&n)
	return n > 0, err
}

// seed fills the (freshly migrated) schema with generate_series, on one
// connection so that its settings hold. Indexes and constraints of the big
// tables are dropped first and rebuilt after, from their own definitions;
// the counts trigger is off during the load and the counts are computed
// once at the end.
func seed(ctx context.Context, db *sql.DB, schema string, p seedParams) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	s := `"` + schema + `"`
	exec := func(what, q string, args ...any) error {
		start := time.Now()
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		log.Printf("seed: %-40s %10d rows  %6.1fs", what, n, time.Since(start).Seconds())
		return nil
	}
	if err := exec("settings", `SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; SET synchronous_commit = off`); err != nil {
		return err
	}

	rebuildUsers, err := dropIndexes(ctx, conn, schema, "users")
	if err != nil {
		return err
	}
	rebuildEvents, err := dropIndexes(ctx, conn, schema, "events")
	if err != nil {
		return err
	}
	if err := exec("disable counts trigger", `ALTER TABLE `+s+`.users DISABLE TRIGGER users_count_insert_delete`); err != nil {
		return err
	}
	if err := exec("disable roles trigger", `ALTER TABLE `+s+`.users DISABLE TRIGGER users_sync_roles_insert_delete`); err != nil {
		return err
	}

	others := p.Tenants - 1
	names := `(ARRAY['maria','john','wei','fatima','olga','jose','aisha','liam','noah','emma','mohammed','sofia',
		'lucas','mia','yuki','ivan','chen','ana','david','sara','omar','lea','tom','nina','raj','eva','ali','zoe',
		'kai','ines','marco','hana','leo','ida','paul','vera','sam','lina','ben','ada'])`
	lasts := `(ARRAY['garcia','smith','wang','khan','ivanova','silva','okafor','murphy','muller','rossi','kim','novak',
		'dubois','jensen','tanaka','petrov','li','santos','cohen','haddad','nguyen','berg','lopez','costa','singh',
		'meyer','ali','martin','ito','moreau','ricci','park','lund','fischer','diaz','weber','popov','adams','king','hall'])`
	err = exec("users", `
		INSERT INTO `+s+`.users (tenant_id, id, email, status, roles, direct_roles, mfa_enabled, last_login_at,
			activated_at, created_at, updated_at, password_hash)
		SELECT tenant_id, gen_random_uuid(), email, status, roles, roles, -- every role granted directly
			status <> 'invited',
			CASE WHEN status = 'active' AND k % 4 <> 0 THEN timestamptz '2025-06-01' - (k % 1000) * interval '1 hour' END,
			CASE WHEN status <> 'invited' THEN created END,
			created, created,
			CASE WHEN status = 'invited' THEN '' ELSE $3 END
		FROM (
			SELECT tenant_id, k, email,
				CASE WHEN k = 1 THEN '{tenant_admin}'::text[] WHEN k % 10 = 0 THEN '{supervisor,agent}' ELSE '{agent}' END AS roles,
				CASE WHEN k <= 3 OR (k::bigint * 7919) % 100 < 80 THEN 'active'
					WHEN (k::bigint * 7919) % 100 < 95 THEN 'invited' ELSE 'deactivated' END AS status,
				timestamptz '2024-01-01' + (k % 500) * interval '1 day' AS created
			FROM (
				SELECT '`+bigTenant+`' AS tenant_id, i AS k,
					CASE i WHEN 1 THEN '`+adminEmail+`' WHEN 2 THEN '`+heavyEmail+`' WHEN 3 THEN '`+targetEmail+`'
					ELSE CASE WHEN i % 20000 = 1234 THEN '`+rareTerm+`.' ELSE '' END
						|| `+names+`[1 + i % 40] || '.' || `+lasts+`[1 + (i / 40) % 40] || i || '@bigco.example' END AS email
				FROM generate_series(1, $1::int) i
				UNION ALL
				SELECT 't' || lpad((1 + (j - 1) % $2::int)::text, 5, '0'), (j - 1) / $2::int + 1,
					`+names+`[1 + j % 40] || '.' || `+lasts+`[1 + (j / 40) % 40] || j || '@acme' || (1 + (j - 1) % $2::int) || '.example'
				FROM generate_series(1, $4::int) j
			) x
		) y`, p.BigTenant, others, benchPHC, p.Users-p.BigTenant)
	if err != nil {
		return err
	}

	// Events: the heavy user gets HeavyEvents, every other user Events'
	// share (some one more than others). Ids are UUIDv7 built from the
	// event time, so id order is time order as with uuid.NewV7.
	rest := p.Events - p.HeavyEvents
	per := rest / (p.Users - 1)
	extraPerMille := (rest - per*(p.Users-1)) * 1000 / (p.Users - 1)
	err = exec("events", `
		INSERT INTO `+s+`.events (tenant_id, user_id, id, type, actor_id, ip, user_agent, detail, created_at)
		SELECT u.tenant_id, u.id,
			(lpad(to_hex((extract(epoch FROM x.ts) * 1000)::bigint), 12, '0') || '7' || substr(x.r, 1, 3) || '8' || substr(x.r, 4, 15))::uuid,
			(ARRAY['login.succeeded','login.failed','mfa.verified','role.granted','session.refreshed',
				'password.reset_requested','logout','device.trusted'])[1 + g % 8],
			u.id, '10.' || (g % 250) || '.0.1', 'Mozilla/5.0 (usermgmt-bench)', '', x.ts
		FROM (SELECT tenant_id, id, email, row_number() OVER () AS rn FROM `+s+`.users) u,
			LATERAL generate_series(1, CASE WHEN u.tenant_id = '`+bigTenant+`' AND u.email = '`+heavyEmail+`' THEN $1::int
				ELSE $2::int + (u.rn % 1000 < $3::int)::int END) g,
			LATERAL (SELECT timestamptz '2024-06-01' + g * interval '1 minute' + (u.rn % 60) * interval '1 second' AS ts,
				md5(random()::text || g::text) AS r) x`, p.HeavyEvents, per, extraPerMille)
	if err != nil {
		return err
	}

	err = exec("sessions", `
		INSERT INTO `+s+`.sessions (id, tenant_id, user_id, token_hash, refresh_hash, roles, ip, user_agent,
			created_at, idle_expires_at, expires_at)
		SELECT gen_random_uuid(), tenant_id, id, sha256(('s' || random()::text || id::text)::bytea),
			sha256(('r' || random()::text || id::text)::bytea), roles, '10.0.0.1', 'Mozilla/5.0 (usermgmt-bench)',
			now(), now() + interval '30 minutes', now() + interval '12 hours'
		FROM `+s+`.users WHERE status = 'active' AND email <> '`+targetEmail+`' LIMIT $1`, p.Sessions)
	if err != nil {
		return err
	}
	if err := exec("refresh tokens", `INSERT INTO `+s+`.refresh_tokens (hash, session_id) SELECT refresh_hash, id FROM `+s+`.sessions`); err != nil {
		return err
	}
	if err := exec("tenant counts", `
		INSERT INTO `+s+`.tenant_counts (tenant_id, invited, active, deactivated)
		SELECT tenant_id, count(*) FILTER (WHERE status = 'invited'), count(*) FILTER (WHERE status = 'active'),
			count(*) FILTER (WHERE status = 'deactivated')
		FROM `+s+`.users GROUP BY tenant_id
		ON CONFLICT (tenant_id) DO UPDATE SET invited = excluded.invited, active = excluded.active,
			deactivated = excluded.deactivated`); err != nil {
		return err
	}
	if err := exec("enable counts trigger", `ALTER TABLE `+s+`.users ENABLE TRIGGER users_count_insert_delete`); err != nil {
		return err
	}
	// What the roles trigger would have written, in one statement.
	if err := exec("user roles", `INSERT INTO `+s+`.user_roles (tenant_id, role, email, status)
		SELECT DISTINCT u.tenant_id, r, u.email, u.status FROM `+s+`.users u, unnest(u.roles) r`); err != nil {
		return err
	}
	if err := exec("enable roles trigger", `ALTER TABLE `+s+`.users ENABLE TRIGGER users_sync_roles_insert_delete`); err != nil {
		return err
	}
	for _, q := range append(rebuildUsers, rebuildEvents...) {
		if err := exec("rebuild "+indexName(q), q); err != nil {
			return err
		}
	}
	for _, t := range []string{"users", "user_roles", "events", "sessions", "refresh_tokens", "tenant_counts"} {
		if err := exec("vacuum analyze "+t, `VACUUM (ANALYZE) `+s+`.`+t); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+s+`.bench_seed (params text PRIMARY KEY, seeded_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO `+s+`.bench_seed (params) VALUES ('`+p.key()+`')`)
	return err
}

// dropIndexes drops every index and primary or unique constraint of table
// and returns the statements that rebuild them as the migrations made them.
func dropIndexes(ctx context.Context, conn *sql.Conn, schema, table string) ([]string, error) {
	s := `"` + schema + `"`
	var rebuild, drop []string
	rows, err := conn.QueryContext(ctx, `
		SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
		WHERE c.conrelid = ($1 || '.' || $2)::regclass AND c.contype IN ('p', 'u')`, s, table)
	if err != nil {
		return nil, err
	}
	var constraints []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		constraints = append(constraints, name)
		drop = append(drop, `ALTER TABLE `+s+`.`+table+` DROP CONSTRAINT `+name)
		rebuild = append(rebuild, `ALTER TABLE `+s+`.`+table+` ADD CONSTRAINT `+name+` `+def)
	}
	rows.Close()
	rows, err = conn.QueryContext(ctx, `
		SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, schema, table)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		if slices.Contains(constraints, name) {
			continue
		}
		drop = append(drop, `DROP INDEX `+s+`.`+name)
		rebuild = append([]string{def}, rebuild...) // plain indexes first: cheaper to build while alone
	}
	rows.Close()
	for _, q := range drop {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return rebuild, nil
}

func indexName(q string) string {
	f := strings.Fields(q)
	for i, w := range f {
		if (w == "INDEX" || w == "CONSTRAINT") && i+1 < len(f) {
			return f[i+1]
		}
	}
	return q
}
