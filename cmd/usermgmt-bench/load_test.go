package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestLoadMemory runs the load briefly on the memory store: every route
// answers every client with success, and the writes land.
func TestLoadMemory(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	users, admin, heavy, err := seedMemory(ctx, mem, 500, 300)
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
	report := renderLoad("", targets, results, false)
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
