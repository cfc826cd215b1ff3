package usermgmt

import (
	"time"

	"github.com/pquerna/otp"
	"golang.org/x/crypto/argon2"
)

// VerifyTOTPForTest exposes the library's own TOTP verification path to
// the RFC 6238 table test.
func VerifyTOTPForTest(secret []byte, code string, now time.Time, digits int) (int64, bool) {
	return verifyTOTP(secret, code, now, otp.Digits(digits))
}

// HashPasswordForTest is the argon2id cost of one login, for benchmarks.
func HashPasswordForTest(pw string) []byte {
	p := DefaultArgon2
	return argon2.IDKey([]byte(pw), []byte("a 16-byte salt!!"), p.Time, p.MemoryKiB, p.Threads, 32)
}

// OnHashForTest makes m call f as each argon2 hash starts, in its slot.
func OnHashForTest(m *Manager, f func(Argon2Params)) { m.onHash = f }

// DescribeUserAgentForTest is the User-Agent reader of session lists.
func DescribeUserAgentForTest(ua string) (browser, device string) { return describeUserAgent(ua) }
