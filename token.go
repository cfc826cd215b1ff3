package usermgmt

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"io"
	"strings"
	"time"
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
	prefixProvision  = "ump_"
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

// mac returns the HMAC-SHA256 of the parts under the Manager's MAC key.
// Each part is length-prefixed, so no two lists of parts collide.
func (m *Manager) mac(parts ...string) []byte {
	h := m.macs.Get().(hash.Hash)
	defer m.macs.Put(h)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		io.WriteString(h, p)
	}
	return h.Sum(nil)
}

const cursorMACLen = 16

// encodeCursor makes an opaque, tamper-evident cursor: the fields, each
// length-prefixed, followed by a truncated HMAC, base64url-encoded.
func (m *Manager) encodeCursor(fields ...string) string {
	var body []byte
	for _, f := range fields {
		body = binary.AppendUvarint(body, uint64(len(f)))
		body = append(body, f...)
	}
	body = append(body, m.mac(string(body))[:cursorMACLen]...)
	return base64.RawURLEncoding.EncodeToString(body)
}

// decodeCursor checks a cursor and returns its n fields; a garbled, forged
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
	fields := make([]string, 0, n)
	for len(body) > 0 && len(fields) < n {
		l, k := binary.Uvarint(body)
		if k <= 0 || uint64(len(body)-k) < l {
			return nil, bad
		}
		fields = append(fields, string(body[k:k+int(l)]))
		body = body[k+int(l):]
	}
	if len(fields) != n || len(body) != 0 {
		return nil, bad
	}
	return fields, nil
}

// spendToken consumes a single-use token of purpose inside tx and locks its
// user. A bad or used token is unauthenticated, and so is one of another
// tenant than the request's (ForTenant); an old one is expired (and spent
// all the same, when the caller commits).
func (m *Manager) spendToken(ctx context.Context, tx Tx, purpose TokenPurpose, token string, now time.Time) (UserRecord, TokenRecord, error) {
	t, err := tx.ConsumeToken(ctx, purpose, hashToken(token))
	if err != nil {
		return UserRecord{}, t, tokenErr(err)
	}
	if want, ok := requestTenant(ctx); ok && t.TenantID != want {
		return UserRecord{}, TokenRecord{}, errBadToken()
	}
	if !now.Before(t.ExpiresAt) {
		return UserRecord{}, t, fieldErrorf(FieldToken, CodeExpired, "this link or code has expired; ask for a new one")
	}
	u, err := tx.LockUser(ctx, t.TenantID, t.UserID)
	return u, t, tokenErr(err)
}

// tokenErr turns a store's not_found for a token or its user into the one
// answer for a bad link or code.
func tokenErr(err error) error {
	if ErrorCode(err) == CodeNotFound {
		return errBadToken()
	}
	return err
}
