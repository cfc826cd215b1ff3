// Command usermgmt-bench seeds a PostgreSQL database at SaaS scale (10,000
// tenants, 1,000,000 users with one tenant of 100,000, 10,000,000 activity
// events with one user holding 300,000) and measures the library's
// operations through the Manager on store/postgres: p50 and p99 per
// operation, warm cache, one client. In the same run it asks the same
// questions the way common peers do (COUNT(*) + OFFSET paging, unindexed
// ILIKE) and prints the ratio.
//
//	go run ./cmd/usermgmt-bench -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// Seeding is idempotent: a schema already seeded with the same sizes is
// reused; anything else is dropped and seeded again (a few minutes).
//
// With -storm it runs the login storm instead (storm.go): 1,000 logins for
// distinct accounts at once while sessions are checked, on PostgreSQL (the
// schema is migrated, not seeded; the storm adds a tenant of its own) or,
// with -store memory, on the memory store:
//
//	go run ./cmd/usermgmt-bench -storm -store memory
//	go run ./cmd/usermgmt-bench -storm -schema usermgmt_storm
//
// With -load it runs the side-by-side load instead (load.go): 64 clients
// over loopback HTTP, route by route, against a hand-written floor
// handler on the seeded schema, the library's httpapi handler on it, and
// the same handler on the memory store:
//
//	go run ./cmd/usermgmt-bench -load -out load.md
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/postgres"
)

