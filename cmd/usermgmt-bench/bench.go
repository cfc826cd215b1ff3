package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// clock is the wall clock plus an offset the bench moves forward, so that
// a TOTP time step used at enrolment is not reused at the first login.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type bench struct {
	sqldb  *sql.DB
	store  *postgres.Store
	schema string
	m      *usermgmt.Manager
	mail   *mailertest.Mailer
	clk    *clock
	n      int
	warm   int
	// noPeers skips the peer-style queries (-peers=false), which take
	// most of a run on a big tenant.
	noPeers bool

	userDepth, actDepth int // rows before the deep cursors
	actTotal            int // events of the heavy user

	admin      context.Context // the big tenant's tenant_admin as actor
	adminID    uuid.UUID
	heavyID    uuid.UUID
	targetID   uuid.UUID
	userCursor string // after 1,000 pages of 50
	actCursor  string // after 250,000 events of the heavy user
	actBefore  uuid.UUID

	loginEmail, password, deviceToken string
	loginID                           uuid.UUID
	tokens                            []string // live session tokens
}

func newBench(ctx context.Context, sqldb *sql.DB, store *postgres.Store, schema string, p seedParams, n, warm int) (*bench, error) {
	b := &bench{sqldb: sqldb, store: store, schema: schema, mail: mailertest.New(), clk: &clock{}, n: n, warm: warm,
		// 1,000 pages of 50 and 250,000 events at full size; proportionally
		// less on a smaller seed.
		userDepth: min(50_000, p.BigTenant/2/200*200), actDepth: min(250_000, p.HeavyEvents*5/6/200*200),
		actTotal: p.HeavyEvents}
	m, err := usermgmt.New(store, usermgmt.Options{
		Mailer: b.mail, SecretKey: randomKey(), Clock: b.clk.Now, Logger: slog.New(slog.DiscardHandler),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"},
	})
	if err != nil {
		return nil, err
	}
	b.m = m
	for email, id := range map[string]*uuid.UUID{adminEmail: &b.adminID, heavyEmail: &b.heavyID, targetEmail: &b.targetID} {
		if err := b.sqldb.QueryRowContext(ctx, `SELECT id FROM "`+schema+`".users WHERE tenant_id = $1 AND email = $2`,
			bigTenant, email).Scan(id); err != nil {
			return nil, fmt.Errorf("find %s: %w", email, err)
		}
	}
	b.admin = usermgmt.WithActor(ctx, usermgmt.Actor{UserID: b.adminID, IP: "10.0.0.1", UserAgent: "usermgmt-bench"})
	if err := b.deepCursors(); err != nil {
		return nil, err
	}
	if err := b.loginUser(ctx); err != nil {
		return nil, fmt.Errorf("set up the login user: %w", err)
	}
	return b, nil
}

// deepCursors walks the big tenant's list and the heavy user's activity
// through the Manager, 200 at a time, to get real cursors deep inside them.
func (b *bench) deepCursors() error {
	cursor := ""
	for range b.userDepth / 200 {
		page, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			return err
		}
		cursor = page.NextCursor
	}
	b.userCursor = cursor
	cursor = ""
	var last uuid.UUID
	for range b.actDepth / 200 {
		page, err := b.m.ListActivity(b.admin, bigTenant, b.heavyID, usermgmt.ActivityQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			return err
		}
		cursor = page.NextCursor
		last = page.Events[len(page.Events)-1].ID
	}
	b.actCursor, b.actBefore = cursor, last
	return nil
}

