package usermgmt

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Every argon2id hash goes through this file: a hash costs about
// Argon2.MemoryKiB of memory and a core for tens of milliseconds, so the
// Manager runs at most Options.MaxConcurrentHashes at once, and computes
// none whose costs exceed the limits below.

// The largest argon2id costs the library computes, for Options.Argon2 and
// for any stored or imported hash (see CheckPasswordHash): above them one
// login could take seconds of CPU or gigabytes of memory.
const (
	MaxArgon2MemoryKiB = 256 << 10 // 256 MiB
	MaxArgon2Time      = 16
	MaxArgon2Threads   = 16
)

// Salt and key lengths, in bytes, a stored hash may have: the argon2
// minimums (RFC 9106 asks for a salt of 16 bytes, allows 8) and what any
// sane encoder writes.
const (
	minSaltLen, maxSaltLen = 8, 64
	minKeyLen, maxKeyLen   = 16, 64
)

// CheckPasswordHash returns nil when s is a stored password hash the
// library will verify at login, in one of these formats (README,
// "Password hash formats"):
//   - argon2id or argon2i, $argon2id$v=19$m=…,t=…,p=…$salt$key in unpadded
//     base64, costs within MaxArgon2MemoryKiB, MaxArgon2Time and
//     MaxArgon2Threads (at least 1 pass, 1 thread, 8 KiB per thread);
//   - bcrypt, $2a$, $2b$ or $2y$, cost 4 to MaxBcryptCost;
//   - scrypt as passlib writes it, and Firebase's scrypt as
//     FirebaseScrypt.StoredHash writes it, 128·N·r·p within
//     MaxScryptMemoryKiB;
//   - PBKDF2-SHA256 as Django and passlib write it, up to
//     MaxPBKDF2Iterations;
//
// every salt 8 to 64 bytes and every key 16 to 64. Otherwise it returns
// invalid saying what is wrong, never quoting the hash. Importers call it
// on every hash they are given; a stored hash that fails it makes login
// answer as a wrong password. A hash of another format than argon2id is
// re-hashed to argon2id under Options.Argon2 at the first login it lets in.
func CheckPasswordHash(s string) error {
	_, err := parseHash(s)
	return err
}

// errHash is the invalid answer about a stored or imported hash.
func errHash(format string, args ...any) error {
	return Errorf(CodeInvalid, "password hash: "+format, args...)
}

// checkArgon2 refuses costs argon2 cannot compute or the limits exceed.
func checkArgon2(p Argon2Params) error {
	switch {
	case p.Time < 1 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads):
		return Errorf(CodeInvalid, "argon2 costs m=%d KiB, t=%d, p=%d are below argon2's minimum (t≥1, p≥1, m≥8·p)",
			p.MemoryKiB, p.Time, p.Threads)
	case p.MemoryKiB > MaxArgon2MemoryKiB || p.Time > MaxArgon2Time || p.Threads > MaxArgon2Threads:
		return Errorf(CodeInvalid, "argon2 costs m=%d KiB, t=%d, p=%d exceed the limits m=%d KiB, t=%d, p=%d",
			p.MemoryKiB, p.Time, p.Threads, MaxArgon2MemoryKiB, MaxArgon2Time, MaxArgon2Threads)
	}
	return nil
}

// argon2Hash is a parsed argon2id (or, imported, argon2i) hash.
type argon2Hash struct {
	p         Argon2Params
	argon2i   bool
	salt, key []byte
}

// parseArgon2 reads an argon2id or argon2i PHC string whose costs and
// lengths pass CheckPasswordHash.
func parseArgon2(s string) (argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return argon2Hash{}, errHash("not an argon2id or argon2i hash in PHC form")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argon2Hash{}, errHash("argon2 version is not %d", argon2.Version)
	}
	n, err := parseCosts(parts[3], "m", "t", "p")
	if err != nil {
		return argon2Hash{}, err
	}
	if n[2] > math.MaxUint8 {
		return argon2Hash{}, errHash("a cost is out of range")
	}
	h := argon2Hash{p: Argon2Params{MemoryKiB: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2])}, argon2i: parts[1] == "argon2i"}
	if err := checkArgon2(h.p); err != nil {
		return argon2Hash{}, err
	}
	if h.salt, h.key, err = saltAndKey(base64.RawStdEncoding, "unpadded base64", parts[4], parts[5]); err != nil {
		return argon2Hash{}, err
	}
	return h, nil
}

// matches computes the key of the password and compares it in constant
// time.
func (h argon2Hash) matches(pw string) bool {
	return subtle.ConstantTimeCompare(h.derive(pw, uint32(len(h.key))), h.key) == 1
}

