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

// CheckPasswordHash returns nil when phc is an argon2id hash in PHC form
// ($argon2id$v=19$m=…,t=…,p=…$salt$key, unpadded base64) that the library
// will verify: costs within MaxArgon2MemoryKiB, MaxArgon2Time and
// MaxArgon2Threads (and at least 1 pass, 1 thread, 8 KiB per thread), a
// salt of 8 to 64 bytes and a key of 16 to 64. Otherwise it returns
// invalid saying what is wrong, never quoting the hash. Importers call it
// on every hash they are given; a stored hash that fails it makes login
// answer as a wrong password.
func CheckPasswordHash(phc string) error {
	_, _, _, err := parsePHC(phc)
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

// parsePHC reads an argon2id PHC string whose costs and lengths pass
// CheckPasswordHash.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	bad := func(what string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, Errorf(CodeInvalid, "password hash: %s", what)
	}
	parts := strings.Split(phc, "$")
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
		if n[i], err = strconv.ParseUint(v, 10, 32); err != nil {
			return bad("a cost is out of range")
		}
	}
	if n[2] > math.MaxUint8 {
		return bad("a cost is out of range")
	}
	p = Argon2Params{MemoryKiB: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2])}
	if err := checkArgon2(p); err != nil {
		return Argon2Params{}, nil, nil, err
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return bad(fmt.Sprintf("salt is not %d to %d bytes of unpadded base64", minSaltLen, maxSaltLen))
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad(fmt.Sprintf("key is not %d to %d bytes of unpadded base64", minKeyLen, maxKeyLen))
	}
	return p, salt, key, nil
}

// needsRehash reports whether a hash was made with other parameters than
// the current ones, so the next login re-hashes it.
func needsRehash(phc string, want Argon2Params) bool {
	p, _, _, err := parsePHC(phc)
	return err == nil && p != want
}

// hashPassword returns the argon2id hash of the NFC password in PHC form
// under Options.Argon2: $argon2id$v=19$m=19456,t=2,p=1$salt$key. It
// returns rate_limited when no hashing slot freed within HashQueueTimeout.
func (m *Manager) hashPassword(ctx context.Context, pw string) (string, error) {
	p := m.opts.Argon2
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", internalf(err, "hash password")
	}
	key, err := m.argon2(ctx, pw, salt, p, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword reports whether pw is r's password, in constant time.
// For r nil (no such user), a user without a password, and a stored hash
// that fails CheckPasswordHash (logged, never computed), it hashes pw
// against the dummy instead, so the answer false costs what a wrong
// password costs. It returns rate_limited when no hashing slot freed
// within HashQueueTimeout.
func (m *Manager) verifyPassword(ctx context.Context, r *UserRecord, pw string) (bool, error) {
	phc, real := m.dummyPHC, r != nil && r.PasswordHash != ""
	if real {
		if err := CheckPasswordHash(r.PasswordHash); err != nil {
			m.log.ErrorContext(ctx, "usermgmt: stored password hash refused; the login fails as a wrong password",
				"tenant", r.TenantID, "user", r.ID, "reason", ErrorMessage(err))
			real = false
		} else {
			phc = r.PasswordHash
		}
	}
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, internalf(err, "parse password hash")
	}
	got, err := m.argon2(ctx, pw, salt, p, uint32(len(key)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, key) == 1 && real, nil
}

// argon2 computes one argon2id key of the NFC password once a hashing
// slot is free. Callers hold no store transaction: a hash can wait
// HashQueueTimeout for its slot.
func (m *Manager) argon2(ctx context.Context, pw string, salt []byte, p Argon2Params, keyLen uint32) ([]byte, error) {
	if err := m.takeHashSlot(ctx); err != nil {
		return nil, err
	}
	defer func() { <-m.hashSlots }()
	if m.onHash != nil {
		m.onHash(p)
	}
	return argon2.IDKey([]byte(norm.NFC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, keyLen), nil
}

// takeHashSlot waits for a free slot, in arrival order (a channel's
// blocked senders are served first in, first out), for at most
// HashQueueTimeout or until ctx ends.
func (m *Manager) takeHashSlot(ctx context.Context) error {
	select {
	case m.hashSlots <- struct{}{}:
		return nil
	default:
	}
	wait := time.NewTimer(m.opts.HashQueueTimeout)
	defer wait.Stop()
	select {
	case m.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return internalf(context.Cause(ctx), "waiting to hash a password")
	case <-wait.C:
		secs := max(1, int64(math.Ceil(m.opts.HashQueueTimeout.Seconds())))
		return &Error{Code: CodeRateLimited, Message: "too many sign-ins at once; try again in " + strconv.FormatInt(secs, 10) + "s",
			RetryAfter: secs}
	}
}
