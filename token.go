package usermgmt

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unsafe"
)

// Token prefixes name a token's purpose to people reading logs of their own
// systems; the purpose is enforced by the store, not by the prefix.
const (
	prefixInvite     = "umi_"
	prefixReset      = "umr_"
	prefixEnrollment = "ume_"
	prefixChallenge  = "umc_"
	prefixSession    = "ums_"
	prefixRefresh    = "umf_"
	prefixDevice     = "umd_"
	tokenBytes       = 32 // 256 bits
	tokenLen         = 4 + 43
)

// newToken returns a fresh 256-bit token with prefix and its SHA-256.
func newToken(prefix string) (string, TokenHash) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("usermgmt: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	t := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return t, hashToken(t)
}

// hashToken returns the SHA-256 of a token without copying it.
func hashToken(t string) TokenHash {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(t), len(t)))
}

// wellFormed reports whether t could be a token of the prefix, so that
// garbage is refused before any lookup.
func wellFormed(t, prefix string) bool {
	return len(t) == tokenLen && strings.HasPrefix(t, prefix)
}

// mac returns the HMAC-SHA256 of data under the Manager's MAC key.
func (m *Manager) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, m.macKey)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

const cursorMACLen = 16

// encodeCursor makes an opaque, tamper-evident cursor: the JSON of fields
// followed by a truncated HMAC, base64url-encoded.
func (m *Manager) encodeCursor(fields ...string) string {
	body, _ := json.Marshal(fields)
	sum := m.mac(string(body))[:cursorMACLen]
	return base64.RawURLEncoding.EncodeToString(append(body, sum...))
}

// decodeCursor checks a cursor and returns its fields; a garbled, forged
// or foreign cursor is invalid.
func (m *Manager) decodeCursor(c string, n int) ([]string, error) {
	bad := Errorf(CodeInvalid, "cursor is not valid")
	if len(c) > 2048 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) <= cursorMACLen {
		return nil, bad
	}
	body, sum := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	if !hmac.Equal(sum, m.mac(string(body))[:cursorMACLen]) {
		return nil, bad
	}
	var fields []string
	if err := json.Unmarshal(body, &fields); err != nil || len(fields) != n {
		return nil, bad
	}
	return fields, nil
}
