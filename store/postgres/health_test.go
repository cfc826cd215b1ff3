package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// TestPingAfterTheServerEndedThePool: every idle connection of the pool
// is ended by the server (a restart, a failover, a pooler's idle
// timeout); a health check a second later (a load balancer checks every
// few seconds) answers on a new connection instead of failing once per
// dead one. With the pool closed, Ping is an error.
func TestPingAfterTheServerEndedThePool(t *testing.T) {
	const size = 4
	db := openDB(t)
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	s, err := postgres.New(db)
	if err != nil {
		t.Fatal(err)
	}
	var p usermgmt.Pinger = s
	ctx := context.Background()
	var pids []int
	var conns []bun.Conn
	for range size { // held at once: size connections, idle once closed
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var pid int
		if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	for _, c := range conns {
		c.Close()
	}
	var ended int
	err = openDB(t).QueryRowContext(ctx, "SELECT count(*) FROM unnest(?::int[]) AS pid WHERE pg_terminate_backend(pid)",
		pgdialect.Array(pids)).Scan(&ended)
	if err != nil || ended != size {
		t.Fatalf("ended %d of %v: %v", ended, pids, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping after the server ended the pool's connections: %v", err)
	}
	db.Close()
	if err := p.Ping(ctx); err == nil {
		t.Fatal("Ping on a closed pool answered nil")
	}
}
