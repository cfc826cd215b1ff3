package usermgmt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/inbetween"
	"github.com/usermgmt/usermgmt/internal/pgtest"
	"github.com/usermgmt/usermgmt/internal/testclock"
	"github.com/usermgmt/usermgmt/internal/testlog"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// hashVector is a password hash made by a tool nobody here wrote
// (testdata/hash-vectors.json, made by scripts/hash-vectors.sh).
type hashVector struct {
	Format, Tool, Password, Hash string
	Firebase                     *struct {
		SignerKey     string `json:"base64_signer_key"`
		SaltSeparator string `json:"base64_salt_separator"`
		Rounds        int    `json:"rounds"`
		MemCost       int    `json:"mem_cost"`
		Salt          string `json:"salt"`
	}
}

func hashVectors(t *testing.T) []hashVector {
	t.Helper()
	b, err := os.ReadFile("testdata/hash-vectors.json")
	require.NoError(t, err)
	var vs []hashVector
	require.NoError(t, json.Unmarshal(b, &vs))
	require.NotEmpty(t, vs)
	return vs
}

// stored is the hash the library keeps for v: the hash itself, or for
// Firebase what FirebaseScrypt.StoredHash makes of it.
func (v hashVector) stored(t *testing.T) string {
	t.Helper()
	if v.Firebase == nil {
		return v.Hash
	}
	key, err := base64.StdEncoding.DecodeString(v.Firebase.SignerKey)
	require.NoError(t, err)
	sep, err := base64.StdEncoding.DecodeString(v.Firebase.SaltSeparator)
	require.NoError(t, err)
	f := usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, Rounds: v.Firebase.Rounds, MemCost: v.Firebase.MemCost}
	s, err := f.StoredHash(v.Hash, v.Firebase.Salt)
	require.NoError(t, err)
	return s
}

func (v hashVector) name() string { return v.Format + ", " + v.Tool }

// importEnv is a Manager whose users log in with the password alone
// (MFAOptional), on the store given.
type importEnv struct {
	m     *usermgmt.Manager
	store usermgmt.Store
	log   *testlog.Buffer
}

func newImportEnv(t *testing.T, s usermgmt.Store, edit ...func(*usermgmt.Options)) *importEnv {
	t.Helper()
	e := &importEnv{store: s, log: &testlog.Buffer{}}
	clock := testclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	opts := usermgmt.Options{Mailer: mailertest.New(), Clock: clock.Now, SecretKey: testKey, MFAOptional: true,
		Links:            usermgmt.Links{BaseURL: "https://app.example.com"},
		Logger:           slog.New(slog.NewTextHandler(e.log, nil)),
		HashQueueTimeout: time.Minute,
	}
	for _, f := range edit {
		f(&opts)
	}
	var err error
	e.m, err = usermgmt.New(s, opts)
	require.NoError(t, err)
	return e
}

// seed puts an active user with the stored hash into the store, as an
// import does.
func (e *importEnv) seed(t *testing.T, email, hash string) uuid.UUID {
	t.Helper()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	u := &usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Email: email,
		Status: usermgmt.StatusActive, Roles: []usermgmt.Role{usermgmt.RoleAgent}, DirectRoles: []usermgmt.Role{usermgmt.RoleAgent},
		ActivatedAt: &now, CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
		return tx.CreateUser(ctx, u)
	}))
	return u.ID
}

func (e *importEnv) hashOf(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var h string
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.GetUser(ctx, tenant, id)
		h = r.PasswordHash
		return err
	}))
	return h
}

func (e *importEnv) login(email, password string) (usermgmt.LoginResult, error) {
	return e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: password})
}

// The library's own hash under DefaultArgon2, which every imported hash
// becomes at its first login.
const ownHashPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"

// TestImportedHashesLogIn: for every format, hashes made by outside tools
// are accepted as they are; the right password logs in and the wrong one
// does not; the first login re-hashes to argon2id, after which the same
// password still logs in.
func TestImportedHashesLogIn(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		e := newImportEnv(t, newStore(t))
		for i, v := range hashVectors(t) {
			stored := v.stored(t)
			require.NoError(t, usermgmt.CheckPasswordHash(stored), v.name())
			email := "user" + strconv.Itoa(i) + "@acme.test"
			id := e.seed(t, email, stored)

			wrong := "!" + v.Password // not a longer one: bcrypt reads 72 bytes
			_, err := e.login(email, wrong)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "%s: a wrong password", v.name())
			assert.Equal(t, stored, e.hashOf(t, id), "%s: a wrong password re-hashes nothing", v.name())

			res, err := e.login(email, v.Password)
			require.NoError(t, err, v.name())
			require.NotNil(t, res.Session, v.name())
			rehashed := e.hashOf(t, id)
			assert.True(t, strings.HasPrefix(rehashed, ownHashPrefix), "%s: re-hashed to argon2id, got %.40s", v.name(), rehashed)

			_, err = e.login(email, v.Password)
			assert.NoError(t, err, "%s: the password still logs in after the re-hash", v.name())
			assert.Equal(t, rehashed, e.hashOf(t, id), "%s: an argon2id hash of the current costs stays", v.name())
			_, err = e.login(email, wrong)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "%s: a wrong password after the re-hash", v.name())
		}
		assert.NotContains(t, e.log.String(), "level=ERROR", "no stored hash was refused")
	})
}

