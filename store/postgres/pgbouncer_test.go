package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt/internal/pgtest"
)

// withExecMode returns raw with pgx's default_query_exec_mode set to mode.
func withExecMode(t *testing.T, raw, mode string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	q := u.Query()
	q.Set("default_query_exec_mode", mode)
	u.RawQuery = q.Encode()
	return u.String()
}

// pooledWork runs the two shapes of statement the Store sends (a
// parameterised statement alone, and two inside a transaction) from
// several connections at once, and returns the errors.
func pooledWork(t *testing.T, dsn string) []error {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				var n int
				err := db.QueryRowContext(ctx, "SELECT $1::int + $2::int", w, i).Scan(&n)
				if err == nil {
					var tx *sql.Tx
					if tx, err = db.BeginTx(ctx, nil); err == nil {
						err = tx.QueryRowContext(ctx, "SELECT $1::int * 2", i).Scan(&n)
						if err == nil {
							err = tx.QueryRowContext(ctx, "SELECT $1::text || 'x'", "w").Scan(new(string))
						}
						if err == nil {
							err = tx.Commit()
						} else {
							tx.Rollback()
						}
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// PgBouncer 1.18 keeps no prepared statement beyond a transaction: pgx's
// default mode (cache_statement, named statements prepared once a
// connection) and describe_exec (a statement described in one round trip,
// run in the next) fail through it, while the same work runs on the server
// itself. exec, simple_protocol and cache_describe send every statement
// whole in one round trip and work; the README advises exec.
func TestPgBouncerQueryExecModes(t *testing.T) {
	bouncer := pgtest.PgBouncerURL(t)
	require.Empty(t, pooledWork(t, pgtest.URL()), "the default mode on the server itself")
	for _, mode := range []string{"cache_statement", "describe_exec"} {
		t.Run(mode+"Fails", func(t *testing.T) {
			var errs []error
			for range 5 { // describe_exec fails when PgBouncer switches connections between its round trips: nearly always
				if errs = pooledWork(t, withExecMode(t, bouncer, mode)); len(errs) > 0 {
					break
				}
			}
			require.NotEmpty(t, errs)
			for _, err := range errs {
				// 42P05: prepared statement "stmtcache_…" already exists (another client's, on this server
				// connection); 26000: (unnamed) prepared statement does not exist (on this one).
				assert.Contains(t, []string{"42P05", "26000"}, sqlStateOf(err), "%v", err)
			}
		})
	}
	for _, mode := range []string{"exec", "simple_protocol", "cache_describe"} {
		t.Run(mode+"Works", func(t *testing.T) {
			assert.Empty(t, pooledWork(t, withExecMode(t, bouncer, mode)))
		})
	}
}

func sqlStateOf(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// TestThroughPgBouncer runs the conformance suite, the races between two
// instances (two pools on one schema) and the migrations (six instances
// at once) through PgBouncer in transaction pooling mode, on the URL
// USERMGMT_TEST_PGBOUNCER_URL gives, which must carry a pgx mode that
// works through it.
func TestThroughPgBouncer(t *testing.T) {
	bouncer := pgtest.PgBouncerURL(t)
	u, err := url.Parse(bouncer)
	require.NoError(t, err)
	require.Contains(t, []string{"exec", "simple_protocol", "cache_describe"}, u.Query().Get("default_query_exec_mode"),
		"USERMGMT_TEST_PGBOUNCER_URL must set default_query_exec_mode (see TestPgBouncerQueryExecModes)")
	t.Setenv("USERMGMT_TEST_DATABASE_URL", bouncer) // every helper of the package connects through it
	require.Equal(t, bouncer, testURL())
	for _, test := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"Conformance", TestConformance},
		{"MigrateFromEmpty", TestMigrateFromEmptyIsIdempotent},
		{"MigrateConcurrently", TestMigrateConcurrently},
		{"Manager", TestManagerOnPostgres},
		{"RacesAcrossInstances", TestRacesAcrossInstances},
		{"ConcurrentRefresh", TestConcurrentRefreshAcrossInstances},
		{"Sudo", TestSudoAcrossInstances},
		{"ParallelGuesses", TestParallelGuessesAcrossInstances},
		{"Revocation", TestRevocationIsSeenByOtherPoolAtOnce},
		{"LastAdmin", TestCountActiveWithRoleSerializesAcrossPools},
		{"Outbox", TestTwoInstancesShareTheOutbox},
		{"MailCommitsWithItsChange", TestMailCommitsWithItsChange},
		{"Groups", TestGroupsOnPostgres},
		{"Provisioning", TestProvisioningOnPostgres},
		{"SessionsAndDevices", TestSessionsAndDevicesOnPostgres},
		{"RevocationAndLinks", TestRevocationAndLinksOnPostgres},
		{"RateLimiterConformance", TestRateLimiterConformance},
		{"RateLimitsAcrossInstances", TestRateLimitsHoldAcrossInstances},
		{"SeedJourneyAcrossInstances", TestSeedJourneyAcrossInstances},
		{"EventsAllowOnlyTheErasure", TestEventsAllowOnlyTheErasure},
		{"EraseUserLeavesNoTrace", TestEraseUserLeavesNoTraceInTheSchema},
	} {
		t.Run(test.name, test.run)
	}
	t.Run("NoStateLeftOnServerConnections", func(t *testing.T) {
		assert.Empty(t, stateLeft(t, bouncer, pgbouncerPoolSize))
	})
}

// pgbouncerPoolSize is default_pool_size in scripts/pgbouncer.sh.
const pgbouncerPoolSize = 20

// stateLeft holds a transaction on each of PgBouncer's size server
// connections at once and returns what earlier clients left on any of
// them: a setting changed beyond its transaction (but those PgBouncer
// itself sets to each client's), an advisory lock, a temporary table, a
// channel listened to. (Prepared statements are left out:
// TestPgBouncerQueryExecModes leaves some on purpose.)
func stateLeft(t *testing.T, bouncer string, size int) []string {
	t.Helper()
	db, err := sql.Open("pgx", bouncer)
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu      sync.Mutex
		left    []string
		errs    []error
		arrived atomic.Int32
		wg      sync.WaitGroup
	)
	all := make(chan struct{})
	for range size {
		wg.Go(func() {
			err := func() error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if arrived.Add(1) == int32(size) {
					close(all)
				}
				select { // every transaction holds a server connection of its own
				case <-all:
				case <-ctx.Done():
					return fmt.Errorf("%d of %d server connections held: is default_pool_size %d? %w",
						arrived.Load(), size, size, ctx.Err())
				}
				rows, err := tx.QueryContext(ctx, `
					SELECT 'setting ' || name || ' = ' || setting FROM pg_settings WHERE source = 'session'
						AND lower(name) NOT IN ('application_name', 'client_encoding', 'datestyle', 'timezone',
							'standard_conforming_strings') -- PgBouncer sets these for each client
					UNION ALL SELECT 'advisory lock ' || objid FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
					UNION ALL SELECT 'temporary table ' || relname FROM pg_class WHERE relpersistence = 't'
					UNION ALL SELECT 'listening to ' || c FROM pg_listening_channels() c`)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var what string
					if err := rows.Scan(&what); err != nil {
						return err
					}
					mu.Lock()
					left = append(left, what)
					mu.Unlock()
				}
				return rows.Err()
			}()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	return left
}

// Session state: what a statement leaves on its server connection after
// its transaction ends. Through PgBouncer in transaction pooling mode the
// next transaction of the same client may run on another server
// connection, and another client's on this one: such state is lost, or
// leaks to a stranger.
var sessionState = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a session advisory lock (use pg_advisory_xact_lock)", regexp.MustCompile(`(?i)\bpg_(try_)?advisory_lock(_shared)?\s*\(`)},
	{"SET outside a transaction's scope (use SET LOCAL)",
		regexp.MustCompile("(?i)(^|[;`\"'])\\s*SET\\s+(SESSION\\s+)?([a-z_.]+\\s*(=|\\bTO\\b)|ROLE\\b|TIME\\s+ZONE\\b)")},
	{"a session statement", regexp.MustCompile("(?i)(^|[;`\"'])\\s*(LISTEN|UNLISTEN|PREPARE|DEALLOCATE|DISCARD|RESET|LOAD)\\s")},
	{"a temporary table", regexp.MustCompile(`(?i)\bCREATE\s+((GLOBAL|LOCAL)\s+)?TEMP(ORARY)?\s+TABLE\b`)},
	{"a cursor WITH HOLD", regexp.MustCompile(`(?i)\bWITH\s+HOLD\b`)},
}

// sessionStateUses returns what of sessionState text uses, each as the
// rule and the text that matched, comments left out.
func sessionStateUses(text string) []string {
	text = comment.ReplaceAllString(text, "")
	var found []string
	for _, rule := range sessionState {
		for _, m := range rule.re.FindAllString(text, -1) {
			found = append(found, rule.what+": "+strings.TrimSpace(m))
		}
	}
	for _, args := range setConfigCalls(text) {
		if len(args) != 3 || !strings.EqualFold(strings.TrimSpace(args[2]), "true") {
			found = append(found, "set_config beyond its transaction (the third argument must be true): set_config("+
				strings.Join(args, ",")+")")
		}
	}
	return found
}

// comment is a -- (SQL) or // (Go) comment, to the end of its line.
var comment = regexp.MustCompile(`(--|//)[^\n]*`)

// setConfigCalls returns the arguments of every set_config call in text,
// split at the commas outside parentheses and quotes.
func setConfigCalls(text string) [][]string {
	var calls [][]string
	for _, loc := range regexp.MustCompile(`(?i)\bset_config\s*\(`).FindAllStringIndex(text, -1) {
		var args []string
		depth, quoted, start := 0, false, loc[1]
	scan:
		for i := loc[1]; i < len(text); i++ {
			switch c := text[i]; {
			case c == '\'':
				quoted = !quoted
			case quoted:
			case c == '(':
				depth++
			case c == ')' && depth > 0:
				depth--
			case c == ')':
				args = append(args, text[start:i])
				break scan
			case c == ',' && depth == 0:
				args = append(args, text[start:i])
				start = i + 1
			}
		}
		calls = append(calls, args)
	}
	return calls
}

// The Store's SQL (its Go files and its migrations, which run in
// Migrate's transactions) keeps nothing on a connection beyond a
// transaction, so that it works through PgBouncer in transaction pooling
// mode.
func TestNoSessionState(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	sqls, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, sqls)
	checked := 0
	for _, f := range append(files, sqls...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Empty(t, sessionStateUses(string(b)), f)
		checked++
	}
	assert.Greater(t, checked, 20)
}

