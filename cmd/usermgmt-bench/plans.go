package main

import (
	"context"
	"fmt"
	"strings"
)

// plans explains, with the bench's data, the statements the store runs for
// the measured reads (the same text as store/postgres's queries, values
// inlined) and the peer-style ones.
func (b *bench) plans(ctx context.Context) (string, error) {
	s := `"` + b.schema + `"`
	cols := peerUserCols
	big := "'" + bigTenant + "'"
	heavy := "'" + b.heavyID.String() + "'"
	var afterEmail, windowEnd string
	if err := b.sqldb.QueryRowContext(ctx, `SELECT email FROM `+s+`.users WHERE tenant_id = $1 ORDER BY email OFFSET $2 LIMIT 1`, bigTenant, b.userDepth-1).Scan(&afterEmail); err != nil {
		return "", err
	}
	if err := b.sqldb.QueryRowContext(ctx, `SELECT email FROM `+s+`.users WHERE tenant_id = $1 ORDER BY email OFFSET 199 LIMIT 1`, bigTenant).Scan(&windowEnd); err != nil {
		return "", err
	}
	var tokenHash string
	if err := b.sqldb.QueryRowContext(ctx, `SELECT encode(token_hash, 'hex') FROM `+s+`.sessions WHERE user_id = $1 LIMIT 1`, b.loginID).Scan(&tokenHash); err != nil {
		return "", err
	}
	list := []struct{ name, sql string }{
		{"ListUsers first page (store)", `SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big + ` ORDER BY email LIMIT 51`},
		{"Badge counts (store)", `SELECT invited, active, deactivated FROM ` + s + `.tenant_counts WHERE tenant_id = ` + big},
		{"ListUsers 1,000 pages deep (store, keyset)", `SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big +
			` AND email > '` + afterEmail + `' ORDER BY email LIMIT 51`},
		{"Search, step 1: the first 200 users in email order (store; same for every term)", `SELECT ` + cols + `, hit, n FROM (
			SELECT ` + cols + `, email LIKE '%` + rareTerm + `%' AS hit, row_number() OVER (ORDER BY email) AS rn, count(*) OVER () AS n
			FROM (SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big + ` ORDER BY email LIMIT 200) w) x
			WHERE hit OR rn = n ORDER BY email`},
		{"Search, step 2, rare term: trigram index after the window (store)", `SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big +
			` AND email > '` + windowEnd + `' AND email LIKE '%` + rareTerm + `%' ORDER BY email || '' LIMIT 51`},
		{"Search, step 2, common term: trigram index after the window (store)", `SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big +
			` AND email > '` + windowEnd + `' AND email LIKE '%` + commonTerm + `%' ORDER BY email || '' LIMIT 51`},
		{"ListActivity deep cursor (store; actors named by the users primary key)", `SELECT e.id, e.tenant_id, e.user_id, e.type, e.actor_id, e.ip, e.user_agent, e.detail, e.created_at, COALESCE(a.email, '') FROM ` + s +
			`.events e LEFT JOIN ` + s + `.users a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id WHERE e.tenant_id = ` + big + ` AND e.user_id = ` + heavy + ` AND e.id < '` + b.actBefore.String() + `' ORDER BY e.id DESC LIMIT 51`},
		{"TouchSession (store; rolled back)", `WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
			UPDATE ` + s + `.sessions s SET idle_expires_at = LEAST(now() + interval '30 minutes', s.expires_at)
			FROM ` + s + `.users u, async
			WHERE s.token_hash = '\x` + tokenHash + `' AND u.tenant_id = s.tenant_id AND u.id = s.user_id
				AND u.status = 'active' AND now() < s.expires_at AND now() < s.idle_expires_at RETURNING s.id`},
		{"CountActiveWithRole(tenant_admin) (store)", `SELECT count(*) FROM ` + s + `.users WHERE tenant_id = ` + big +
			` AND status = 'active' AND roles @> ARRAY['tenant_admin']::text[]`},
		{"Peer: badge counts by GROUP BY", `SELECT status, count(*) FROM ` + s + `.users WHERE tenant_id = ` + big + ` GROUP BY status`},
		{"Peer: deep OFFSET", `SELECT ` + cols + ` FROM ` + s + `.users WHERE tenant_id = ` + big + ` ORDER BY email LIMIT 50 OFFSET ` + fmt.Sprint(b.userDepth)},
		{"Peer: ILIKE rare term without trigram index", `SET LOCAL enable_bitmapscan = off; EXPLAIN (ANALYZE, BUFFERS) SELECT ` + cols + ` FROM ` + s +
			`.users WHERE tenant_id = ` + big + ` AND email ILIKE '%` + rareTerm + `%' ORDER BY email LIMIT 50`},
		{"Peer: activity deep OFFSET", `SELECT id FROM ` + s + `.events WHERE tenant_id = ` + big + ` AND user_id = ` + heavy +
			` ORDER BY created_at DESC LIMIT 50 OFFSET ` + fmt.Sprint(b.actDepth)},
	}
	var sb strings.Builder
	for _, p := range list {
		tx, err := b.sqldb.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		q := p.sql
		if !strings.Contains(q, "EXPLAIN") {
			q = "EXPLAIN (ANALYZE, BUFFERS) " + q
		}
		var lines []string
		// Multi-statement text (the SET LOCAL case) needs the simple
		// protocol: no arguments, so pgx uses it for Exec; read the plan
		// with a second query instead.
		if strings.Contains(q, ";") {
			parts := strings.SplitN(q, ";", 2)
			if _, err := tx.ExecContext(ctx, parts[0]); err != nil {
				tx.Rollback()
				return "", fmt.Errorf("%s: %w", p.name, err)
			}
			q = parts[1]
		}
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			tx.Rollback()
			return "", fmt.Errorf("%s: %w", p.name, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				tx.Rollback()
				return "", err
			}
			lines = append(lines, line)
		}
		rows.Close()
		tx.Rollback()
		fmt.Fprintf(&sb, "### %s\n\n```\n%s\n```\n\n", p.name, strings.Join(lines, "\n"))
	}
	return sb.String(), nil
}