// TestImportedHashReHashIsCompareAndSet: a second login that re-hashes
// the same imported hash, committing between the first one's check and its
// write, wins; the first writes nothing back (its checked hash is no
// longer the stored one) and the password goes on logging in.
func TestImportedHashReHashIsCompareAndSet(t *testing.T) {
	pgtest.Stores(t, func(t *testing.T, newStore func(testing.TB) usermgmt.Store) {
		done := map[string]bool{}
		for _, v := range hashVectors(t) {
			if done[v.Format] || (v.Format != "bcrypt" && v.Firebase == nil) {
				continue // one bcrypt and Firebase's stored form: the re-hash path is the same for all
			}
			done[v.Format] = true
			s := &inbetween.Store{Store: newStore(t)}
			e := newImportEnv(t, s)
			id := e.seed(t, "ana@acme.test", v.stored(t))
			var second string
			s.Hook = func() {
				_, err := e.login("ana@acme.test", v.Password)
				require.NoError(t, err, "%s: the second login", v.name())
				second = e.hashOf(t, id)
			}
			_, err := e.login("ana@acme.test", v.Password)
			require.False(t, s.Pending(), "the second login ran between the first's check and its write")
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "%s: the first login's password is no longer the stored one", v.name())
			assert.True(t, strings.HasPrefix(second, ownHashPrefix), v.name())
			assert.Equal(t, second, e.hashOf(t, id), "%s: the second login's hash is not clobbered", v.name())
			_, err = e.login("ana@acme.test", v.Password)
			assert.NoError(t, err, v.name())
		}
	})
}

// overLimits rewrites each format's costs past its limit; each would make
// a login take minutes to hours, or gigabytes, if computed.
var overLimits = map[string]string{
	"bcrypt cost 31":          "$2b$31$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
	"bcrypt cost 14":          "$2b$14$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
	"argon2i 4 GiB":           "$argon2i$v=19$m=4194304,t=3,p=2$am1QZW1xU3JnVzJxa3NjUg$BNqwTRpJsTK1W9XzTWAaFwIrePEIUjEvh2IpnDdfdgw",
	"scrypt N=2^30":           "$scrypt$ln=30,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
	"scrypt 256 MiB":          "$scrypt$ln=18,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
	"scrypt p over the limit": "$scrypt$ln=17,r=8,p=2$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
	"scrypt r over the limit": "$scrypt$ln=10,r=1025,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
	"firebase N=2^20":         "$firebase-scrypt$ln=20,r=8,p=1$42xEC+ixf3L2lwc$GjH2+Jz+dglLj5NuFkZHgBvZnv8Z8VZE5sdIgEAbIgeXy+ZfSpJLu1A++pZcpx0OhX41mDwvu2Olmp+PnfLfyQ",
	"django 2,000,001":        "pbkdf2_sha256$2000001$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
	"passlib 4,000,000,000":   "$pbkdf2-sha256$4000000000$2a5MCyju0MAM/tES0lYQ7Q$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
}

