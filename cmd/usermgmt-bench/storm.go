package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

// The login storm: many logins for distinct accounts arrive at once while
// other goroutines check sessions in a loop. It shows that password
// hashing is bounded (Options.MaxConcurrentHashes, HashQueueTimeout): the
// heap grows by a few hashes' memory, not by one hash per login; every
// login is answered with a session or rate_limited (or unauthenticated),
// none hangs; and Authenticate, which never hashes, stays fast. The
// session checks pause between calls (-storm-auth-every, 1 ms): without a
// pause, four loops alone keep two cores busy and measure that instead.

type stormConfig struct {
	logins, readers int
	authEvery       time.Duration // pause of each reader between calls
	maxHashes       int           // 0: the Manager's default
	queueTimeout    time.Duration // 0: the Manager's default
	storeName       string        // for the report
	describeData    func(ctx context.Context) (string, error)
}

// stormCalm is how long the session checks run before the storm, as a
// control.
const stormCalm = 2 * time.Second

// Targets of issue 10, item 20.
const (
	stormHeapTarget = 250 << 20
	stormAuthP99    = 5 * time.Millisecond
)

// stormPassword is every storm account's password.
const stormPassword = "correct horse battery staple gale"

// runStorm builds a Manager over store, seeds a tenant of accounts, runs
// the storm and returns the markdown report and whether every target was
// met.
func runStorm(ctx context.Context, store usermgmt.Store, cfg stormConfig) (string, bool, error) {
	mail := mailertest.New()
	m, err := usermgmt.New(store, usermgmt.Options{
		Mailer: mail, SecretKey: randomKey(), Logger: slog.New(slog.DiscardHandler), MFAOptional: true,
		Links:               usermgmt.Links{BaseURL: "https://app.example.com"},
		MaxConcurrentHashes: cfg.maxHashes, HashQueueTimeout: cfg.queueTimeout,
	})
	if err != nil {
		return "", false, err
	}
	tenant := fmt.Sprintf("storm-%d", time.Now().UnixNano())
	start := time.Now()
	logins, readers, err := seedStorm(ctx, m, store, mail, tenant, cfg.logins, cfg.readers)
	if err != nil {
		return "", false, fmt.Errorf("seed the storm tenant: %w", err)
	}
	log.Printf("storm: %d accounts and %d session holders in tenant %s, set up in %s", cfg.logins, cfg.readers, tenant,
		time.Since(start).Round(time.Millisecond))
	data, err := cfg.describeData(ctx)
	if err != nil {
		return "", false, err
	}

	// Each reader records into the histograms of the current phase: calm
	// (stormCalm before the first login) or storm. They are allocated
	// before the heap's baseline is taken.
	var storming atomic.Bool
	type readerStats struct{ call, woken *latencies }
	var stats [2][]readerStats
	for ph := range stats {
		for range readers {
			stats[ph] = append(stats[ph], readerStats{newLatencies(), newLatencies()})
		}
	}
	runtime.GC()
	heap := newHeapSampler()
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); heap.run(stop) }()
	for i, token := range readers {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				due := time.Now().Add(cfg.authEvery)
				time.Sleep(cfg.authEvery)
				t0 := time.Now()
				_, err := m.Authenticate(ctx, token)
				end := time.Now()
				st := stats[0][i]
				if storming.Load() {
					st = stats[1][i]
				}
				st.call.add(end.Sub(t0), err)
				st.woken.add(end.Sub(due), nil)
			}
		}()
	}
	time.Sleep(stormCalm)

	type answer struct {
		outcome string
		took    time.Duration
	}
	answers := make([]answer, len(logins))
	var answered atomic.Int64
	var all sync.WaitGroup
	begin := make(chan struct{})
	for i, email := range logins {
		all.Add(1)
		go func() {
			defer all.Done()
			<-begin
			t0 := time.Now()
			res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: stormPassword})
			answers[i] = answer{outcome(res, err), time.Since(t0)}
			answered.Add(1)
		}()
	}
	storming.Store(true)
	stormStart := time.Now()
	close(begin)
	done := make(chan struct{})
	go func() { all.Wait(); close(done) }()
	hung := false
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		hung = true
	}
	stormTook := time.Since(stormStart)
	close(stop)
	bg.Wait()
	if hung {
		return "", false, fmt.Errorf("storm: %d of %d logins still unanswered after 10 minutes", int64(len(logins))-answered.Load(), len(logins))
	}

	counts := map[string]int{}
	var took, tookSession, tookLimited []time.Duration
	var lastSession time.Duration
	for _, a := range answers {
		counts[a.outcome]++
		took = append(took, a.took)
		switch a.outcome {
		case "session":
			tookSession = append(tookSession, a.took)
			lastSession = max(lastSession, a.took)
		case "rate_limited":
			tookLimited = append(tookLimited, a.took)
		}
	}
	var call, woken [2]latencies
	for ph := range stats {
		for _, st := range stats[ph] {
			call[ph].merge(st.call)
			woken[ph].merge(st.woken)
		}
	}
	authAll := &call[1]
	heapGrowth := heap.peakObjects - heap.baseObjects
	others := len(logins) - counts["session"] - counts["unauthenticated"] - counts["rate_limited"]
	ok := heapGrowth < stormHeapTarget && others == 0 && authAll.errs == 0 && authAll.quantile(0.99) < stormAuthP99

	var sb strings.Builder
	fmt.Fprintf(&sb, "### Login storm, %s store\n\n", cfg.storeName)
	fmt.Fprintf(&sb, "%s\nGOMAXPROCS %d; MaxConcurrentHashes %s, HashQueueTimeout %s; argon2id m=%d KiB, t=%d, p=%d.\n",
		data, runtime.GOMAXPROCS(0), orDefault(cfg.maxHashes, fmt.Sprintf("default (GOMAXPROCS − 1 = %d)", max(1, runtime.GOMAXPROCS(0)-1))), orDefault(cfg.queueTimeout, "default (5s)"),
		usermgmt.DefaultArgon2.MemoryKiB, usermgmt.DefaultArgon2.Time, usermgmt.DefaultArgon2.Threads)
	fmt.Fprintf(&sb, "%d logins for distinct accounts (right password, MFA optional so a right one ends in a session) "+
		"started at once; meanwhile %d goroutines called Authenticate %s.\n\n", len(logins), len(readers), pace(cfg.authEvery))
	sb.WriteString("| measure | value | target |\n|---|---|---|\n")
	fmt.Fprintf(&sb, "| heap peak growth (runtime/metrics `/memory/classes/heap/objects:bytes`, sampled every ms, over the heap after a GC before the storm) | %.1f MB (base %.1f MB, peak %.1f MB, %d samples) | < 250 MB: %s |\n",
		mb(heapGrowth), mb(heap.baseObjects), mb(heap.peakObjects), heap.samples, verdictOf(heapGrowth < stormHeapTarget))
	fmt.Fprintf(&sb, "| memory mapped by the Go runtime (`/memory/classes/total:bytes`): before / peak | %.1f MB / %.1f MB | — |\n",
		mb(heap.baseTotal), mb(heap.peakTotal))
	fmt.Fprintf(&sb, "| answers | %s | only session, unauthenticated, rate_limited; none hangs: %s |\n",
		formatCounts(counts), verdictOf(others == 0))
	fmt.Fprintf(&sb, "| storm duration (first login sent to last answered) | %s | — |\n", stormTook.Round(time.Millisecond))
	fmt.Fprintf(&sb, "| throughput | %.0f logins answered/s; %.1f sessions/s (%d sessions in %s) | — |\n",
		float64(len(logins))/stormTook.Seconds(), float64(counts["session"])/max(lastSession, time.Nanosecond).Seconds(),
		counts["session"], lastSession.Round(time.Millisecond))
	fmt.Fprintf(&sb, "| login latency, all answers: p50 / p99 / max | %s / %s / %s | — |\n",
		ms(quantile(took, 0.5)), ms(quantile(took, 0.99)), ms(quantile(took, 1)))
	fmt.Fprintf(&sb, "| login latency, sessions: p50 / p99 / max | %s / %s / %s | — |\n",
		ms(quantile(tookSession, 0.5)), ms(quantile(tookSession, 0.99)), ms(quantile(tookSession, 1)))
	if len(tookLimited) > 0 {
		fmt.Fprintf(&sb, "| login latency, rate_limited: min / max | %s / %s | — |\n",
			ms(quantile(tookLimited, 0)), ms(quantile(tookLimited, 1)))
	}
	fmt.Fprintf(&sb, "| Authenticate during the storm: calls, errors | %d, %d | no errors: %s |\n",
		authAll.n, authAll.errs, verdictOf(authAll.errs == 0))
	fmt.Fprintf(&sb, "| Authenticate during the storm: p50 / p99 / p99.9 / max | %s | p99 < 5 ms: %s |\n",
		call[1].summary(), verdictOf(authAll.quantile(0.99) < stormAuthP99))
	fmt.Fprintf(&sb, "| the same, timed from the end of each pause (adds the wait for a CPU after waking) | %s | — |\n", woken[1].summary())
	fmt.Fprintf(&sb, "| control: Authenticate in the %s before the storm, same goroutines (%d calls) | %s | — |\n",
		stormCalm, call[0].n, call[0].summary())
	fmt.Fprintf(&sb, "| control, timed from the end of each pause | %s | — |\n", woken[0].summary())
	return sb.String(), ok, nil
}

