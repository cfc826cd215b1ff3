// Package failover_test runs the library through the loss of its primary
// database: scripts/failover-cluster.sh makes a primary and a synchronous
// standby, the test stops the primary hard under load and promotes the
// standby. It runs only with USERMGMT_TEST_FAILOVER=1 (.ci/run sets it).
package failover_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// The cluster scripts/failover-cluster.sh makes, as the library sees it:
// both hosts, and the driver picks the one that takes writes.
const (
	clusterURL = "postgres://postgres@127.0.0.1:5433,127.0.0.1:5434/postgres?sslmode=disable" +
		"&target_session_attrs=read-write&connect_timeout=2"
	tenant   = "acme"
	password = "correct horse battery staple"
	workers  = 6
	// callTimeout is every call's context deadline: no call may take
	// longer, outage or not.
	callTimeout = 3 * time.Second
	// slack is how far past its deadline a call may return on a busy
	// machine before it counts as hung.
	slack = time.Second
	// recoveryLimit is how soon after the promotion every call must work
	// again, on the same Manager and pool; the load goes on for twice as
	// long.
	recoveryLimit = 5 * time.Second
)

var system = usermgmt.AsSystem(context.Background())

// TestFailover: a primary with a synchronous standby; a mixed load from
// several goroutines; the primary stopped hard; the standby promoted. Every
// call that succeeded is kept, every call in the outage failed with
// unavailable (or its own deadline) in time, and the same Manager serves
// again within seconds of the promotion. It prints the outage as clients
// saw it.
func TestFailover(t *testing.T) {
	if os.Getenv("USERMGMT_TEST_FAILOVER") != "1" {
		t.Skip("set USERMGMT_TEST_FAILOVER=1 (as .ci/run does) to run it: it needs root and Debian's pg_createcluster, " +
			"and makes clusters on ports 5433 and 5434")
	}
	t.Cleanup(func() { cluster(t, "down") }) // also after a failed "up"
	cluster(t, "up")

	sqldb, err := sql.Open("pgx", clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	store, err := postgres.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	mail := mailertest.New()
	m, err := usermgmt.New(store, usermgmt.Options{
		Mailer: mail, SecretKey: []byte("failover-test-key-of-32-bytes!!!"), MFAOptional: true,
		Links:  usermgmt.Links{BaseURL: "https://app.example.com"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Logins queue for the hasher on a busy machine; the call's own
		// deadline bounds the wait.
		HashQueueTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.NewHandler(m, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	on := &onboarder{m: m, mail: mail}
	admin, adminSession := on.onboard(t, "admin@acme.test", usermgmt.RoleTenantAdmin)
	adminCtx := usermgmt.WithActor(context.Background(), usermgmt.Actor{UserID: admin.ID})
	ws := make([]*worker, workers)
	for i := range ws {
		w := &worker{id: i, m: m, ctx: adminCtx}
		w.member, _ = on.onboard(t, fmt.Sprintf("member%d@acme.test", i), usermgmt.RoleAgent)
		w.toggled, _ = on.onboard(t, fmt.Sprintf("roles%d@acme.test", i), usermgmt.RoleAgent)
		w.deactivated, _ = on.onboard(t, fmt.Sprintf("status%d@acme.test", i), usermgmt.RoleAgent)
		ws[i] = w
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(stop) })
	}
	time.Sleep(3 * time.Second) // load on the healthy pair

	crashAt := time.Now()
	cluster(t, "crash")
	crashed := time.Now()
	// Through the outage, an HTTP client gets 503 with Retry-After.
	outageAnswer := get(api, "/me", adminSession.Token)
	time.Sleep(2 * time.Second) // as long as a watchdog might take to decide
	promoteAt := time.Now()
	cluster(t, "promote")
	promoted := time.Now()
	time.Sleep(2 * recoveryLimit)
	close(stop)
	wg.Wait()

	if outageAnswer.Code != http.StatusServiceUnavailable || outageAnswer.Header().Get("Retry-After") == "" {
		t.Errorf("GET /me during the outage: %d, Retry-After %q, %s", outageAnswer.Code,
			outageAnswer.Header().Get("Retry-After"), outageAnswer.Body)
	}
	if w := get(api, "/me", adminSession.Token); w.Code != http.StatusOK {
		t.Errorf("GET /me after the promotion: %d %s", w.Code, w.Body)
	}

	var calls []call
	for _, w := range ws {
		calls = append(calls, w.calls...)
	}
	slices.SortFunc(calls, func(a, b call) int { return a.end.Compare(b.end) })
	checkCalls(t, calls, crashAt, promoted)
	report(t, calls, crashAt, crashed, promoteAt, promoted)
	var invites, logins, toggled int
	for _, w := range ws {
		w.checkKept(t)
		invites, logins, toggled = invites+len(w.invited), logins+len(w.sessions), toggled+w.roles.acked+w.status.acked
	}
	t.Logf("checked on the promoted standby: %d acknowledged invitations, %d logins' sessions, %d role and status toggles",
		invites, logins, toggled)
}

// cluster runs scripts/failover-cluster.sh with one command.
func cluster(t *testing.T, cmd string) {
	t.Helper()
	out, err := exec.Command("../../scripts/failover-cluster.sh", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("failover-cluster.sh %s: %v\n%s", cmd, err, out)
	}
}

// get sends GET path with a bearer token through the API.
func get(api http.Handler, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	return w
}

// onboarder makes active users (TOTP is optional: no code needed) before
// the load starts.
type onboarder struct {
	m    *usermgmt.Manager
	mail *mailertest.Mailer
}

func (o *onboarder) onboard(t *testing.T, email string, role usermgmt.Role) (usermgmt.User, usermgmt.Session) {
	t.Helper()
	u, err := o.m.InviteUser(system, tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{role}})
	if err != nil {
		t.Fatal(err)
	}
	enr, err := o.m.AcceptInvite(context.Background(), o.mail.Token(email), password)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.m.CompleteMFAEnrollment(context.Background(), enr.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	return u, s
}

// call is one call of the load and how it ended.
type call struct {
	worker     int
	op         string
	start, end time.Time
	err        error
}

// kind names how a call ended: ok, unavailable, deadline (its own context
// deadline) or the error code of anything else.
func (c call) kind() string {
	switch {
	case c.err == nil:
		return "ok"
	case errors.Is(c.err, context.DeadlineExceeded):
		return "deadline"
	}
	return string(usermgmt.ErrorCode(c.err))
}

// worker runs one goroutine of the load: invites, logins, Authenticate,
// role toggles and deactivation toggles, on users of its own so that what
// it expects is not changed by another worker. It records every call, and
// every write that succeeded.
type worker struct {
	id  int
	m   *usermgmt.Manager
	ctx context.Context // acts as the tenant admin

	member, toggled, deactivated usermgmt.User

	calls    []call
	invited  []uuid.UUID // acknowledged invitations
	sessions []string    // acknowledged logins' session tokens
	// What the toggles did: acknowledged, and failed calls that may have
	// committed anyway (a connection lost while committing).
	roles, status toggles
}

// toggles tracks one user's on/off state through acknowledged and failed
// calls.
type toggles struct {
	on, known    bool
	acked, maybe int
}

func (w *worker) run(stop <-chan struct{}) {
	ops := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"invite", w.invite}, {"login", w.login}, {"authenticate", w.authenticate},
		{"role", w.toggleRole}, {"deactivate", w.toggleStatus},
	}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		op := ops[n%len(ops)]
		ctx, cancel := context.WithTimeout(w.ctx, callTimeout)
		c := call{worker: w.id, op: op.name, start: time.Now()}
		c.err = op.fn(ctx)
		c.end = time.Now()
		cancel()
		w.calls = append(w.calls, c)
		if c.err != nil {
			time.Sleep(50 * time.Millisecond) // a client's pause before trying again
		}
	}
}