// derive computes an argon2id key of the NFC password, as the library
// hashes every password it sets, or an argon2i key (only ever imported) of
// the password as typed, as other systems hash.
func (h argon2Hash) derive(pw string, keyLen uint32) []byte {
	p := h.p
	if h.argon2i {
		return argon2.Key([]byte(pw), h.salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	}
	return argon2.IDKey([]byte(norm.NFC.String(pw)), h.salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
}

// needsRehash reports whether a hash that just let a login in was made
// with another format (bcrypt, scrypt, PBKDF2, argon2i…) or other argon2id
// parameters than the current ones, so that login re-hashes it.
func needsRehash(stored string, want Argon2Params) bool {
	h, err := parseArgon2(stored)
	return err != nil || h.argon2i || h.p != want
}

// hashPassword returns the argon2id hash of the NFC password in PHC form
// under Options.Argon2, computed in a turn of its own (see takeHashTurn).
func (m *Manager) hashPassword(ctx context.Context, pw string) (string, error) {
	turn, err := m.takeHashTurn(ctx)
	if err != nil {
		return "", err
	}
	defer turn.done()
	return turn.hash(pw)
}

// hashTurn is a caller's turn at one of the Options.MaxConcurrentHashes
// hashing slots. Login takes it before it reads the user, so a storm of
// logins waits here, in arrival order, and not in the store's connection
// pool; nothing else is held while waiting. A turn is held by one
// goroutine and needs no store transaction open: give it back with done
// before writing.
type hashTurn struct {
	m    *Manager
	held bool
}

// takeHashTurn waits for a free slot for at most HashQueueTimeout,
// answering rate_limited with RetryAfter after that, or internal (wrapping
// the context's error) when ctx ends first. Blocked senders on a channel
// are served first in, first out, so the queue is fair.
func (m *Manager) takeHashTurn(ctx context.Context) (*hashTurn, error) {
	select {
	case m.hashSlots <- struct{}{}:
		return &hashTurn{m: m, held: true}, nil
	default:
	}
	wait := time.NewTimer(m.opts.HashQueueTimeout)
	defer wait.Stop()
	select {
	case m.hashSlots <- struct{}{}:
		return &hashTurn{m: m, held: true}, nil
	case <-ctx.Done():
		return nil, internalf(context.Cause(ctx), "waiting to hash a password")
	case <-wait.C:
		secs := max(1, int64(math.Ceil(m.opts.HashQueueTimeout.Seconds())))
		return nil, &Error{Code: CodeRateLimited, RetryAfter: secs,
			Message: "too many sign-ins at once; try again in " + strconv.FormatInt(secs, 10) + "s"}
	}
}

// done gives the slot back; calling it again does nothing.
func (t *hashTurn) done() {
	if t.held {
		t.held = false
		<-t.m.hashSlots
	}
}

// hash returns the argon2id hash of the NFC password in PHC form under
// Options.Argon2: $argon2id$v=19$m=19456,t=2,p=1$salt$key.
func (t *hashTurn) hash(pw string) (string, error) {
	h := argon2Hash{p: t.m.opts.Argon2, salt: make([]byte, 16)}
	if _, err := rand.Read(h.salt); err != nil {
		return "", internalf(err, "hash password")
	}
	t.start(h)
	key := h.derive(pw, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads,
		base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verify reports whether pw is r's password, in constant time, whatever
// the format of r's hash (see CheckPasswordHash). For r nil (no such
// user), a user without a password, and a stored hash that fails
// CheckPasswordHash (logged, never computed), it hashes pw against the
// dummy instead, so the answer false costs what a wrong password costs.
func (t *hashTurn) verify(ctx context.Context, r *UserRecord, pw string) bool {
	m := t.m
	var h storedHash = m.dummy
	real := false
	if r != nil && r.PasswordHash != "" {
		stored, err := parseHash(r.PasswordHash)
		if err != nil {
			m.log.ErrorContext(ctx, "usermgmt: stored password hash refused; the login fails as a wrong password",
				"tenant", r.TenantID, "user", r.ID, "reason", ErrorMessage(err))
		} else {
			h, real = stored, true
		}
	}
	t.start(h)
	return h.matches(pw) && real
}

// start is called as each hash is computed: only in the turn's slot.
func (t *hashTurn) start(h storedHash) {
	if !t.held {
		panic("usermgmt: hashing outside a turn")
	}
	if a, ok := h.(argon2Hash); ok && t.m.onHash != nil {
		t.m.onHash(a.p)
	}
}
