package usermgmt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Password hashes made by other systems, accepted as they are so that
// imported users keep their passwords: each is verified at login in a
// hashing turn, like argon2id, and replaced by an argon2id hash at the
// first login it lets in (see needsRehash). Each format's costs are
// limited so that no stored hash makes a login cost seconds or gigabytes.
// A foreign hash is computed over the password's bytes as typed, as the
// system that made it did (argon2id hashes, the library's own or imported,
// are of the NFC form).

// The largest costs the library computes for a foreign hash (see
// CheckPasswordHash): at each, one check costs 10 to 30 times a
// DefaultArgon2 check (measured one at a time on the 2-core development
// machine). The common defaults are well below them: bcrypt 10 to 12,
// passlib's scrypt 2^16·8·1, Firebase's 2^14·8·1, Django 5.0 to 6.0's
// PBKDF2 720,000 to 1,200,000.
const (
	MaxBcryptCost = 13
	// MaxScryptMemoryKiB bounds 128·N·r·p bytes: the memory of one scrypt
	// lane (128·N·r) times the lanes run one after the other (p).
	MaxScryptMemoryKiB  = 128 << 10
	MaxPBKDF2Iterations = 2_000_000
)

// storedHash is a parsed stored password hash of any accepted format.
type storedHash interface {
	// matches reports, in constant time, whether pw is the password.
	matches(pw string) bool
}

// parseHash reads a stored hash of any format CheckPasswordHash accepts.
func parseHash(s string) (storedHash, error) {
	var (
		h   storedHash
		err error
	)
	switch {
	case strings.HasPrefix(s, "$argon2"):
		h, err = parseArgon2(s)
	case strings.HasPrefix(s, "$2"):
		h, err = parseBcrypt(s)
	case strings.HasPrefix(s, "$scrypt$"), strings.HasPrefix(s, "$firebase-scrypt$"):
		h, err = parseScrypt(s)
	case strings.HasPrefix(s, "$pbkdf2-sha256$"), strings.HasPrefix(s, "pbkdf2_sha256$"):
		h, err = parsePBKDF2(s)
	default:
		return nil, errHash("not a format the library knows (argon2id, argon2i, bcrypt, scrypt, " +
			"PBKDF2-SHA256 of Django or passlib, Firebase scrypt)")
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}

// parseCount reads a decimal count of at most 32 bits, digits only (no
// sign, no underscores).
func parseCount(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return n, err == nil
}

// parseCosts reads "a=1,b=2,…" with exactly the names given, in order.
func parseCosts(s string, names ...string) ([]uint64, error) {
	costs := strings.Split(s, ",")
	list := strings.Join(names, "=…,") + "=…"
	if len(costs) != len(names) {
		return nil, errHash("costs are not %s", list)
	}
	n := make([]uint64, len(names))
	for i, name := range names {
		v, ok := strings.CutPrefix(costs[i], name+"=")
		if !ok {
			return nil, errHash("costs are not %s", list)
		}
		if n[i], ok = parseCount(v); !ok {
			return nil, errHash("a cost is not a number of at most 32 bits")
		}
	}
	return n, nil
}

// saltAndKey decodes a hash's salt and key, each of the lengths any sane
// encoder writes.
func saltAndKey(enc *base64.Encoding, encName, salt, key string) (s, k []byte, err error) {
	if s, err = enc.DecodeString(salt); err != nil || len(s) < minSaltLen || len(s) > maxSaltLen {
		return nil, nil, errHash("salt is not %d to %d bytes of %s", minSaltLen, maxSaltLen, encName)
	}
	k, err = decodeKey(enc, encName, key)
	return s, k, err
}

func decodeKey(enc *base64.Encoding, encName, key string) ([]byte, error) {
	k, err := enc.DecodeString(key)
	if err != nil || len(k) < minKeyLen || len(k) > maxKeyLen {
		return nil, errHash("key is not %d to %d bytes of %s", minKeyLen, maxKeyLen, encName)
	}
	return k, nil
}

// bcryptHash is a bcrypt hash as crypt(3) writes it: $2b$12$, then 22
// characters of salt and 31 of hash in bcrypt's base64. $2a$, $2b$ and
// $2y$ are the same algorithm once the old bugs of some implementations
// are left out ($2x$ and $2$ are refused).
type bcryptHash []byte

var bcryptBase64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").
	WithPadding(base64.NoPadding)

func parseBcrypt(s string) (bcryptHash, error) {
	if len(s) != 60 || s[:2] != "$2" || !strings.Contains("aby", s[2:3]) || s[3] != '$' || s[6] != '$' {
		return nil, errHash("not a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, 53 characters)")
	}
	cost, ok := parseCount(s[4:6])
	if !ok || cost < uint64(bcrypt.MinCost) || cost > MaxBcryptCost {
		return nil, errHash("bcrypt cost is not %d to %d", bcrypt.MinCost, MaxBcryptCost)
	}
	if _, err := bcryptBase64.DecodeString(s[7:29]); err != nil {
		return nil, errHash("bcrypt salt is not bcrypt's base64")
	}
	if _, err := bcryptBase64.DecodeString(s[29:]); err != nil {
		return nil, errHash("bcrypt hash is not bcrypt's base64")
	}
	return bcryptHash(s), nil
}

// matches uses the first 72 bytes of pw, as every bcrypt does.
func (h bcryptHash) matches(pw string) bool {
	return bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil
}

// scryptHash is scrypt as passlib writes it,
// $scrypt$ln=16,r=8,p=1$salt$key (N = 2^ln, unpadded standard base64),
// or Firebase's scrypt in the same form under $firebase-scrypt$ (see
// FirebaseScrypt).
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
	firebase  bool
}

