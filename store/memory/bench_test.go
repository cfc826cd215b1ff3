package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
)

// The benchmark data: a tenant of 100,000 users among 1,000,000 users in
// total (900 other tenants of 1,000), 1,000,000 activity events (100,000
// of one user, 100 each of 9,000 others) and 10,000 sessions.
const (
	bigTenantUsers  = 100_000
	otherTenants    = 900
	otherTenantSize = 1_000
	heavyUserEvents = 100_000
	eventUsers      = 9_000
	eventsPerUser   = 100
	benchSessions   = 10_000
	rareTerm        = "zq" // only in rareEmails emails of the big tenant
	rareEmails      = 10
	bigTenant       = "big"
)

type benchData struct {
	s         *memory.Store
	emails    []string // the big tenant's emails, sorted
	active    []string // its active users' emails, sorted
	heavy     uuid.UUID
	heavyLog  []uuid.UUID // the heavy user's event ids, oldest first
	session   usermgmt.TokenHash
	now       time.Time
	rng       *rand.Rand
	nextEmail int
}

var (
	benchOnce sync.Once
	bench     *benchData
)

var benchNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func benchRoles(i int) []usermgmt.Role {
	defs := usermgmt.DefaultRoles()
	if i%7 == 0 {
		return []usermgmt.Role{defs[i%len(defs)].Name, usermgmt.RoleAgent}
	}
	return []usermgmt.Role{defs[i%len(defs)].Name}
}

// benchUser returns the i-th user of a tenant: 80% active, 15% invited,
// 5% deactivated.
func benchUser(tenantID, email string, i int) *usermgmt.UserRecord {
	u := &usermgmt.UserRecord{User: usermgmt.User{
		ID: uuid.Must(uuid.NewV7()), TenantID: tenantID, Email: email,
		Status: usermgmt.StatusActive, Roles: benchRoles(i), CreatedAt: benchNow, UpdatedAt: benchNow,
	}}
	switch i % 20 {
	case 0, 1, 2:
		u.Status = usermgmt.StatusInvited
	case 3:
		u.Status = usermgmt.StatusDeactivated
	}
	if u.Status != usermgmt.StatusInvited {
		u.ActivatedAt = &benchNow
		u.LastLoginAt = &benchNow
		u.MFAEnabled = true
		u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	}
	return u
}

func do(b testing.TB, s *memory.Store, fn func(ctx context.Context, tx usermgmt.Tx) error) {
	if err := s.RunInTx(context.Background(), usermgmt.TxOptions{}, fn); err != nil {
		b.Fatal(err)
	}
}

