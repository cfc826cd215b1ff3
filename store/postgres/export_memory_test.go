package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// An export holds a page at a time, whatever the size of the tenant:
// 200,000 users and 200,000 events exported from PostgreSQL grow the heap
// by far less than the bound of 50 MB for a million rows (the
// users alone are some 50 MB of CSV), measured as the peak of HeapAlloc,
// sampled while the export runs, over the heap before it.
// USERMGMT_EXPORT_ROWS sets another size (BENCHMARKS.md: 1,000,000).
func TestExportMemoryStaysFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("200,000 rows; -race changes what the heap holds")
	}
	s := newStore(t)
	db := openDB(t)
	q := `"` + s.Schema() + `"`
	ctx := context.Background()
	n := 200_000
	if v := os.Getenv("USERMGMT_EXPORT_ROWS"); v != "" { // the measurement of BENCHMARKS.md: 1000000
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	seeded := time.Now()
	// The users' triggers would update the badge counts' one row 200,000
	// times in one statement, each update slower than the last, and fill
	// user_roles, which an export without a role filter does not read:
	// the seed counts once and leaves user_roles empty.
	_, err := db.DB.ExecContext(ctx, `ALTER TABLE `+q+`.users DISABLE TRIGGER USER`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.users (tenant_id, id, email, status, roles, direct_roles,
			display_name, given_name, family_name, external_id, mfa_enabled, last_login_at, created_at, updated_at)
		SELECT 'big', gen_random_uuid(), 'person' || lpad(g::text, 7, '0') || '@big.example', 'active',
			'{agent,supervisor}', '{agent,supervisor}', 'Person ' || g, 'Given' || g, 'Family' || g, 'ext-' || g, true,
			now() - g * interval '1 minute', now(), now()
		FROM generate_series(1, $1) g`, n)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ALTER TABLE `+q+`.users ENABLE TRIGGER USER;
		INSERT INTO `+q+`.tenant_counts (tenant_id, active) VALUES ('big', `+strconv.Itoa(n)+`)`)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `INSERT INTO `+q+`.events (tenant_id, user_id, id, type, actor_id, ip, user_agent,
			detail, created_at)
		SELECT 'big', gen_random_uuid(), `+v7+`, 'login.succeeded', gen_random_uuid(), '198.51.100.7',
			'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36', '', x.ts
		FROM generate_series(1, $1) g, LATERAL (SELECT now() - interval '20 days' + g * interval '5 seconds' AS ts) x`, n)
	require.NoError(t, err)
	_, err = db.DB.ExecContext(ctx, `ANALYZE `+q+`.users; ANALYZE `+q+`.events`)
	require.NoError(t, err)
	t.Logf("seeded in %v", time.Since(seeded).Round(time.Millisecond))

	m, err := usermgmt.New(s, usermgmt.Options{Mailer: nopMailer{}, SecretKey: bytes.Repeat([]byte{9}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	system := usermgmt.AsSystem(ctx)

	for _, c := range []struct {
		name   string
		export func(w *countingWriter) error
	}{
		{"UsersCSV", func(w *countingWriter) error {
			return m.ExportUsers(system, "big", usermgmt.ExportUsersQuery{}, usermgmt.ExportCSV, w)
		}},
		{"ActivityJSONL", func(w *countingWriter) error {
			return m.ExportActivity(system, "big", usermgmt.ExportActivityQuery{}, usermgmt.ExportJSONL, w)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &countingWriter{}
			start := time.Now()
			growth := peakHeapGrowth(func() { require.NoError(t, c.export(w)) })
			t.Logf("%d rows, %d MB written in %v; peak heap growth %.1f MB", w.lines, w.bytes>>20,
				time.Since(start).Round(time.Millisecond), float64(growth)/(1<<20))
			require.GreaterOrEqual(t, w.lines, n)
			assert.Less(t, growth, uint64(20<<20), "an export holds a page, not the tenant")
		})
	}
}

// peakHeapGrowth runs f and returns the peak of HeapAlloc while it ran,
// sampled every 5 ms, less HeapAlloc after a GC before it.
func peakHeapGrowth(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak - base
}

// countingWriter keeps nothing: it counts bytes and lines.
type countingWriter struct {
	bytes, lines int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

type nopMailer struct{}

func (nopMailer) Send(context.Context, usermgmt.Message) error { return nil }
