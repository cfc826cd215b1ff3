package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// peers asks the bench's questions the way common user-management code
// does, on the same tables: a total COUNT(*) beside every page, OFFSET
// paging, ILIKE without a trigram index, and a session check that reads
// and writes in separate statements with a synchronous commit.
type peers struct {
	b      *bench
	s      string
	hashes [][]byte // of the bench's live session tokens
}

func newPeers(b *bench) *peers {
	p := &peers{b: b, s: `"` + b.schema + `"`}
	for _, t := range b.tokens {
		h := sha256.Sum256([]byte(t))
		p.hashes = append(p.hashes, h[:])
	}
	return p
}

const peerUserCols = `id, tenant_id, email, status, roles, mfa_enabled, last_login_at, activated_at, created_at, updated_at`

func drain(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// page: badge counts by GROUP BY, then the page by OFFSET.
func (p *peers) page(offset int) func(int) error {
	return func(int) error {
		ctx := context.Background()
		if err := drain(p.b.sqldb.QueryContext(ctx, `SELECT status, count(*) FROM `+p.s+`.users WHERE tenant_id = $1 GROUP BY status`, bigTenant)); err != nil {
			return err
		}
		return drain(p.b.sqldb.QueryContext(ctx, `SELECT `+peerUserCols+` FROM `+p.s+`.users WHERE tenant_id = $1
			ORDER BY email LIMIT 50 OFFSET $2`, bigTenant, offset))
	}
}

// search: a COUNT(*) of the matches and the first page, with ILIKE and no
// trigram index (bitmap scans off for the transaction: GIN is bitmap only).
func (p *peers) search(term string) func(int) error {
	return func(int) error {
		ctx := context.Background()
		tx, err := p.b.sqldb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_bitmapscan = off`); err != nil {
			return err
		}
		pattern := "%" + term + "%"
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+p.s+`.users WHERE tenant_id = $1 AND email ILIKE $2`, bigTenant, pattern).Scan(&n); err != nil {
			return err
		}
		return drain(tx.QueryContext(ctx, `SELECT `+peerUserCols+` FROM `+p.s+`.users WHERE tenant_id = $1 AND email ILIKE $2
			ORDER BY email LIMIT 50`, bigTenant, pattern))
	}
}

// activity: the user's total, then the page by OFFSET on created_at.
func (p *peers) activity(offset int) func(int) error {
	return func(int) error {
		ctx := context.Background()
		var n int
		if err := p.b.sqldb.QueryRowContext(ctx, `SELECT count(*) FROM `+p.s+`.events WHERE tenant_id = $1 AND user_id = $2`,
			bigTenant, p.b.heavyID).Scan(&n); err != nil {
			return err
		}
		return drain(p.b.sqldb.QueryContext(ctx, `SELECT id, tenant_id, user_id, type, actor_id, ip, user_agent, detail, created_at
			FROM `+p.s+`.events WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 50 OFFSET $3`,
			bigTenant, p.b.heavyID, offset))
	}
}

// authenticate: read the session, read the user, write the last-seen time.
func (p *peers) authenticate() func(int) error {
	return func(i int) error {
		ctx := context.Background()
		hash := p.hashes[i%len(p.hashes)]
		var (
			id        uuid.UUID
			tenant    string
			userID    uuid.UUID
			expires   time.Time
			idleUntil time.Time
			status    string
		)
		if err := p.b.sqldb.QueryRowContext(ctx, `SELECT id, tenant_id, user_id, expires_at, idle_expires_at FROM `+p.s+`.sessions WHERE token_hash = $1`,
			hash).Scan(&id, &tenant, &userID, &expires, &idleUntil); err != nil {
			return err
		}
		if err := p.b.sqldb.QueryRowContext(ctx, `SELECT status FROM `+p.s+`.users WHERE tenant_id = $1 AND id = $2`, tenant, userID).Scan(&status); err != nil {
			return err
		}
		if status != "active" {
			return fmt.Errorf("peer authenticate: user %s", status)
		}
		_, err := p.b.sqldb.ExecContext(ctx, `UPDATE `+p.s+`.sessions SET idle_expires_at = $2 WHERE id = $1`, id, p.b.clk.Now().Add(30*time.Minute))
		return err
	}
}