// The rules of TestNoSessionState catch each kind of session state, and
// pass what is scoped to its transaction.
func TestSessionStateRules(t *testing.T) {
	for _, bad := range []string{
		"SELECT pg_advisory_lock($1)", "SELECT pg_try_advisory_lock_shared(1, 2)",
		"`SET search_path = x`", "\"SET statement_timeout TO '1s'\"", "; SET SESSION synchronous_commit = off",
		"`SET ROLE app`", "; SET TIME ZONE 'UTC'", "`RESET ALL`", "; DISCARD ALL", "; LISTEN mail",
		"; PREPARE q AS SELECT 1", "CREATE TEMP TABLE x (a int)", "create temporary table x ()",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1",
		"SELECT set_config('synchronous_commit', 'off', false)", "SELECT set_config('a', lower($1), $2)",
	} {
		assert.NotEmpty(t, sessionStateUses(bad), bad)
	}
	for _, good := range []string{
		"SELECT pg_advisory_xact_lock($1)", "`SET LOCAL lock_timeout = '1s'`", "; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
		"UPDATE t SET a = 1", "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE\n\tSET a = 2",
		"WITH async AS (SELECT set_config('synchronous_commit', 'off', true)) SELECT 1",
		"SELECT set_config('usermgmt.erasing', concat('a', 'b'), TRUE)",
		"-- SET search_path = x in a comment", "// LISTEN in a Go comment",
	} {
		assert.Empty(t, sessionStateUses(good), good)
	}
}