// seedStorm makes one account through the product's flows (invite,
// accept, set-up without TOTP) and copies its password hash to the storm
// accounts and session holders, written straight to the store; it logs
// the holders in and returns the storm accounts' emails and the holders'
// session tokens.
func seedStorm(ctx context.Context, m *usermgmt.Manager, store usermgmt.Store, mail *mailertest.Mailer, tenant string,
	n, readers int) (logins, tokens []string, err error) {
	sys := usermgmt.AsSystem(ctx)
	first, err := m.InviteUser(sys, tenant, usermgmt.Invite{Email: "first@storm.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err != nil {
		return nil, nil, err
	}
	enr, err := m.AcceptInvite(ctx, mail.Token(first.Email), stormPassword)
	if err != nil {
		return nil, nil, err
	}
	if _, err := m.CompleteMFAEnrollment(ctx, enr.Token, ""); err != nil {
		return nil, nil, err
	}
	var phc string
	if err := store.RunInTx(ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.GetUser(ctx, tenant, first.ID)
		phc = r.PasswordHash
		return err
	}); err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC()
	var holders []string
	for i := 0; i < n+readers; i += 500 {
		err := store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			for j := i; j < min(i+500, n+readers); j++ {
				email := fmt.Sprintf("storm%05d@storm.example", j)
				if j >= n {
					email = fmt.Sprintf("holder%05d@storm.example", j-n)
				}
				u := &usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email,
					Status: usermgmt.StatusActive, Roles: []usermgmt.Role{usermgmt.RoleAgent}, ActivatedAt: &now,
					CreatedAt: now, UpdatedAt: now}, PasswordHash: phc}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if j < n {
					logins = append(logins, email)
				} else {
					holders = append(holders, email)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	for _, email := range holders {
		res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: stormPassword})
		if err != nil {
			return nil, nil, err
		}
		if res.Session == nil {
			return nil, nil, fmt.Errorf("login of %s gave no session", email)
		}
		tokens = append(tokens, res.Session.Token)
	}
	return logins, tokens, nil
}