func parseScrypt(s string) (scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || (parts[1] != "scrypt" && parts[1] != "firebase-scrypt") {
		return scryptHash{}, errHash("not a scrypt hash in passlib's form")
	}
	n, err := parseCosts(parts[2], "ln", "r", "p")
	if err != nil {
		return scryptHash{}, err
	}
	ln, r, p := n[0], n[1], n[2]
	if ln < 1 || r < 1 || p < 1 {
		return scryptHash{}, errHash("scrypt costs ln=%d, r=%d, p=%d are below scrypt's minimum (1 each)", ln, r, p)
	}
	limit := uint64(MaxScryptMemoryKiB) << 10 / 128 // N·r·p
	if ln >= 63 || 1<<ln > limit || r<<ln > limit || p*(r<<ln) > limit {
		return scryptHash{}, errHash("scrypt costs ln=%d, r=%d, p=%d exceed the limit 128·N·r·p ≤ %d KiB",
			ln, r, p, MaxScryptMemoryKiB)
	}
	h := scryptHash{ln: int(ln), r: int(r), p: int(p), firebase: parts[1] == "firebase-scrypt"}
	if h.salt, h.key, err = saltAndKey(base64.RawStdEncoding, "unpadded base64", parts[3], parts[4]); err != nil {
		return scryptHash{}, err
	}
	return h, nil
}

func (h scryptHash) String() string {
	name := "scrypt"
	if h.firebase {
		name = "firebase-scrypt"
	}
	return fmt.Sprintf("$%s$ln=%d,r=%d,p=%d$%s$%s", name, h.ln, h.r, h.p,
		base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(h.key))
}

func (h scryptHash) matches(pw string) bool {
	keyLen := len(h.key)
	if h.firebase {
		keyLen = 32 // an AES-256 key
	}
	dk, err := scrypt.Key([]byte(pw), h.salt, 1<<h.ln, h.r, h.p, keyLen)
	if err != nil {
		return false
	}
	if h.firebase {
		block, err := aes.NewCipher(dk)
		if err != nil {
			return false
		}
		dk = make([]byte, len(h.key))
		cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(dk, dk)
	}
	return subtle.ConstantTimeCompare(dk, h.key) == 1
}