// TestCheckPasswordHashForeignFormats: every format is accepted up to its
// limits and refused past them, malformed or unknown, with a message that
// never quotes the hash.
func TestCheckPasswordHashForeignFormats(t *testing.T) {
	for name, h := range map[string]string{
		"bcrypt cost 13":               "$2b$13$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"bcrypt cost 04":               "$2y$04$albh1geuD3TvZbUBm6ZNJu/yV8X7oitCNfwO6pyjuhD1WeCUglMoC",
		"scrypt 128 MiB":               "$scrypt$ln=17,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt 128 MiB over 8 lanes":  "$scrypt$ln=14,r=8,p=8$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"django 2,000,000":             "pbkdf2_sha256$2000000$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"passlib 1 iteration":          "$pbkdf2-sha256$1$2a5MCyju0MAM/tES0lYQ7Q$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
		"passlib with std base64 + / ": "$pbkdf2-sha256$29000$2a5MCyju0MAM+tES0lYQ7Q$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
	} {
		assert.NoError(t, usermgmt.CheckPasswordHash(h), name)
	}
	refused := map[string]string{
		"unknown: md5-crypt":            "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
		"unknown: sha512-crypt":         "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
		"unknown: Django sha1":          "sha1$salt$356a192b7913b04c54574d18c28d46e6395428ab",
		"unknown: Django scrypt":        "scrypt$16384$saltsaltsalt$8$1$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"unknown: plain text":           "correct horse battery staple",
		"unknown: argon2d":              "$argon2d$v=19$m=4096,t=3,p=1$am1QZW1xU3JnVzJxa3NjUg$BNqwTRpJsTK1W9XzTWAaFwIrePEIUjEvh2IpnDdfdgw",
		"bcrypt $2x$":                   "$2x$08$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"bcrypt $2$":                    "$2$08$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"bcrypt cost 03":                "$2b$03$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"bcrypt cost with a sign":       "$2b$+8$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"bcrypt truncated":              "$2b$08$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0",
		"bcrypt trailing text":          "$2b$08$vAXxGmInYCOatwzAcJ0bu.LdGHIcwos1cjclE3yR6U26g5qI99J0mm",
		"bcrypt not bcrypt's base64":    "$2b$08$vAXxGmInYCOatwzAcJ0bu+LdGHIcwos1cjclE3yR6U26g5qI99J0m",
		"scrypt ln=0":                   "$scrypt$ln=0,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt r=0":                    "$scrypt$ln=14,r=0,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt ln=64":                  "$scrypt$ln=64,r=1,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt costs out of order":     "$scrypt$r=8,ln=14,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt without p":              "$scrypt$ln=14,r=8$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt padded base64":          "$scrypt$ln=14,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ==$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt salt too short":         "$scrypt$ln=14,r=8,p=1$P6nHBS6S$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I",
		"scrypt key too short":          "$scrypt$ln=14,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFt",
		"scrypt an extra field":         "$scrypt$ln=14,r=8,p=1$P6nHBS6S/o19nKtDDUg/iQ$D1HLWvtGUW572KFtETj68gfdtCSTED7RAA7owa/Fg2I$",
		"django 0 iterations":           "pbkdf2_sha256$0$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"django iterations with sign":   "pbkdf2_sha256$+20000$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"django salt too short":         "pbkdf2_sha256$20000$iM76$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"django key not base64":         "pbkdf2_sha256$20000$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8",
		"django key too short":          "pbkdf2_sha256$20000$iM76qZMHwd3WHxbkDTcKzg$Ohp7cFJ8uLyxt6Sn",
		"django without a salt":         "pbkdf2_sha256$20000$Ohp7cFJ8uLyxt6Sn8lOhfW21ZCgDqnDRnU3WByg4io8=",
		"passlib padded":                "$pbkdf2-sha256$29000$2a5MCyju0MAM/tES0lYQ7Q==$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
		"passlib without the leading $": "pbkdf2-sha256$29000$2a5MCyju0MAM/tES0lYQ7Q$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
		"passlib sha512":                "$pbkdf2-sha512$29000$2a5MCyju0MAM/tES0lYQ7Q$drGR2ECqd3X5vLyrW7wF1WLSKaS57BjOwLYd5BSDnTI",
		"firebase key too short":        "$firebase-scrypt$ln=14,r=8,p=1$42xEC+ixf3L2lwc$HjwsnOIk",
		"empty":                         "",
	}
	for name, h := range overLimits {
		refused[name] = h
	}
	for name, h := range refused {
		err := usermgmt.CheckPasswordHash(h)
		require.Equal(t, usermgmt.CodeInvalid, code(err), name)
		msg := usermgmt.ErrorMessage(err)
		for _, part := range strings.Split(h, "$") {
			if len(part) >= 16 && !strings.Contains(part, "=") { // a salt or key
				assert.NotContains(t, msg, part, "%s: the message quotes the hash", name)
			}
		}
	}
}

