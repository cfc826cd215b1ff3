package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	neturl "net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/postgres"
)

const (
	// loadTenant holds what the load writes (role toggles, invitations),
	// so the seed stays as seeded; it is emptied before and after a run.
	loadTenant = "tload"
	// loadAgent marks the sessions the load makes, to delete them after.
	loadAgent = "usermgmt-bench load"
	// meUsers is how many users of the big tenant, and of other tenants,
	// get a session for GET /me.
	meUsers = 1000
)

// loadReport runs the load on the seeded schema and on a memory store and
// prints (and writes to out) the report.
func loadReport(ctx context.Context, url, schema string, cfg loadConfig, out string) error {
	open := func(app string) (*sql.DB, error) {
		u, err := withAppName(url, app)
		if err != nil {
			return nil, err
		}
		db, err := sql.Open("pgx", u)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(cfg.pool)
		db.SetMaxIdleConns(cfg.pool)
		return db, nil
	}
	floorDB, err := open(floorApp)
	if err != nil {
		return err
	}
	defer floorDB.Close()
	libDB, err := open(libraryApp)
	if err != nil {
		return err
	}
	bdb := bun.NewDB(libDB, pgdialect.New())
	defer bdb.Close()
	pg, err := postgres.New(bdb, postgres.WithSchema(schema))
	if err != nil {
		return err
	}
	if err := cleanLoad(ctx, floorDB, schema); err != nil {
		return err
	}
	defer func() {
		if err := cleanLoad(context.Background(), floorDB, schema); err != nil {
			log.Printf("load: clean up: %v", err)
		}
	}()
	users, admin, heavy, err := seededLoadUsers(ctx, floorDB, schema)
	if err != nil {
		return err
	}
	pgData, err := prepareLoad(ctx, pg, cfg.clients, 2, users, admin, heavy)
	if err != nil {
		return err
	}
	libPG, err := libraryHandler(pg)
	if err != nil {
		return err
	}
	targets := []loadTarget{
		{name: "floor", handler: newFloor(floorDB, schema), data: pgData[1], cpu: &cpuMeter{db: floorDB, app: floorApp}},
		{name: "library (PostgreSQL)", handler: libPG, data: pgData[0], cpu: &cpuMeter{db: floorDB, app: libraryApp}},
	}
	if cfg.memUsers > 0 {
		mem := memory.New()
		users, admin, heavy, err = seedTenants(ctx, mem, cfg.memUsers, cfg.memUsers*3)
		if err != nil {
			return err
		}
		memData, err := prepareLoad(ctx, mem, cfg.clients, 1, users, admin, heavy)
		if err != nil {
			return err
		}
		libMem, err := libraryHandler(mem)
		if err != nil {
			return err
		}
		targets = append(targets, loadTarget{name: "library (memory)", handler: libMem, data: memData[0]})
	}
	if cfg.routes == nil {
		cfg.routes = loadRoutes
	}
	results, err := runLoad(ctx, targets, cfg, log.Printf)
	if err != nil {
		return err
	}
	header, err := loadHeader(ctx, floorDB, schema, cfg)
	if err != nil {
		return err
	}
	return printReport(renderLoad(header, cfg.routes, targets, results, true), out)
}

// The application_name of each PostgreSQL target's pool, by which the
// load finds its backends (cpuMeter).
const (
	floorApp   = "usermgmt-bench-floor"
	libraryApp = "usermgmt-bench-library"
)