func (w *worker) invite(ctx context.Context) error {
	email := fmt.Sprintf("invitee-%d-%d@acme.test", w.id, len(w.calls))
	u, err := w.m.InviteUser(ctx, tenant, usermgmt.Invite{Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	if err == nil {
		w.invited = append(w.invited, u.ID)
	}
	return err
}

func (w *worker) login(ctx context.Context) error {
	res, err := w.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: w.member.Email, Password: password})
	if err == nil {
		if res.Session == nil {
			return fmt.Errorf("login without TOTP gave no session: %+v", res)
		}
		w.sessions = append(w.sessions, res.Session.Token)
	}
	return err
}

func (w *worker) authenticate(ctx context.Context) error {
	if len(w.sessions) == 0 {
		return nil
	}
	_, err := w.m.Authenticate(ctx, w.sessions[len(w.sessions)-1])
	return err
}

func (w *worker) toggleRole(ctx context.Context) error {
	return w.toggle(ctx, &w.roles, w.toggled.ID,
		func(u usermgmt.User) bool { return slices.Contains(u.Roles, usermgmt.RoleSupervisor) },
		func(ctx context.Context, on bool) error {
			var err error
			if on {
				_, err = w.m.GrantRole(ctx, tenant, w.toggled.ID, usermgmt.RoleSupervisor)
			} else {
				_, err = w.m.RevokeRole(ctx, tenant, w.toggled.ID, usermgmt.RoleSupervisor)
			}
			return err
		})
}