// loginUser makes a person the way the product does: invited, accepts,
// enrols TOTP, logs in with a code and trusts the device. Later logins
// present the device token and skip TOTP.
func (b *bench) loginUser(ctx context.Context) error {
	b.loginEmail = fmt.Sprintf("login-%d@bigco.example", time.Now().UnixNano())
	b.password = "correct horse battery staple bench"
	u, err := b.m.InviteUser(b.admin, bigTenant, usermgmt.Invite{Email: b.loginEmail, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err != nil {
		return err
	}
	b.loginID = u.ID
	enr, err := b.m.AcceptInvite(ctx, b.mail.Token(b.loginEmail), b.password)
	if err != nil {
		return err
	}
	code, err := totp.GenerateCode(enr.Secret, b.clk.Now())
	if err != nil {
		return err
	}
	if _, err := b.m.CompleteMFAEnrollment(ctx, enr.Token, code); err != nil {
		return err
	}
	b.clk.Advance(31 * time.Second)
	res, err := b.m.Login(ctx, usermgmt.LoginRequest{TenantID: bigTenant, Email: b.loginEmail, Password: b.password})
	if err != nil {
		return err
	}
	if code, err = totp.GenerateCode(enr.Secret, b.clk.Now()); err != nil {
		return err
	}
	s, err := b.m.VerifyMFA(ctx, res.MFAChallenge, code, true)
	if err != nil {
		return err
	}
	b.deviceToken = s.DeviceToken
	for range 20 {
		res, err := b.m.Login(ctx, usermgmt.LoginRequest{TenantID: bigTenant, Email: b.loginEmail, Password: b.password, DeviceToken: b.deviceToken})
		if err != nil {
			return err
		}
		if res.Session == nil {
			return fmt.Errorf("trusted device login gave no session")
		}
		b.tokens = append(b.tokens, res.Session.Token)
	}
	return nil
}

// result is one measured operation.
type result struct {
	name             string
	targetP50, tP99  time.Duration // 0: no target
	p50, p99         time.Duration
	peerName         string
	peerP50, peerP99 time.Duration
	note             string
}

// operation is one measured call: fn timed n times (b.n when 0) after
// setup, untimed, before each; peer is the same question asked the way
// peers do, timed alike; t50 and t99 are the targets (0: none).
type operation struct {
	name      string
	t50, t99  time.Duration
	n         int
	setup, fn func(int) error
	peerName  string
	peer      func(int) error
	note      string
}

// measure runs fn warm times, then n times timed; setup runs before each
// call, untimed.
func (b *bench) measure(n int, setup, fn func(i int) error) (p50, p99 time.Duration, err error) {
	d := make([]time.Duration, 0, n)
	for i := range b.warm + n {
		if setup != nil {
			if err := setup(i); err != nil {
				return 0, 0, fmt.Errorf("setup: %w", err)
			}
		}
		start := time.Now()
		if err := fn(i); err != nil {
			return 0, 0, err
		}
		if i >= b.warm {
			d = append(d, time.Since(start))
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], nil
}

func (b *bench) run(ctx context.Context, only string, withPlans bool) (string, error) {
	onlyRe, err := regexp.Compile(only)
	if err != nil {
		return "", err
	}
	ms := time.Millisecond
	peers := newPeers(b)
	runID := time.Now().UnixNano()
	ops := []operation{
		{name: "ListUsers first page of 50 + badge counts", t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50})
				return err
			},
			peerName: "COUNT(*) GROUP BY status + LIMIT 50 OFFSET 0", peer: peers.page(0)},
		{name: fmt.Sprintf("ListUsers %d pages deep (keyset)", b.userDepth/50), t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Cursor: b.userCursor})
				return err
			},
			peerName: fmt.Sprintf("COUNT(*) GROUP BY status + LIMIT 50 OFFSET %d", b.userDepth), peer: peers.page(b.userDepth)},
		{name: "ListUsers role filter, common role (agent, ~100%)", t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Role: usermgmt.RoleAgent})
				return err
			}},
		{name: "ListUsers role filter, one in ten (supervisor)", t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Role: usermgmt.RoleSupervisor})
				return err
			}},
		{name: "ListUsers role filter, rare role (tenant_admin, 1 user)", t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Role: usermgmt.RoleTenantAdmin})
				return err
			}},
		{name: "ListUsers role filter, no holder (recruiter)", t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Role: usermgmt.RoleRecruiter})
				return err
			}},
		{name: "email substring search, rare term", t50: 3 * ms, t99: 10 * ms,
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Search: rareTerm})
				return err
			},
			peerName: "COUNT(*) + ILIKE '%" + rareTerm + "%' LIMIT 50, no trigram index", peer: peers.search(rareTerm)},
		{name: "email substring search, common term (no target)",
			fn: func(int) error {
				_, err := b.m.ListUsers(b.admin, bigTenant, usermgmt.ListUsersQuery{Limit: 50, Search: commonTerm})
				return err
			},
			peerName: "COUNT(*) + ILIKE '%" + commonTerm + "%' LIMIT 50, no trigram index", peer: peers.search(commonTerm)},
		{name: fmt.Sprintf("ListActivity page of 50, user with %d events, cursor %d deep", b.actTotal, b.actDepth), t50: ms, t99: 3 * ms,
			fn: func(int) error {
				_, err := b.m.ListActivity(b.admin, bigTenant, b.heavyID, usermgmt.ActivityQuery{Limit: 50, Cursor: b.actCursor})
				return err
			},
			peerName: fmt.Sprintf("COUNT(*) + ORDER BY created_at DESC LIMIT 50 OFFSET %d", b.actDepth), peer: peers.activity(b.actDepth)},
		{name: "Authenticate (session lookup)", t50: ms / 2, t99: 2 * ms,
			fn: func(i int) error {
				_, err := b.m.Authenticate(ctx, b.tokens[i%len(b.tokens)])
				return err
			},
			peerName: "SELECT session; SELECT user; UPDATE last seen (sync commit)", peer: peers.authenticate(),
			note: "each call also moves the idle expiry (one UPDATE … RETURNING, async commit)"},
		{name: "ForceLogout of a user with 50 sessions and 5 devices", t50: 3 * ms, t99: 10 * ms,
			setup: b.giveTargetSessions,
			fn:    func(int) error { return b.m.ForceLogout(b.admin, bigTenant, b.targetID) }},
		{name: "InviteUser (capturing mailer)", t50: 3 * ms, t99: 10 * ms,
			fn: func(i int) error {
				if i%100 == 0 {
					b.mail.Reset()
				}
				_, err := b.m.InviteUser(b.admin, bigTenant, usermgmt.Invite{
					Email: fmt.Sprintf("invite-%d-%d@bigco.example", runID, i), Roles: []usermgmt.Role{usermgmt.RoleAgent}})
				return err
			}},
		{name: "Login write path without the hash", t50: 3 * ms, t99: 10 * ms,
			fn:   b.loginWritePath,
			note: "the store calls of a trusted-device Manager.Login, made directly: the Manager cannot skip argon2id"},
		{name: "Login through the Manager, trusted device (incl. argon2id verify)", n: min(b.n, 200),
			fn: func(int) error {
				_, err := b.m.Login(ctx, usermgmt.LoginRequest{TenantID: bigTenant, Email: b.loginEmail, Password: b.password, DeviceToken: b.deviceToken})
				return err
			},
			note: "m=19456 KiB, t=2, p=1: the hash is most of it"},
	}
	ops = append(ops, b.scimOps(ctx)...)
	var results []result
	for _, op := range ops {
		if !onlyRe.MatchString(op.name) {
			continue
		}
		n := op.n
		if n == 0 {
			n = b.n
		}
		r := result{name: op.name, targetP50: op.t50, tP99: op.t99, peerName: op.peerName, note: op.note}
		if r.p50, r.p99, err = b.measure(n, op.setup, op.fn); err != nil {
			return "", fmt.Errorf("%s: %w", op.name, err)
		}
		if op.peer != nil && !b.noPeers {
			if r.peerP50, r.peerP99, err = b.measure(min(n, 200), nil, op.peer); err != nil {
				return "", fmt.Errorf("%s (peer): %w", op.name, err)
			}
		}
		results = append(results, r)
	}
	var plansText string
	if withPlans {
		var err error
		if plansText, err = b.plans(ctx); err != nil {
			return "", err
		}
	}
	return b.render(ctx, results, plansText)
}