// TestFirebaseStoredHash: the stored form holds neither the project's
// signer key nor Firebase's hash, and StoredHash refuses what it cannot
// verify.
func TestFirebaseStoredHash(t *testing.T) {
	var v hashVector
	for _, x := range hashVectors(t) {
		if x.Firebase != nil {
			v = x
		}
	}
	require.NotNil(t, v.Firebase)
	stored := v.stored(t)
	assert.True(t, strings.HasPrefix(stored, "$firebase-scrypt$ln=14,r=8,p=1$"), stored)
	key, _ := base64.StdEncoding.DecodeString(v.Firebase.SignerKey)
	sep, _ := base64.StdEncoding.DecodeString(v.Firebase.SaltSeparator)
	for _, secret := range [][]byte{key, mustDecode(t, v.Hash)} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			assert.NotContains(t, stored, enc.EncodeToString(secret)[:20])
		}
	}

	good := usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, Rounds: 8, MemCost: 14}
	for name, c := range map[string]struct {
		f          usermgmt.FirebaseScrypt
		hash, salt string
	}{
		"mem_cost over the limit":      {usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, Rounds: 8, MemCost: 18}, v.Hash, v.Firebase.Salt},
		"rounds over the limit":        {usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, Rounds: 128, MemCost: 14}, v.Hash, v.Firebase.Salt},
		"no rounds":                    {usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, MemCost: 14}, v.Hash, v.Firebase.Salt},
		"no signer key":                {usermgmt.FirebaseScrypt{SaltSeparator: sep, Rounds: 8, MemCost: 14}, v.Hash, v.Firebase.Salt},
		"hash not base64":              {good, v.Hash[1:], v.Firebase.Salt},
		"hash shorter than the key":    {good, base64.StdEncoding.EncodeToString(mustDecode(t, v.Hash)[:32]), v.Firebase.Salt},
		"no hash (a user without one)": {good, "", v.Firebase.Salt},
		"salt not base64":              {good, v.Hash, "42xEC+ixf3L2lw"},
		"salt too short":               {good, v.Hash, "42xE"},
		"signer key past 64 bytes": {usermgmt.FirebaseScrypt{SignerKey: append(key, key...), SaltSeparator: sep, Rounds: 8, MemCost: 14},
			base64.StdEncoding.EncodeToString(append(mustDecode(t, v.Hash), mustDecode(t, v.Hash)...)), v.Firebase.Salt},
	} {
		_, err := c.f.StoredHash(c.hash, c.salt)
		require.Equal(t, usermgmt.CodeInvalid, code(err), name)
		assert.NotContains(t, usermgmt.ErrorMessage(err), v.Hash[:20], name)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// TestStoredForeignHashOverTheLimitsIsAWrongPassword: a stored hash past
// its format's limits is never computed (it would take minutes or hours
// here): the login answers as a wrong password after the dummy's usual
// argon2id, and the log says why without the hash.
func TestStoredForeignHashOverTheLimitsIsAWrongPassword(t *testing.T) {
	e := newImportEnv(t, memory.New())
	i := 0
	for name, h := range overLimits {
		i++
		email := "user" + strconv.Itoa(i) + "@acme.test"
		e.seed(t, email, h)
		var ran []usermgmt.Argon2Params
		usermgmt.OnHashForTest(e.m, func(p usermgmt.Argon2Params) { ran = append(ran, p) })
		_, err := e.login(email, "correct horse battery staple")
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), name)
		assert.Equal(t, []usermgmt.Argon2Params{usermgmt.DefaultArgon2}, ran, "%s: the dummy ran instead", name)
		assert.NotContains(t, e.log.String(), h[strings.LastIndex(h, "$"):], "%s: the hash is not logged", name)
	}
	assert.Equal(t, len(overLimits), strings.Count(e.log.String(), "stored password hash refused"))
}

// TestImportedHashWaitsForItsHashingTurn: checking an imported hash is
// hashing like any other: with the one slot taken, the login waits and is
// refused for load, and the hash is not computed beside the running one.
func TestImportedHashWaitsForItsHashingTurn(t *testing.T) {
	e := newImportEnv(t, memory.New(), func(o *usermgmt.Options) {
		o.MaxConcurrentHashes, o.HashQueueTimeout = 1, 20*time.Millisecond
	})
	for _, v := range hashVectors(t) {
		if v.Format == "bcrypt" {
			e.seed(t, "ana@acme.test", v.stored(t))
			break
		}
	}
	g := watchHashes(e.m)
	holder := make(chan error, 1)
	go func() { _, err := e.login("nobody@acme.test", "some password here"); holder <- err }()
	<-g.started
	_, err := e.login("ana@acme.test", "correct horse battery staple")
	assert.Equal(t, usermgmt.CodeRateLimited, code(err))
	close(g.release)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(<-holder))
	_, err = e.login("ana@acme.test", "correct horse battery staple")
	assert.NoError(t, err, "with the slot free the same login goes in")
}