// withAppName sets application_name in a PostgreSQL URL.
func withAppName(raw, app string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func libraryHandler(store usermgmt.Store) (http.Handler, error) {
	m, err := usermgmt.New(store, usermgmt.Options{Mailer: discardMailer{}, SecretKey: randomKey(),
		Logger: slog.New(slog.DiscardHandler), Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	if err != nil {
		return nil, err
	}
	return httpapi.NewHandler(m, httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
}

type discardMailer struct{}

func (discardMailer) Send(context.Context, usermgmt.Message) error { return nil }

// seededLoadUsers finds in the seeded schema the users that get sessions
// for GET /me (active users of the big tenant, and the first active user
// of as many other tenants), the big tenant's admin and its heavy user.
func seededLoadUsers(ctx context.Context, db *sql.DB, schema string) (users []usermgmt.User, admin usermgmt.User, heavy uuid.UUID, err error) {
	s := `"` + schema + `"`
	rows, err := db.QueryContext(ctx, `
		(SELECT tenant_id, id, array_to_string(roles, ',') FROM `+s+`.users
		 WHERE tenant_id = $1 AND status = 'active' AND email NOT IN ($2, $3) ORDER BY id LIMIT $4)
		UNION ALL
		(SELECT DISTINCT ON (tenant_id) tenant_id, id, array_to_string(roles, ',') FROM `+s+`.users
		 WHERE tenant_id > $1 AND tenant_id <= 't' || lpad(($4 + 0)::text, 5, '0') AND status = 'active'
		 ORDER BY tenant_id, email)`, bigTenant, adminEmail, targetEmail, meUsers)
	if err != nil {
		return nil, admin, heavy, err
	}
	defer rows.Close()
	for rows.Next() {
		var u usermgmt.User
		var roles string
		if err := rows.Scan(&u.TenantID, &u.ID, &roles); err != nil {
			return nil, admin, heavy, err
		}
		for _, r := range strings.Split(roles, ",") { // the seed gives every user a role
			u.Roles = append(u.Roles, usermgmt.Role(r))
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, admin, heavy, err
	}
	admin.TenantID, admin.Roles = bigTenant, []usermgmt.Role{usermgmt.RoleTenantAdmin}
	err = db.QueryRowContext(ctx, `SELECT (SELECT id FROM `+s+`.users WHERE tenant_id = $1 AND email = $2),
		(SELECT id FROM `+s+`.users WHERE tenant_id = $1 AND email = $3)`, bigTenant, adminEmail, heavyEmail).Scan(&admin.ID, &heavy)
	return users, admin, heavy, err
}

// prepareLoad makes, through the store, a session for each of users and
// one a client for admin, and the load tenant: one admin with a session a
// client, and sets × clients active agents whose role the clients toggle.
// It returns sets loadData that share the sessions and differ in the
// toggled users and invited emails.
func prepareLoad(ctx context.Context, store usermgmt.Store, clients, sets int, users []usermgmt.User, admin usermgmt.User, heavy uuid.UUID) ([]*loadData, error) {
	now := time.Now().UTC()
	shared := loadData{heavyID: heavy}
	var toggles []uuid.UUID
	loadUser := func(tx usermgmt.Tx, i int, role usermgmt.Role) (usermgmt.User, error) {
		u := usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: loadTenant,
			Email: fmt.Sprintf("%s-%d@load.example", role, i), Status: usermgmt.StatusActive,
			Roles: []usermgmt.Role{role}, DirectRoles: []usermgmt.Role{role}, ActivatedAt: &now, CreatedAt: now, UpdatedAt: now},
			PasswordHash: benchPHC}
		return u.User, tx.CreateUser(ctx, &u)
	}
	err := store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		shared.meTokens, shared.readTokens, shared.writeTokens, toggles = nil, nil, nil, nil
		for _, u := range users {
			t, err := createLoadSession(ctx, tx, u, now)
			if err != nil {
				return err
			}
			shared.meTokens = append(shared.meTokens, t)
		}
		for range clients {
			t, err := createLoadSession(ctx, tx, admin, now)
			if err != nil {
				return err
			}
			shared.readTokens = append(shared.readTokens, t)
		}
		for i := range clients {
			a, err := loadUser(tx, i, usermgmt.RoleTenantAdmin)
			if err != nil {
				return err
			}
			t, err := createLoadSession(ctx, tx, a, now)
			if err != nil {
				return err
			}
			shared.writeTokens = append(shared.writeTokens, t)
		}
		for i := range sets * clients {
			u, err := loadUser(tx, i, usermgmt.RoleAgent)
			if err != nil {
				return err
			}
			toggles = append(toggles, u.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prepare the load: %w", err)
	}
	out := make([]*loadData, sets)
	for i := range out {
		d := shared
		d.toggleIDs = toggles[i*clients : (i+1)*clients]
		d.invitePfx = fmt.Sprintf("invite-%d-%d", now.UnixNano(), i)
		out[i] = &d
	}
	return out, nil
}

// createLoadSession makes a session for u as a login would, and returns
// its token.
func createLoadSession(ctx context.Context, tx usermgmt.Tx, u usermgmt.User, now time.Time) (string, error) {
	h := randomHash()
	token := "ums_" + base64.RawURLEncoding.EncodeToString(h[:])
	return token, tx.CreateSession(ctx, &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID,
		UserID: u.ID, TokenHash: sha256.Sum256([]byte(token)), RefreshHash: randomHash(), Roles: u.Roles,
		IP: "127.0.0.1", UserAgent: loadAgent, CreatedAt: now, IdleExpiresAt: now.Add(30 * time.Minute),
		ExpiresAt: now.Add(12 * time.Hour), VerifiedAt: now, LastSeenAt: now})
}

// cleanLoad deletes the load tenant (but its events, which are
// append-only) and the sessions the load made.
func cleanLoad(ctx context.Context, db *sql.DB, schema string) error {
	s := `"` + schema + `"`
	if _, err := db.ExecContext(ctx, `DELETE FROM `+s+`.sessions WHERE user_agent = $1`, loadAgent); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = $1 AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
			AND c.table_name NOT LIKE 'events%' AND c.table_name <> 'tenant_counts'
		ORDER BY c.table_name = 'users'`, schema)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range append(tables, "tenant_counts") {
		if _, err := db.ExecContext(ctx, `DELETE FROM `+s+`."`+t+`" WHERE tenant_id = $1`, loadTenant); err != nil {
			return fmt.Errorf("clean %s: %w", t, err)
		}
	}
	return nil
}

// seedTenants fills store with a tenant shaped like the seed's big tenant,
// smaller: n users (the admin, the heavy user with heavyEvents events, one
// in ten a supervisor, the rare term in one email in 20,000 and in that of
// user n/10), and n/10 other tenants of one user. Event ids are UUIDv7
// made in time order, as in the seed. It returns
// the users that get sessions for GET /me, the admin and the heavy user.
func seedTenants(ctx context.Context, store usermgmt.Store, n, heavyEvents int) (users []usermgmt.User, admin usermgmt.User, heavy uuid.UUID, err error) {
	names := []string{"maria", "john", "wei", "fatima", "olga", "jose", "aisha", "liam"}
	lasts := []string{"garcia", "smith", "wang", "khan", "ivanova", "silva", "okafor", "murphy"}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	user := func(tenant string, k int, email string) usermgmt.UserRecord {
		roles := []usermgmt.Role{usermgmt.RoleAgent}
		switch {
		case k == 1:
			roles = []usermgmt.Role{usermgmt.RoleTenantAdmin}
		case k%10 == 0:
			roles = []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}
		}
		status := usermgmt.StatusActive
		switch r := k * 7919 % 100; {
		case k <= 3 || r < 80:
		case r < 95:
			status = usermgmt.StatusInvited
		default:
			status = usermgmt.StatusDeactivated
		}
		u := usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email,
			Status: status, Roles: roles, DirectRoles: roles, MFAEnabled: status != usermgmt.StatusInvited,
			CreatedAt: created, UpdatedAt: created}}
		if status != usermgmt.StatusInvited {
			u.PasswordHash, u.ActivatedAt = benchPHC, &created
		}
		return u
	}
	var events []usermgmt.Event
	event := func(u *usermgmt.UserRecord, g int) {
		at := created.Add(time.Duration(g) * time.Minute)
		events = append(events, usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID, Type: usermgmt.EventLoginSucceeded,
			ActorID: u.ID, IP: "10.0.0.1", UserAgent: "Mozilla/5.0 (usermgmt-bench)", CreatedAt: at})
	}
	err = store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		for k := 1; k <= n+n/10; k++ {
			var u usermgmt.UserRecord
			switch {
			case k > n:
				u = user(fmt.Sprintf("t%05d", k-n), 1, fmt.Sprintf("%s.%s%d@acme%d.example", names[k%8], lasts[k/8%8], k, k-n))
			case k == 1:
				u = user(bigTenant, k, adminEmail)
			case k == 2:
				u = user(bigTenant, k, heavyEmail)
			default:
				email := fmt.Sprintf("%s.%s%d@bigco.example", names[k%8], lasts[k/8%8], k)
				if k%20000 == 1234 || k == n/10 {
					email = rareTerm + "." + email
				}
				u = user(bigTenant, k, email)
			}
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			switch {
			case k == 1:
				admin = u.User
			case k == 2:
				heavy = u.ID
				for g := range heavyEvents {
					event(&u, g)
				}
			default:
				event(&u, k)
			}
			if u.Status == usermgmt.StatusActive && k > 3 && (k > n || len(users) < meUsers) {
				users = append(users, u.User)
			}
		}
		return tx.AppendEvents(ctx, events)
	})
	return users, admin, heavy, err
}

// loadHeader says what was measured, on what.
func loadHeader(ctx context.Context, db *sql.DB, schema string, cfg loadConfig) (string, error) {
	var version string
	var users, tenants, big, events int64
	s := `"` + schema + `"`
	err := db.QueryRowContext(ctx, `SELECT version(), (SELECT sum(invited + active + deactivated) FROM `+s+`.tenant_counts WHERE tenant_id <> $2),
		(SELECT count(*) FROM `+s+`.tenant_counts WHERE tenant_id <> $2),
		(SELECT invited + active + deactivated FROM `+s+`.tenant_counts WHERE tenant_id = $1),
		`+eventsEstimate(s), bigTenant, loadTenant).
		Scan(&version, &users, &tenants, &big, &events)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Load over loopback HTTP: %d concurrent clients, one route at a time against each target in turn, "+
		"%s warm-up then %s measured per route and target; each PostgreSQL target has a pool of %d connections.\n"+
		"Data: schema %s, %d tenants, %d users (big tenant %s: %d), ~%d events; sessions of %d users of the big tenant and others for /me; "+
		"the list, search and activity as the big tenant's admin (the activity of its user with the most events); "+
		"role toggles and invitations in a tenant of the load's own. The memory store holds a tenant of %d users shaped alike.\n"+
		"Machine: %d CPUs (GOMAXPROCS %d) shared by clients, servers and PostgreSQL; %s.\n",
		cfg.clients, cfg.warmup, cfg.duration, cfg.pool, schema, tenants, users, bigTenant, big, events, meUsers,
		cfg.memUsers, runtime.NumCPU(), runtime.GOMAXPROCS(0), version), nil
}