// FirebaseScrypt is a Firebase project's password hash parameters (from its
// console: Authentication → Users → Password hash parameters).
//
// Firebase hashes a password as AES-256-CTR (zero IV) of the signer key
// under scrypt(password, salt ‖ salt separator, N = 2^MemCost, r = Rounds,
// p = 1) as the AES key. As the key stream is the signer key XOR the hash,
// the library stores that key stream, $firebase-scrypt$ln=…,r=…,p=1$salt
// ‖ separator$key stream, and verifies a password by computing it: the
// project's signer key is not copied into every user's row.
type FirebaseScrypt struct {
	SignerKey     []byte // base64-decoded "base64_signer_key"
	SaltSeparator []byte // base64-decoded "base64_salt_separator"
	Rounds        int
	MemCost       int
}

// StoredHash turns one Firebase user's passwordHash and salt (standard
// base64, as Firebase exports them) into the self-contained string the
// library stores ($firebase-scrypt$…), or returns invalid saying what is
// wrong, never quoting the hash: parameters out of the scrypt limits (see
// CheckPasswordHash), a hash that is not base64 of the signer key's
// length, a salt that is not base64. A user exported without a hash has
// no password: import it without one.
func (f FirebaseScrypt) StoredHash(hash, salt string) (string, error) {
	if f.Rounds < 1 || f.MemCost < 1 {
		return "", errHash("Firebase rounds %d and mem_cost %d are not scrypt parameters", f.Rounds, f.MemCost)
	}
	key, err := base64.StdEncoding.DecodeString(hash)
	if err != nil || len(key) != len(f.SignerKey) {
		return "", errHash("Firebase passwordHash is not base64 of %d bytes, the signer key's length", len(f.SignerKey))
	}
	s, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		return "", errHash("Firebase salt is not base64")
	}
	for i := range key {
		key[i] ^= f.SignerKey[i]
	}
	h := scryptHash{ln: f.MemCost, r: f.Rounds, p: 1, salt: append(s, f.SaltSeparator...), key: key, firebase: true}
	stored := h.String()
	if _, err := parseScrypt(stored); err != nil { // the limits and lengths every stored hash meets
		return "", err
	}
	return stored, nil
}

// pbkdf2Hash is PBKDF2-HMAC-SHA256 as Django writes it,
// pbkdf2_sha256$iterations$salt$key (the salt as text, the key in padded
// standard base64), or as passlib does, $pbkdf2-sha256$iterations$salt$key
// (both in passlib's adapted base64: "." for "+", unpadded).
type pbkdf2Hash struct {
	iter      int
	salt, key []byte
}

func parsePBKDF2(s string) (pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	django := len(parts) == 4 && parts[0] == "pbkdf2_sha256"
	if !django && (len(parts) != 5 || parts[0] != "" || parts[1] != "pbkdf2-sha256") {
		return pbkdf2Hash{}, errHash("not a PBKDF2-SHA256 hash in Django's or passlib's form")
	}
	parts = parts[len(parts)-3:]
	iter, ok := parseCount(parts[0])
	if !ok || iter < 1 || iter > MaxPBKDF2Iterations {
		return pbkdf2Hash{}, errHash("PBKDF2 iterations are not 1 to %d", MaxPBKDF2Iterations)
	}
	h := pbkdf2Hash{iter: int(iter)}
	var err error
	if django {
		h.salt = []byte(parts[1])
		if len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
			return pbkdf2Hash{}, errHash("salt is not %d to %d characters", minSaltLen, maxSaltLen)
		}
		h.key, err = decodeKey(base64.StdEncoding, "base64", parts[2])
	} else { // passlib's ab64 is unpadded base64 with "." for "+"
		h.salt, h.key, err = saltAndKey(base64.RawStdEncoding, "passlib's base64",
			strings.ReplaceAll(parts[1], ".", "+"), strings.ReplaceAll(parts[2], ".", "+"))
	}
	if err != nil {
		return pbkdf2Hash{}, err
	}
	return h, nil
}

func (h pbkdf2Hash) matches(pw string) bool {
	key, err := pbkdf2.Key(sha256.New, pw, h.salt, h.iter, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}