// giveTargetSessions gives the ForceLogout target 50 sessions and 5
// trusted devices, as logins would have.
func (b *bench) giveTargetSessions(int) error {
	now := b.clk.Now().UTC()
	return b.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		for range 50 {
			s := &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: bigTenant, UserID: b.targetID,
				TokenHash: randomHash(), RefreshHash: randomHash(), Roles: []usermgmt.Role{usermgmt.RoleAgent},
				IP: "10.0.0.2", UserAgent: "usermgmt-bench", CreatedAt: now,
				IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour)}
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		for range 5 {
			d := &usermgmt.DeviceRecord{ID: uuid.Must(uuid.NewV7()), Hash: randomHash(), TenantID: bigTenant, UserID: b.targetID, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
			if err := tx.CreateDevice(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// loginWritePath is what Manager.Login does in the store for a correct
// password on a trusted device: read the user and reserve an attempt on
// its sign-in key, then in one transaction lock it, check the device,
// clear the key, stamp the login, log it and create the session.
func (b *bench) loginWritePath(int) error {
	ctx := context.Background()
	var u usermgmt.UserRecord
	err := b.store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		if u, err = tx.GetUserByEmail(ctx, bigTenant, b.loginEmail); err != nil {
			return err
		}
		a, err := tx.LockAttempts(ctx, bigTenant, b.loginEmail)
		if err != nil {
			return err
		}
		now := b.clk.Now().UTC().Truncate(time.Microsecond)
		a.Failures++
		a.ExpiresAt = now.Add(24 * time.Hour)
		return tx.PutAttempts(ctx, &a)
	})
	if err != nil {
		return err
	}
	now := b.clk.Now().UTC()
	deviceHash := usermgmt.TokenHash(sha256.Sum256([]byte(b.deviceToken)))
	return b.store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		u, err := tx.LockUser(ctx, u.TenantID, u.ID)
		if err != nil {
			return err
		}
		if _, err := tx.GetDevice(ctx, deviceHash); err != nil {
			return err
		}
		if err := tx.ClearAttempts(ctx, u.TenantID, u.Email); err != nil {
			return err
		}
		u.LastLoginAt = &now
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID,
			Type: usermgmt.EventLoginSucceeded, ActorID: u.ID, IP: "10.0.0.3", UserAgent: "usermgmt-bench",
			Detail: "trusted device", CreatedAt: now}); err != nil {
			return err
		}
		return tx.CreateSession(ctx, &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID,
			TokenHash: randomHash(), RefreshHash: randomHash(), Roles: u.Roles, IP: "10.0.0.3", UserAgent: "usermgmt-bench",
			CreatedAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour)})
	})
}

