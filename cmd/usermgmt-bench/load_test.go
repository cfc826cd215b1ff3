package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestLoadMemory runs the load briefly on the memory store: every route
// answers every client with success, and the writes land.
func TestLoadMemory(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	users, admin, heavy, err := seedTenants(ctx, mem, 500, 300)
	if err != nil {
		t.Fatal(err)
	}
	const clients = 4
	data, err := prepareLoad(ctx, mem, clients, 1, users, admin, heavy)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libraryHandler(mem)
	if err != nil {
		t.Fatal(err)
	}
	targets := []loadTarget{{name: "library (memory)", handler: h, data: data[0]}}
	results, err := runLoad(ctx, targets, loadConfig{clients: clients, warmup: 20 * time.Millisecond, duration: 200 * time.Millisecond}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	report := renderLoad("", loadRoutes, targets, results, false)
	for r, route := range loadRoutes {
		if st := results[r][0]; st.requests < clients || st.errors > 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", route.name, st.requests, st.errors, st.firstError)
		}
		if !strings.Contains(report, route.name) {
			t.Errorf("the report has no row for %s:\n%s", route.name, report)
		}
	}
	var counts usermgmt.StatusCounts
	err = mem.RunInTx(ctx, usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) (err error) {
		counts, err = tx.CountUsers(ctx, loadTenant)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Invited < results[len(loadRoutes)-1][0].requests {
		t.Errorf("%d invitations answered, %d users invited", results[len(loadRoutes)-1][0].requests, counts.Invited)
	}
}

// TestLoadPostgres runs the load briefly on PostgreSQL, the floor beside
// the library, and checks that the floor asks the same questions: its
// list, search and activity pages hold what the library's hold.
func TestLoadPostgres(t *testing.T) {
	ctx := context.Background()
	store := pgtest.Store(t)
	db, err := sql.Open("pgx", pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users, admin, heavy, err := seedTenants(ctx, store, 300, 200)
	if err != nil {
		t.Fatal(err)
	}
	const clients = 4
	data, err := prepareLoad(ctx, store, clients, 2, users, admin, heavy)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := libraryHandler(store)
	if err != nil {
		t.Fatal(err)
	}
	targets := []loadTarget{
		{name: "floor", handler: newFloor(db, store.Schema()), data: data[1]},
		{name: "library (PostgreSQL)", handler: lib, data: data[0]},
	}

	type page struct {
		Users []struct {
			Email string   `json:"email"`
			Roles []string `json:"roles"`
		} `json:"users"`
		Counts     struct{ Active, Invited, Deactivated, All int } `json:"counts"`
		NextCursor string                                          `json:"next_cursor"`
		Events     []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	get := func(h http.Handler, path string) (p page) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+data[0].readTokens[0])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, path := range []string{"/users?limit=50", "/users?limit=50&q=" + rareTerm, "/users/" + heavy.String() + "/activity?limit=50"} {
		f, l := get(targets[0].handler, path), get(targets[1].handler, path)
		if len(f.Users)+len(f.Events) == 0 {
			t.Errorf("GET %s: the floor answers an empty page", path)
		}
		if fs, ls := fmt.Sprint(f.Users, f.Counts, f.Events), fmt.Sprint(l.Users, l.Counts, l.Events); fs != ls {
			t.Errorf("GET %s: the floor answers\n%s\nthe library\n%s", path, fs, ls)
		}
	}

	// Every route answers, without an error, within its window: a count
	// of requests would measure the machine (an invitation under -race on
	// a busy machine takes a good part of the window).
	results, err := runLoad(ctx, targets, loadConfig{clients: clients, warmup: 20 * time.Millisecond, duration: 500 * time.Millisecond}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for r, route := range loadRoutes {
		for i, target := range targets {
			if st := results[r][i]; st.requests == 0 || st.errors > 0 {
				t.Errorf("%s on %s: %d requests, %d errors (%s)", route.name, target.name, st.requests, st.errors, st.firstError)
			}
		}
	}
	if err := cleanLoad(ctx, db, store.Schema()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM "`+store.Schema()+`".users WHERE tenant_id = $1)
		+ (SELECT count(*) FROM "`+store.Schema()+`".sessions WHERE user_agent = $2)`, loadTenant, loadAgent).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d users of the load tenant and sessions of the load are left after cleanLoad", left)
	}
}
