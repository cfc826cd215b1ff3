package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/internal/testotp"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/postgres"
)

// htpasswdBcrypt is htpasswd's bcrypt of password (testdata/hash-vectors.json).
const (
	htpasswdBcrypt = "$2y$08$XqLZ3FqM3W8/yktfLczwf.9eIPXTM3xWPtZs6cOu5Alx/VhhNDT1S"
	password       = "correct horse battery staple"
	totpSecret     = "JBSWY3DPEHPK3PXP"
)

var testKey = strings.Repeat("ab", 32)

// cli runs the command against store's schema and returns its output.
func cli(t testing.TB, store *postgres.Store, args ...string) (string, error) {
	t.Helper()
	full := append([]string{args[0], "-database-url", pgtest.URL(), "-database-schema", store.Schema(), "-tenant", "acme"},
		args[1:]...)
	var out bytes.Buffer
	env := map[string]string{"USERMGMT_SECRET_KEY": testKey}
	err := run(t.Context(), full, &out, func(k string) string { return env[k] }, false)
	return out.String(), err
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// manager is the application on the same database, with the same key.
func manager(t *testing.T, store *postgres.Store) *usermgmt.Manager {
	t.Helper()
	key, _ := hex.DecodeString(testKey)
	m, err := usermgmt.New(store, usermgmt.Options{Mailer: mailertest.New(), SecretKey: key,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return m
}

// TestImportCSVEndToEnd: a CSV of a bcrypt-based app comes in through the
// command; its users sign in with their passwords and authenticators in
// the application, and a second run skips them.
func TestImportCSVEndToEnd(t *testing.T) {
	store := pgtest.Store(t)
	csv := "email,roles,display_name,password_hash,totp_secret,created_at\n" +
		"ana@acme.test,agent,Ana,\"" + htpasswdBcrypt + "\"," + totpSecret + ",2021-05-01T10:00:00Z\n" +
		"bob@acme.test,agent;supervisor,Bob,\"" + htpasswdBcrypt + "\",,\n" +
		"carl@acme.test,,Carl,,,\n" + // no password: invited, with -roles
		"not-an-email,agent,,,,\n" // line 5
	path := write(t, "users.csv", csv)

	out, err := cli(t, store, "import", "-roles", "agent", path)
	require.Error(t, err, "a refused record makes the command fail")
	assert.Contains(t, out, "4 records read")
	assert.Contains(t, out, "created 3, updated 0, skipped 0 (already there); refused 1")
	assert.Contains(t, out, "line 5 not-an-email: invalid email:")

	m := manager(t, store)
	ctx := context.Background()
	res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: "ana@acme.test", Password: password})
	require.NoError(t, err)
	_, err = m.VerifyMFA(ctx, res.MFAChallenge, testotp.Oathtool(t, totpSecret, time.Now()), false)
	require.NoError(t, err, "the TOTP secret was sealed with the application's key")
	res, err = m.Login(ctx, usermgmt.LoginRequest{TenantID: "acme", Email: "bob@acme.test", Password: password})
	require.NoError(t, err)
	assert.NotNil(t, res.Enrollment, "no TOTP secret: enrols now")
	page, err := m.ListUsers(usermgmt.AsSystem(ctx), "acme", usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusCounts{Active: 2, Invited: 1, All: 3}, page.Counts)

	out, err = cli(t, store, "import", "-roles", "agent", path)
	require.Error(t, err)
	assert.Contains(t, out, "created 0, updated 0, skipped 3 (already there); refused 1", "a second run skips who came in")
}

// TestImportJSONLEndToEnd: a Firebase export turned into JSONL, checked
// by a dry run first, then imported; the command then exports the users
// and their activity.
func TestImportJSONLEndToEnd(t *testing.T) {
	store := pgtest.Store(t)
	jsonl := `{"email":"fay@acme.test","roles":["agent"],"password_hash":"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==","password_salt":"42xEC+ixf3L2lw==","created_at":"1565628226000","external_id":"uid-1"}` + "\n" +
		`{"email":"gil@acme.test","roles":["agent"],"display_name":"Gil"}` + "\n"
	path := write(t, "users.jsonl", jsonl)
	firebase := []string{"-firebase-signer-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		"-firebase-salt-separator", "Bw==", "-firebase-rounds", "8", "-firebase-mem-cost", "14"}

	out, err := cli(t, store, append(append([]string{"import", "-dry-run"}, firebase...), path)...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "dry run, nothing written: would have created 2")
	m := manager(t, store)
	ctx := usermgmt.AsSystem(context.Background())
	page, err := m.ListUsers(ctx, "acme", usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	assert.Zero(t, page.Counts.All)

	out, err = cli(t, store, append(append([]string{"import"}, firebase...), path)...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "created 2")
	_, err = m.Login(context.Background(), usermgmt.LoginRequest{TenantID: "acme", Email: "fay@acme.test", Password: "user1password"})
	require.NoError(t, err)

	usersPath := filepath.Join(t.TempDir(), "out.jsonl")
	_, err = cli(t, store, "export", "-format", "jsonl", "-o", usersPath)
	require.NoError(t, err)
	exported, err := os.ReadFile(usersPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(exported)), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"email":"fay@acme.test"`)
	assert.Contains(t, lines[0], `"created_at":"2019-08-12T16:43:46Z"`, "Firebase's milliseconds")
	assert.NotContains(t, string(exported), "scrypt", "never a hash")

	out, err = cli(t, store, "export", "-activity", "-from", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(out, "\n"), "a header and two events:\n%s", out)
	assert.Equal(t, 2, strings.Count(out, "user.imported"))
}

func TestCommandRefusesBadUse(t *testing.T) {
	getenv := func(string) string { return "" }
	file := write(t, "x.csv", "email\n")
	db := []string{"-database-url", "postgres://nowhere", "-tenant", "acme"}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"NoDatabase":  {[]string{"import", "-tenant", "acme", file}, "-database-url"},
		"NoTenant":    {[]string{"import", "-database-url", "postgres://nowhere", file}, "-tenant"},
		"NoKey":       {append(append([]string{"import"}, db...), file), "-secret-key"},
		"NoFile":      {append([]string{"import"}, db...), "one file"},
		"BadFormat":   {append(append([]string{"import"}, db...), "x.xml"), "-format"},
		"InviteNoURL": {append(append([]string{"import", "-invite"}, db...), file), "-base-url"},
		"FromAlone":   {append([]string{"export", "-from", "2026-01-01T00:00:00Z"}, db...), "-activity"},
		"Unknown":     {[]string{"frobnicate"}, "unknown command"},
	} {
		err := run(t.Context(), c.args, &bytes.Buffer{}, getenv, false)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}