func randomHash() usermgmt.TokenHash {
	var h usermgmt.TokenHash
	rand.Read(h[:])
	return h
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

func verdict(r result) string {
	if r.targetP50 == 0 {
		return "—"
	}
	if r.p50 <= r.targetP50 && r.p99 <= r.tP99 {
		return "met"
	}
	return "**missed**"
}

func (b *bench) render(ctx context.Context, results []result, plansText string) (string, error) {
	var sb strings.Builder
	env, err := b.environment(ctx)
	if err != nil {
		return "", err
	}
	sb.WriteString(env)
	fmt.Fprintf(&sb, "\nOne client, sequential calls, warm cache: %d warm-up then %d timed calls per operation (peer queries: %d timed).\n\n",
		b.warm, b.n, min(b.n, 200))
	sb.WriteString("| operation (through the library, big tenant) | p50 | p99 | target p50 / p99 | | peer-style query | peer p50 | peer p99 | peer p50 ÷ ours |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		target := "—"
		if r.targetP50 != 0 {
			target = fmtDur(r.targetP50) + " / " + fmtDur(r.tP99)
		}
		ratio := "—"
		if r.peerP50 != 0 {
			ratio = fmt.Sprintf("%.1f×", float64(r.peerP50)/float64(r.p50))
		}
		peer := r.peerName
		if peer == "" {
			peer = "—"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, fmtDur(r.p50), fmtDur(r.p99), target,
			verdict(r), peer, fmtDur(r.peerP50), fmtDur(r.peerP99), ratio)
	}
	sb.WriteString("\nNotes:\n")
	for _, r := range results {
		if r.note != "" {
			fmt.Fprintf(&sb, "- %s: %s.\n", r.name, r.note)
		}
	}
	if plansText != "" {
		sb.WriteString("\n## Query plans (EXPLAIN ANALYZE, BUFFERS) of the statements behind the reads\n\n")
		sb.WriteString(plansText)
	}
	return sb.String(), nil
}

// eventsEstimate is a scalar subquery: the planner's row estimate of the
// events table of schema s (quoted), summed over its partitions when it
// is partitioned (the parent's own estimate is then -1).
func eventsEstimate(s string) string {
	return `(SELECT sum(greatest(reltuples, 0))::bigint FROM pg_class WHERE relkind = 'r'
		AND oid IN (SELECT '` + s + `.events'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = '` + s + `.events'::regclass))`
}

func (b *bench) environment(ctx context.Context) (string, error) {
	var version, sharedBuffers, workMem string
	var users, events, tenants, big, heavy, sessions int64
	s := `"` + b.schema + `"`
	q := func(query string, dest ...any) error { return b.sqldb.QueryRowContext(ctx, query).Scan(dest...) }
	if err := q(`SELECT version(), current_setting('shared_buffers'), current_setting('work_mem')`, &version, &sharedBuffers, &workMem); err != nil {
		return "", err
	}
	if err := q(`SELECT (SELECT sum(invited + active + deactivated) FROM `+s+`.tenant_counts), (SELECT count(*) FROM `+s+`.tenant_counts),
		(SELECT invited + active + deactivated FROM `+s+`.tenant_counts WHERE tenant_id = '`+bigTenant+`'),
		`+eventsEstimate(s)+`,
		(SELECT count(*) FROM `+s+`.events WHERE tenant_id = '`+bigTenant+`' AND user_id = '`+b.heavyID.String()+`'),
		(SELECT count(*) FROM `+s+`.sessions)`, &users, &tenants, &big, &events, &heavy, &sessions); err != nil {
		return "", err
	}
	return fmt.Sprintf("Data: %d tenants, %d users (big tenant %s: %d), ~%d activity events (heavy user: %d), %d live sessions.\n"+
		"Server: %s; shared_buffers %s, work_mem %s.\n", tenants, users, bigTenant, big, events, heavy, sessions,
		version, sharedBuffers, workMem), nil
}
