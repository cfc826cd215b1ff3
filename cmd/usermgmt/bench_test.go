package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt/internal/pgtest"
)

// BenchmarkImport100k imports a generated CSV of 100,000 users with bcrypt
// hashes (one htpasswd hash repeated: nothing is hashed at import) into an
// empty tenant on PostgreSQL through the command, and reports rows/s
// (BENCHMARKS.md, "Import"):
//
//	USERMGMT_REQUIRE_POSTGRES=1 go test -run '^$' -bench Import100k -benchtime 1x ./cmd/usermgmt
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "users.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,roles,display_name,password_hash,created_at,last_login_at")
	for i := range n {
		fmt.Fprintf(w, "user%06d@acme.test,agent,User %d,\"%s\",2021-05-01T10:00:00Z,2026-11-01T08:30:00Z\n", i, i, htpasswdBcrypt)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for b.Loop() {
		b.StopTimer()
		store := pgtest.Store(b)
		b.StartTimer()
		start := time.Now()
		out, err := cli(b, store, "import", path)
		if err != nil {
			b.Fatal(err, out)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "rows/s")
		b.Log(out)
	}
}