func (w *worker) toggleStatus(ctx context.Context) error {
	return w.toggle(ctx, &w.status, w.deactivated.ID,
		func(u usermgmt.User) bool { return u.Status == usermgmt.StatusDeactivated },
		func(ctx context.Context, on bool) error {
			var err error
			if on {
				_, err = w.m.Deactivate(ctx, tenant, w.deactivated.ID)
			} else {
				_, err = w.m.Activate(ctx, tenant, w.deactivated.ID)
			}
			return err
		})
}

// toggle flips a user's state with set; after a failed call it first reads
// the state again (isOn), since the call may have committed.
func (w *worker) toggle(ctx context.Context, tg *toggles, id uuid.UUID, isOn func(usermgmt.User) bool,
	set func(ctx context.Context, on bool) error) error {
	if !tg.known {
		u, err := w.m.GetUser(ctx, tenant, id)
		if err != nil {
			return err
		}
		tg.on, tg.known = isOn(u), true
	}
	if err := set(ctx, !tg.on); err != nil {
		tg.known = false
		tg.maybe++
		return err
	}
	tg.on = !tg.on
	tg.acked++
	return nil
}

// checkCalls: nothing failed before the crash; everything that failed
// after it failed with unavailable or its own deadline, and returned in
// time; and calls work again within recoveryLimit of the promotion.
func checkCalls(t *testing.T, calls []call, crashAt, promoted time.Time) {
	t.Helper()
	for _, c := range calls {
		if took := c.end.Sub(c.start); took > callTimeout+slack {
			t.Errorf("worker %d %s took %v, past its %v deadline: %v", c.worker, c.op, took, callTimeout, c.err)
		}
		switch k := c.kind(); {
		case k == "ok":
		case c.end.Before(crashAt):
			t.Errorf("worker %d %s failed before the crash: %v", c.worker, c.op, c.err)
		case k != "unavailable" && k != "deadline":
			t.Errorf("worker %d %s failed with %s, want unavailable: %v", c.worker, c.op, k, c.err)
		case c.start.After(promoted.Add(recoveryLimit)):
			t.Errorf("worker %d %s still failed %v after the promotion: %v", c.worker, c.op, c.start.Sub(promoted), c.err)
		}
	}
}