func loadBench(b *testing.B) *benchData {
	b.Helper()
	benchOnce.Do(func() {
		start := time.Now()
		d := &benchData{s: memory.New(), now: benchNow, rng: rand.New(rand.NewPCG(7, 7))}
		s := d.s
		// The big tenant, inserted in random email order, in batches.
		perm := d.rng.Perm(bigTenantUsers)
		var users []*usermgmt.UserRecord
		for batch := 0; batch < len(perm); batch += 1000 {
			do(b, s, func(ctx context.Context, tx usermgmt.Tx) error {
				for _, n := range perm[batch : batch+1000] {
					email := fmt.Sprintf("user%06d@example.com", n)
					if n < rareEmails {
						email = fmt.Sprintf("%s%02d.rare@example.com", rareTerm, n)
					}
					u := benchUser(bigTenant, email, n)
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
					users = append(users, u)
					d.emails = append(d.emails, email)
					if u.Status == usermgmt.StatusActive {
						d.active = append(d.active, email)
					}
				}
				return nil
			})
		}
		slices.Sort(d.emails)
		slices.Sort(d.active)
		d.nextEmail = bigTenantUsers
		for tn := range otherTenants {
			tenantID := fmt.Sprintf("tenant%04d", tn)
			do(b, s, func(ctx context.Context, tx usermgmt.Tx) error {
				for i := range otherTenantSize {
					if err := tx.CreateUser(ctx, benchUser(tenantID, fmt.Sprintf("person%04d@tenant%04d.example", i, tn), i)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		// Activity: one heavy user and many ordinary ones.
		heavy := users[len(users)/2]
		d.heavy = heavy.ID
		appendEvents := func(u *usermgmt.UserRecord, n int) {
			for batch := 0; batch < n; batch += 1000 {
				do(b, s, func(ctx context.Context, tx usermgmt.Tx) error {
					for range min(1000, n-batch) {
						e := &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID,
							Type: usermgmt.EventLoginSucceeded, IP: "203.0.113.9", UserAgent: "Mozilla/5.0", CreatedAt: benchNow}
						if u == heavy {
							// Done by 50 admins of its tenant: each page names
							// its actors.
							e.ActorID = users[len(d.heavyLog)%50].ID
							d.heavyLog = append(d.heavyLog, e.ID)
						}
						if err := tx.AppendEvent(ctx, e); err != nil {
							return err
						}
					}
					return nil
				})
			}
		}
		appendEvents(heavy, heavyUserEvents)
		for _, u := range users[:eventUsers] {
			appendEvents(u, eventsPerUser)
		}
		// Sessions of active users.
		do(b, s, func(ctx context.Context, tx usermgmt.Tx) error {
			n := 0
			for _, u := range users {
				if u.Status != usermgmt.StatusActive {
					continue
				}
				var h, r usermgmt.TokenHash
				binaryPut(h[:], uint64(n)+1)
				binaryPut(r[:], uint64(n)+1<<40)
				if err := tx.CreateSession(ctx, &usermgmt.SessionRecord{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID,
					TokenHash: h, RefreshHash: r, Roles: u.Roles, CreatedAt: benchNow,
					IdleExpiresAt: benchNow.Add(time.Hour), ExpiresAt: benchNow.Add(24 * time.Hour)}); err != nil {
					return err
				}
				if n == 0 {
					d.session = h
				}
				if n++; n == benchSessions {
					break
				}
			}
			return nil
		})
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("bench data: %d users (tenant %q: %d), %d events, %d sessions; built in %v, heap %d MiB\n",
			bigTenantUsers+otherTenants*otherTenantSize, bigTenant, bigTenantUsers,
			heavyUserEvents+eventUsers*eventsPerUser, benchSessions, time.Since(start).Round(time.Millisecond), ms.HeapAlloc>>20)
		bench = d
	})
	return bench
}

func binaryPut(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func readTx(b *testing.B, s *memory.Store, fn func(ctx context.Context, tx usermgmt.Tx) error) {
	if err := s.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, fn); err != nil {
		b.Fatal(err)
	}
}

// listPage is what the Settings → Users page asks for: a page and the
// tenant's badge counts.
func listPage(b *testing.B, d *benchData, p usermgmt.UserListParams, want int) {
	b.ReportAllocs()
	for b.Loop() {
		readTx(b, d.s, func(ctx context.Context, tx usermgmt.Tx) error {
			users, err := tx.ListUsers(ctx, p)
			if err != nil {
				return err
			}
			if len(users) != want {
				return fmt.Errorf("got %d users, want %d", len(users), want)
			}
			_, err = tx.CountUsers(ctx, p.TenantID)
			return err
		})
	}
}

func BenchmarkListUsersFirstPage(b *testing.B) {
	d := loadBench(b)
	listPage(b, d, usermgmt.UserListParams{TenantID: bigTenant, Limit: 50}, 50)
}

func BenchmarkListUsersDeepPage(b *testing.B) {
	d := loadBench(b)
	listPage(b, d, usermgmt.UserListParams{TenantID: bigTenant, After: d.emails[1000*50-1], Limit: 50}, 50)
}

func BenchmarkListUsersActiveDeepPage(b *testing.B) {
	d := loadBench(b)
	listPage(b, d, usermgmt.UserListParams{TenantID: bigTenant, Status: usermgmt.StatusActive, After: d.active[1000*50-1], Limit: 50}, 50)
}

func BenchmarkSearchRareTerm(b *testing.B) {
	d := loadBench(b)
	listPage(b, d, usermgmt.UserListParams{TenantID: bigTenant, Search: rareTerm, Limit: 50}, rareEmails)
}

func BenchmarkSearchCommonTerm(b *testing.B) {
	d := loadBench(b)
	listPage(b, d, usermgmt.UserListParams{TenantID: bigTenant, Search: "user09", Limit: 50}, 50)
}

func listEvents(b *testing.B, d *benchData, before uuid.UUID) {
	b.ReportAllocs()
	for b.Loop() {
		readTx(b, d.s, func(ctx context.Context, tx usermgmt.Tx) error {
			evs, err := tx.ListEvents(ctx, bigTenant, d.heavy, before, 50)
			if err == nil && len(evs) != 50 {
				err = fmt.Errorf("got %d events", len(evs))
			}
			return err
		})
	}
}

func BenchmarkListEventsFirstPage(b *testing.B) {
	d := loadBench(b)
	listEvents(b, d, uuid.Nil)
}

func BenchmarkListEventsDeepPage(b *testing.B) {
	d := loadBench(b)
	listEvents(b, d, d.heavyLog[len(d.heavyLog)/2])
}

func BenchmarkTouchSession(b *testing.B) {
	d := loadBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.s.TouchSession(ctx, d.session, d.now, 30*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTouchSessionParallel(b *testing.B) {
	d := loadBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := d.s.TouchSession(ctx, d.session, d.now, 30*time.Minute); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCreateUser adds users to the big tenant; it runs last, since it
// grows the shared data.
func BenchmarkCreateUser(b *testing.B) {
	d := loadBench(b)
	b.ReportAllocs()
	for b.Loop() {
		d.nextEmail++
		u := benchUser(bigTenant, fmt.Sprintf("new%07d@example.com", d.nextEmail), d.nextEmail)
		do(b, d.s, func(ctx context.Context, tx usermgmt.Tx) error { return tx.CreateUser(ctx, u) })
	}
}

// BenchmarkMemoryPerUser inserts 100,000 realistic users (a unique
// password hash, sealed TOTP secret and ten recovery codes for each user
// who finished setup) into an empty store and reports the heap they take:
// bytes/user in all, payload-B/user of it the user's own strings and
// byte slices, overhead-B/user the rest (record, maps, indexes).
func BenchmarkMemoryPerUser(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		users := make([]*usermgmt.UserRecord, n)
		payload := 0
		for i := range users {
			u := benchUser(bigTenant, fmt.Sprintf("first.last%06d@example.com", i), i)
			if u.Status != usermgmt.StatusInvited {
				u.PasswordHash = fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%022d$%043d", i, i)
				u.MFASecret = make([]byte, 60)
				u.RecoveryCodes = make([]usermgmt.TokenHash, 10)
			}
			payload += len(u.Email) + len(u.PasswordHash) + len(u.MFASecret) + 32*len(u.RecoveryCodes)
			users[i] = u
		}
		s := memory.New()
		for batch := 0; batch < n; batch += 1000 {
			do(b, s, func(ctx context.Context, tx usermgmt.Tx) error {
				for _, u := range users[batch : batch+1000] {
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
				}
				return nil
			})
		}
		users = nil // the store keeps its own copies
		runtime.GC()
		runtime.ReadMemStats(&after)
		perUser := float64(after.HeapAlloc-before.HeapAlloc) / n
		b.ReportMetric(perUser, "bytes/user")
		b.ReportMetric(float64(payload)/n, "payload-B/user")
		b.ReportMetric(perUser-float64(payload)/n, "overhead-B/user")
		runtime.KeepAlive(s)
	}
}
