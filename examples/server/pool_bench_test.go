package main

import (
	"database/sql"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// BenchmarkPoolIdleConns shows why openStore keeps as many idle
// connections as it may open: 16 clients, each pinging the store and
// pausing a millisecond, on a pool of 20. With database/sql's default of
// 2 idle connections most returned connections are closed, and most
// pings wait for a new PostgreSQL backend; closed/op counts them.
//
//	go test -run '^$' -bench PoolIdleConns -benchtime 3s ./examples/server
func BenchmarkPoolIdleConns(b *testing.B) {
	schema := pgtest.Store(b).Schema() // skips without a server
	for _, idle := range []int{2, 20} {
		b.Run(fmt.Sprintf("MaxIdle%d", idle), func(b *testing.B) {
			sqldb, err := sql.Open("pgx", pgtest.URL())
			if err != nil {
				b.Fatal(err)
			}
			sqldb.SetMaxOpenConns(20)
			sqldb.SetMaxIdleConns(idle)
			db := bun.NewDB(sqldb, pgdialect.New())
			defer db.Close()
			s, err := postgres.New(db, postgres.WithSchema(schema))
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Ping(b.Context()); err != nil {
						b.Error(err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			})
			b.ReportMetric(float64(sqldb.Stats().MaxIdleClosed)/float64(b.N), "closed/op")
		})
	}
}