func main() {
	var (
		url      = flag.String("database-url", envOr("USERMGMT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
		schema   = flag.String("schema", "usermgmt_bench", "schema to seed and measure (dropped and re-created when the sizes change)")
		p        seedParams
		n        = flag.Int("n", 1000, "measured iterations per operation")
		warm     = flag.Int("warmup", 100, "unmeasured iterations per operation first")
		reseed   = flag.Bool("reseed", false, "drop and seed again even if the schema is seeded")
		seedOnly = flag.Bool("seed-only", false, "seed and exit")
		out      = flag.String("out", "", "also write the markdown report to this file")
		plans    = flag.Bool("plans", true, "print EXPLAIN (ANALYZE, BUFFERS) of the statements behind each measured read")
		peers    = flag.Bool("peers", true, "also time the same questions asked the way peers do")
		only     = flag.String("only", "", "measure only the operations whose name matches this regexp")
		storm    = flag.Bool("storm", false, "run the login storm instead of the measurements")
		storeArg = flag.String("store", "postgres", "postgres, or memory (with -storm only)")
		sc       stormConfig
		load     = flag.Bool("load", false, "run the side-by-side HTTP load instead of the measurements")
		lc       loadConfig
	)
	flag.IntVar(&lc.clients, "load-clients", 64, "concurrent HTTP clients of the load")
	flag.DurationVar(&lc.warmup, "load-warmup", 3*time.Second, "unmeasured warm-up of each route and target of the load")
	flag.DurationVar(&lc.duration, "load-duration", 10*time.Second, "measured time of each route and target of the load")
	flag.IntVar(&lc.pool, "load-pool", 16, "PostgreSQL connections of each target of the load")
	flag.IntVar(&lc.memUsers, "load-mem-users", 20_000, "users of the memory store's big tenant in the load (0: no memory target)")
	loadOnly := flag.String("load-only", "", "run only the load routes whose name matches this regexp")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run (seeding excluded) to this file")
	flag.IntVar(&sc.logins, "storm-logins", 1000, "logins for distinct accounts started at once")
	flag.IntVar(&sc.readers, "storm-readers", 4, "goroutines calling Authenticate in a loop before and during the storm")
	flag.DurationVar(&sc.authEvery, "storm-auth-every", time.Millisecond, "pause of each Authenticate goroutine between calls (0: none)")
	flag.IntVar(&sc.maxHashes, "max-hashes", 0, "Options.MaxConcurrentHashes for the storm (0: the default)")
	flag.DurationVar(&sc.queueTimeout, "hash-queue-timeout", 0, "Options.HashQueueTimeout for the storm (0: the default)")
	flag.IntVar(&p.Tenants, "tenants", 10_000, "tenants")
	flag.IntVar(&p.Users, "users", 1_000_000, "users in all")
	flag.IntVar(&p.BigTenant, "big-tenant", 100_000, "users of the big tenant (t00000)")
	flag.IntVar(&p.Events, "events", 10_000_000, "activity events in all")
	flag.IntVar(&p.HeavyEvents, "heavy-events", 300_000, "events of the heavy user")
	flag.IntVar(&p.Sessions, "sessions", 200_000, "live sessions seeded besides the measured ones")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if err := p.validate(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	switch {
	case *storm && *storeArg == "memory":
		store := memory.New()
		sc.storeName = "memory"
		sc.describeData = func(context.Context) (string, error) {
			return fmt.Sprintf("Data: the memory store holds the storm tenant only: %d users.", sc.logins+sc.readers+1), nil
		}
		stormReport(ctx, store, sc, *out)
		return
	case *storeArg != "postgres":
		log.Fatalf("-store must be postgres, or memory with -storm; got %q", *storeArg)
	}

	sqldb, err := sql.Open("pgx", *url)
	if err != nil {
		log.Fatal(err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	db := bun.NewDB(sqldb, pgdialect.New())
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		log.Fatalf("database unreachable: %v", err)
	}
	store, err := postgres.New(db, postgres.WithSchema(*schema))
	if err != nil {
		log.Fatal(err)
	}

	if *storm {
		if err := store.Migrate(ctx); err != nil {
			log.Fatal(err)
		}
		sc.storeName = "PostgreSQL"
		sc.describeData = func(ctx context.Context) (string, error) { return stormData(ctx, sqldb, *schema) }
		stormReport(ctx, store, sc, *out)
		return
	}

	ok, err := seeded(ctx, sqldb, *schema, p)
	if err != nil {
		log.Fatal(err)
	}
	if ok && !*reseed {
		log.Printf("schema %s already seeded with %s", *schema, p.key())
		// Migrations added since the seed (they are idempotent).
		if err := store.Migrate(ctx); err != nil {
			log.Fatal(err)
		}
	} else {
		start := time.Now()
		if _, err := sqldb.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+*schema+`" CASCADE`); err != nil {
			log.Fatal(err)
		}
		if err := store.Migrate(ctx); err != nil {
			log.Fatal(err)
		}
		if err := seed(ctx, sqldb, *schema, p); err != nil {
			log.Fatal(err)
		}
		log.Printf("seeded %s in %s", p.key(), time.Since(start).Round(time.Second))
	}
	if *seedOnly {
		return
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *load {
		if lc.routes, err = selectRoutes(*loadOnly); err != nil {
			log.Fatal(err)
		}
	}
	if *load {
		if err := loadReport(ctx, *url, *schema, lc, *out); err != nil {
			log.Fatal(err)
		}
		return
	}

	b, err := newBench(ctx, sqldb, store, *schema, p, *n, *warm)
	if err != nil {
		log.Fatal(err)
	}
	b.noPeers = !*peers
	report, err := b.run(ctx, *only, *plans)
	if err != nil {
		log.Fatal(err)
	}
	if err := printReport(report, *out); err != nil {
		log.Fatal(err)
	}
}

// printReport prints the markdown report and, when out is set, writes it
// there too.
func printReport(report, out string) error {
	fmt.Print(report)
	if out == "" {
		return nil
	}
	return os.WriteFile(out, []byte(report), 0o644)
}

// stormReport runs the storm, prints its report and exits 1 when a target
// was missed.
func stormReport(ctx context.Context, store usermgmt.Store, sc stormConfig, out string) {
	report, ok, err := runStorm(ctx, store, sc)
	if err != nil {
		log.Fatal(err)
	}
	if err := printReport(report, out); err != nil {
		log.Fatal(err)
	}
	if !ok {
		log.Fatal("storm: a target was missed")
	}
}

// stormData describes what the storm's schema holds.
func stormData(ctx context.Context, sqldb *sql.DB, schema string) (string, error) {
	var version string
	var users, sessions int64
	s := `"` + schema + `"`
	err := sqldb.QueryRowContext(ctx, `SELECT version(), (SELECT count(*) FROM `+s+`.users), (SELECT count(*) FROM `+s+`.sessions)`).
		Scan(&version, &users, &sessions)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Data: schema %s holds %d users and %d sessions (the storm tenant's included); connection pool of 8.\nServer: %s.",
		schema, users, sessions, version), nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}
