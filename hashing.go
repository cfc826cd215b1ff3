package usermgmt

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// hashPassword returns the argon2id hash of the NFC password in PHC form:
// $argon2id$v=19$m=19456,t=2,p=1$salt$hash.
func hashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(norm.NFC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// parsePHC reads an argon2id PHC string.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, ok bool) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || p.Threads == 0 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

// verifyPassword compares pw with a PHC hash in constant time.
func verifyPassword(phc, pw string) bool {
	p, salt, key, parsed := parsePHC(phc)
	if !parsed {
		return false
	}
	got := argon2.IDKey([]byte(norm.NFC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// needsRehash reports whether a hash was made with other parameters than
// the current ones, so the next login re-hashes it.
func needsRehash(phc string, want Argon2Params) bool {
	p, _, _, ok := parsePHC(phc)
	return ok && p != want
}
