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

// CheckPasswordHash returns nil when s is an argon2id hash in PHC form
// ($argon2id$v=19$m=…,t=…,p=…$salt$key, unpadded base64) that the library
// will verify: costs within MaxArgon2MemoryKiB, MaxArgon2Time and
// MaxArgon2Threads (and at least 1 pass, 1 thread, 8 KiB per thread), a
// salt of 8 to 64 bytes and a key of 16 to 64. Otherwise it returns
// invalid saying what is wrong, never quoting the hash. Importers call it
// on every hash they are given; a stored hash that fails it makes login
// answer as a wrong password.
func CheckPasswordHash(s string) error {
	_, err := parsePHC(s)
	return err
}

// checkArgon2 refuses costs argon2 cannot compute or the limits exceed.
func checkArgon2(p Argon2Params) error {
	switch {
	case p.Time < 1 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads):
		return Errorf(CodeInvalid, "argon2id costs m=%d KiB, t=%d, p=%d are below argon2's minimum (t≥1, p≥1, m≥8·p)",
			p.MemoryKiB, p.Time, p.Threads)
	case p.MemoryKiB > MaxArgon2MemoryKiB || p.Time > MaxArgon2Time || p.Threads > MaxArgon2Threads:
		return Errorf(CodeInvalid, "argon2id costs m=%d KiB, t=%d, p=%d exceed the limits m=%d KiB, t=%d, p=%d",
			p.MemoryKiB, p.Time, p.Threads, MaxArgon2MemoryKiB, MaxArgon2Time, MaxArgon2Threads)
	}
	return nil
}

// phc is a parsed argon2id hash.
type phc struct {
	p         Argon2Params
	salt, key []byte
}

// parsePHC reads an argon2id PHC string whose costs and lengths pass
// CheckPasswordHash.
func parsePHC(s string) (phc, error) {
	bad := func(what string) (phc, error) { return phc{}, Errorf(CodeInvalid, "password hash: %s", what) }
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id hash in PHC form")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("argon2 version is not " + strconv.Itoa(argon2.Version))
	}
	costs := strings.Split(parts[3], ",")
	if len(costs) != 3 {
		return bad("costs are not m=…,t=…,p=…")
	}
	var n [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(costs[i], name)
		if !ok || v == "" || v[0] < '0' || v[0] > '9' {
			return bad("costs are not m=…,t=…,p=…")
		}
		var err error
		if n[i], err = strconv.ParseUint(v, 10, 32); err != nil {
			return bad("a cost is out of range")
		}
	}
	if n[2] > math.MaxUint8 {
		return bad("a cost is out of range")
	}
	h := phc{p: Argon2Params{MemoryKiB: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2])}}
	if err := checkArgon2(h.p); err != nil {
		return phc{}, err
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return bad(fmt.Sprintf("salt is not %d to %d bytes of unpadded base64", minSaltLen, maxSaltLen))
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
		return bad(fmt.Sprintf("key is not %d to %d bytes of unpadded base64", minKeyLen, maxKeyLen))
	}
	return h, nil
}

// needsRehash reports whether a hash was made with other parameters than
// the current ones, so the next login re-hashes it.
func needsRehash(stored string, want Argon2Params) bool {
	h, err := parsePHC(stored)
	return err == nil && h.p != want
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
	p := t.m.opts.Argon2
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", internalf(err, "hash password")
	}
	key := t.argon2(pw, salt, p, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verify reports whether pw is r's password, in constant time. For r nil
// (no such user), a user without a password, and a stored hash that
// fails CheckPasswordHash (logged, never computed), it hashes pw against
// the dummy instead, so the answer false costs what a wrong password
// costs.
func (t *hashTurn) verify(ctx context.Context, r *UserRecord, pw string) bool {
	m := t.m
	h, real := m.dummy, false
	if r != nil && r.PasswordHash != "" {
		stored, err := parsePHC(r.PasswordHash)
		if err != nil {
			m.log.ErrorContext(ctx, "usermgmt: stored password hash refused; the login fails as a wrong password",
				"tenant", r.TenantID, "user", r.ID, "reason", ErrorMessage(err))
		} else {
			h, real = stored, true
		}
	}
	got := t.argon2(pw, h.salt, h.p, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1 && real
}

// argon2 computes one argon2id key of the NFC password in the turn's slot.
func (t *hashTurn) argon2(pw string, salt []byte, p Argon2Params, keyLen uint32) []byte {
	if !t.held {
		panic("usermgmt: hashing outside a turn")
	}
	if t.m.onHash != nil {
		t.m.onHash(p)
	}
	return argon2.IDKey([]byte(norm.NFC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
}