func outcome(res usermgmt.LoginResult, err error) string {
	switch {
	case err != nil:
		return string(usermgmt.ErrorCode(err))
	case res.Session != nil:
		return "session"
	case res.MFAChallenge != "":
		return "challenge"
	default:
		return "enrollment"
	}
}

// heapSampler reads the runtime's memory metrics without stopping the
// world (runtime.ReadMemStats would, and so delay the Authenticate calls
// being measured).
type heapSampler struct {
	s                      []metrics.Sample
	baseObjects, baseTotal uint64
	peakObjects, peakTotal uint64
	samples                int
}

func newHeapSampler() *heapSampler {
	h := &heapSampler{s: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}}
	metrics.Read(h.s)
	h.baseObjects, h.baseTotal = h.s[0].Value.Uint64(), h.s[1].Value.Uint64()
	h.peakObjects, h.peakTotal = h.baseObjects, h.baseTotal
	return h
}

func (h *heapSampler) run(stop <-chan struct{}) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(h.s)
		h.peakObjects = max(h.peakObjects, h.s[0].Value.Uint64())
		h.peakTotal = max(h.peakTotal, h.s[1].Value.Uint64())
		h.samples++
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// latencies is a histogram of 1 µs buckets up to 100 ms, allocated
// before the storm, so that recording millions of calls allocates nothing
// and does not add to the heap being measured.
type latencies struct {
	buckets []uint64
	n, errs uint64
	max     time.Duration
}

const latencyBuckets = 100_000

func newLatencies() *latencies { return &latencies{buckets: make([]uint64, latencyBuckets+1)} }

func (l *latencies) add(d time.Duration, err error) {
	l.buckets[min(int(d/time.Microsecond), latencyBuckets)]++
	l.n++
	l.max = max(l.max, d)
	if err != nil {
		l.errs++
	}
}

func (l *latencies) merge(o *latencies) {
	if l.buckets == nil {
		l.buckets = make([]uint64, latencyBuckets+1)
	}
	for i, c := range o.buckets {
		l.buckets[i] += c
	}
	l.n, l.errs, l.max = l.n+o.n, l.errs+o.errs, max(l.max, o.max)
}

func (l *latencies) summary() string {
	return fmt.Sprintf("%s / %s / %s / %s", ms(l.quantile(0.5)), ms(l.quantile(0.99)), ms(l.quantile(0.999)), ms(l.max))
}

// quantile returns the upper edge of the bucket holding quantile q.
func (l *latencies) quantile(q float64) time.Duration {
	want := uint64(q * float64(l.n))
	var seen uint64
	for i, c := range l.buckets {
		seen += c
		if seen > want {
			return time.Duration(i+1) * time.Microsecond
		}
	}
	return l.max
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func formatCounts(c map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

func pace(every time.Duration) string {
	if every == 0 {
		return "without pause"
	}
	return "in a loop, pausing " + every.String() + " between calls"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func verdictOf(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func orDefault[T comparable](v T, def string) string {
	var zero T
	if v == zero {
		return def
	}
	return fmt.Sprint(v)
}