// report prints the outage as the clients saw it.
func report(t *testing.T, calls []call, crashAt, crashed, promoteAt, promoted time.Time) {
	var firstFail, lastFail, firstOKAfter time.Time
	kinds := map[string]int{}
	byOp := map[string]int{}
	var maxFailed time.Duration
	for _, c := range calls {
		if c.err == nil {
			if !firstFail.IsZero() && firstOKAfter.IsZero() && c.start.After(firstFail) {
				firstOKAfter = c.end
			}
			continue
		}
		if firstFail.IsZero() {
			firstFail = c.end
		}
		lastFail = c.end
		kinds[c.kind()]++
		byOp[c.op]++
		maxFailed = max(maxFailed, c.end.Sub(c.start))
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	var b strings.Builder
	fmt.Fprintf(&b, "failover as %d clients saw it (%d calls, each with a %v deadline):\n", workers, len(calls), callTimeout)
	fmt.Fprintf(&b, "  crash (pg_ctlcluster stop -m immediate) took %s\n", ms(crashed.Sub(crashAt)))
	if !firstFail.IsZero() {
		fmt.Fprintf(&b, "  first failed call            %s after the crash\n", ms(firstFail.Sub(crashAt)))
	}
	fmt.Fprintf(&b, "  promotion issued             %s after the crash (the script saw the standby take writes %s later)\n",
		ms(promoteAt.Sub(crashAt)), ms(promoted.Sub(promoteAt)))
	if !firstOKAfter.IsZero() {
		fmt.Fprintf(&b, "  first call served again      %s after the promotion was issued\n", ms(firstOKAfter.Sub(promoteAt)))
		fmt.Fprintf(&b, "  outage seen by clients       %s (first failure to first success)\n", ms(firstOKAfter.Sub(firstFail)))
	}
	if !lastFail.IsZero() {
		fmt.Fprintf(&b, "  last failed call ended       %s after the promotion was issued\n", ms(lastFail.Sub(promoteAt)))
	}
	fmt.Fprintf(&b, "  failed calls by kind         %v; by operation %v; slowest failure %s\n", kinds, byOp, ms(maxFailed))
	t.Log(b.String())
}

// checkKept: every acknowledged write is on the promoted standby, read
// through the same Manager: each invited user, each login's session, and
// for each toggle as many events as acknowledged calls (more only by
// calls that failed), with the state they add up to.
func (w *worker) checkKept(t *testing.T) {
	t.Helper()
	ctx := w.ctx
	for _, id := range w.invited {
		if _, err := w.m.GetUser(ctx, tenant, id); err != nil {
			t.Errorf("worker %d: acknowledged invitation %s: %v", w.id, id, err)
		}
	}
	for _, s := range w.sessions {
		if _, err := w.m.Authenticate(ctx, s); err != nil {
			t.Errorf("worker %d: acknowledged login's session: %v", w.id, err)
		}
	}
	w.checkToggles(t, "role", w.roles, w.toggled.ID, usermgmt.EventRoleGranted, usermgmt.EventRoleRevoked,
		func(u usermgmt.User) bool { return slices.Contains(u.Roles, usermgmt.RoleSupervisor) })
	w.checkToggles(t, "deactivate", w.status, w.deactivated.ID, usermgmt.EventDeactivated, usermgmt.EventActivated,
		func(u usermgmt.User) bool { return u.Status == usermgmt.StatusDeactivated })
}

func (w *worker) checkToggles(t *testing.T, what string, tg toggles, id uuid.UUID, onEvent, offEvent usermgmt.EventType,
	isOn func(usermgmt.User) bool) {
	t.Helper()
	events := 0
	for cursor := ""; ; {
		page, err := w.m.ListActivity(w.ctx, tenant, id, usermgmt.ActivityQuery{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatalf("worker %d: activity of %s: %v", w.id, id, err)
		}
		for _, e := range page.Events {
			if e.Type == onEvent || e.Type == offEvent {
				events++
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if events < tg.acked || events > tg.acked+tg.maybe {
		t.Errorf("worker %d %s: %d events, want %d acknowledged (+ up to %d failed calls)", w.id, what, events, tg.acked, tg.maybe)
	}
	u, err := w.m.GetUser(w.ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if on := isOn(u); on != (events%2 == 1) {
		t.Errorf("worker %d %s: state on=%v after %d toggle events", w.id, what, on, events)
	}
}
