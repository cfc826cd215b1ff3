package usermgmt

import (
	"time"

	"github.com/pquerna/otp"
)

// VerifyTOTPForTest exposes the library's own TOTP verification path to
// the RFC 6238 table test.
func VerifyTOTPForTest(secret []byte, code string, now time.Time, digits int) (int64, bool) {
	return verifyTOTP(secret, code, now, otp.Digits(digits))
}

// HashPasswordForTest is the argon2id cost of one login, for benchmarks.
func HashPasswordForTest(pw string) string {
	h, _ := hashPassword(pw, DefaultArgon2)
	return h
}
