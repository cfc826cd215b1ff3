package usermgmt

import (
	"bytes"
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// MFAEnrollment is what a person needs to add the account to a TOTP app:
// the secret (base32, for typing), the otpauth:// URI, the same URI as a QR
// code PNG, and the token that CompleteMFAEnrollment takes with the first
// code. RecoveryCodes are single-use codes accepted in place of a TOTP
// code; they are shown only here.
type MFAEnrollment struct {
	Secret        string
	URI           string
	QRPNG         []byte
	Token         string
	ExpiresAt     time.Time
	RecoveryCodes []string
}

const (
	totpPeriod         = 30
	totpSecretBytes    = 20 // 160 bits
	recoveryCodeCount  = 10
	recoveryCodeLength = 10
	// recoveryAlphabet leaves out the letters and digits people confuse.
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// enrollmentData travels, sealed, inside the enrolment token's record.
type enrollmentData struct {
	Secret        []byte      `json:"s"` // sealed
	RecoveryCodes []TokenHash `json:"r"`
}

// startEnrollment makes a TOTP secret and recovery codes for u and stores
// an enrolment token holding them.
func (m *Manager) startEnrollment(ctx context.Context, tx Tx, u *UserRecord, now time.Time) (MFAEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: m.opts.Issuer, AccountName: u.Email,
		Period: totpPeriod, SecretSize: totpSecretBytes, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return MFAEnrollment{}, err
	}
	secret, err := b32.DecodeString(key.Secret())
	if err != nil {
		return MFAEnrollment{}, err
	}
	sealed := m.seal(secret, u.TenantID, u.ID)
	img, err := key.Image(256, 256)
	if err != nil {
		return MFAEnrollment{}, err
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return MFAEnrollment{}, err
	}
	codes, hashes := m.newRecoveryCodes()
	data, err := json.Marshal(enrollmentData{Secret: sealed, RecoveryCodes: hashes})
	if err != nil {
		return MFAEnrollment{}, err
	}
	token, hash := newToken(prefixEnrollment)
	exp := now.Add(m.opts.EnrollmentTTL)
	if err := tx.DeleteTokens(ctx, u.TenantID, u.ID, PurposeMFAEnrollment); err != nil {
		return MFAEnrollment{}, err
	}
	if err := tx.CreateToken(ctx, &TokenRecord{Hash: hash, Purpose: PurposeMFAEnrollment, TenantID: u.TenantID,
		UserID: u.ID, Data: data, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return MFAEnrollment{}, err
	}
	return MFAEnrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: qr.Bytes(), Token: token,
		ExpiresAt: exp, RecoveryCodes: codes}, nil
}

// CompleteMFAEnrollment confirms an enrolment with the first TOTP code
// from the app. The user becomes active (an invitation is then accepted),
// TOTP is enabled and a session is issued, with the recovery codes. When
// Options.MFAOptional is set, an empty code finishes setup without TOTP.
// A wrong code counts on the user's sign-in key as in VerifyMFA, and
// while the key is locked every code is answered as a wrong one. It
// returns invalid for a code that is not six digits (neither checked nor
// counted), unauthenticated for a wrong code or a bad token, and expired.
func (m *Manager) CompleteMFAEnrollment(ctx context.Context, enrollmentToken, code string) (Session, error) {
	if !wellFormed(enrollmentToken, prefixEnrollment) {
		return Session{}, errBadToken()
	}
	skip := code == "" && m.opts.MFAOptional
	if !skip {
		if err := checkCodeShape(code, false); err != nil {
			return Session{}, err
		}
	}
	now := m.now().UTC()
	var s Session
	var failed *outgoing
	wrong := false
	err := m.inTx(ctx, TxOptions{}, func(ctx context.Context, tx Tx) error {
		u, t, err := m.spendToken(ctx, tx, PurposeMFAEnrollment, enrollmentToken, now)
		if err != nil {
			return err
		}
		if u.Status == StatusDeactivated {
			return errBadToken()
		}
		a, locked, err := m.lockedForCode(ctx, tx, &u, now)
		if err != nil || locked {
			return cmp.Or(err, errRetry)
		}
		var d enrollmentData
		if err := json.Unmarshal(t.Data, &d); err != nil {
			return err
		}
		if !skip {
			secret, err := m.open(d.Secret, u.TenantID, u.ID)
			if err != nil {
				return err
			}
			step, ok := verifyTOTP(secret, strings.TrimSpace(code), now, otp.DigitsSix)
			if !ok || step <= u.MFALastStep {
				wrong = true
				failed, err = m.codeFailed(ctx, tx, &u, &a, &t, now)
				return err
			}
			u.MFASecret, u.RecoveryCodes, u.MFAEnabled, u.MFALastStep = d.Secret, d.RecoveryCodes, true, step
		}
		if u.Status == StatusInvited {
			u.Status, u.ActivatedAt = StatusActive, &now
			if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventInviteAccepted, "")); err != nil {
				return err
			}
		}
		u.UpdatedAt = now
		if !skip {
			if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventMFAEnrolled, "")); err != nil {
				return err
			}
		}
		s, err = m.completeLogin(ctx, tx, &u, now, "enrolment")
		return err
	})
	if errors.Is(err, errRetry) || (err == nil && wrong) {
		m.sendLater(ctx, failed)
		return Session{}, errWrongCode()
	}
	if err != nil {
		return Session{}, wrapInternal(err)
	}
	return s, nil
}

// checkCodeShape refuses, with invalid, a code that could be neither a
// TOTP code (six digits) nor, when recovery is allowed, a recovery code:
// a typo is not a guess, so it is neither verified nor counted.
func checkCodeShape(code string, recovery bool) error {
	c := strings.TrimSpace(code)
	if len(c) == 6 && strings.Trim(c, "0123456789") == "" {
		return nil
	}
	if recovery {
		c = strings.ToLower(strings.ReplaceAll(c, "-", ""))
		if len(c) == recoveryCodeLength && strings.Trim(c, recoveryAlphabet) == "" {
			return nil
		}
		return fieldErrorf(FieldCode, CodeInvalid, "enter the 6-digit code from your authenticator app, or a recovery code")
	}
	return fieldErrorf(FieldCode, CodeInvalid, "enter the 6-digit code from your authenticator app")
}

// checkCode verifies a TOTP code (atomically spending its time step) or a
// recovery code (spending it). It reports how the person passed.
func (m *Manager) checkCode(ctx context.Context, tx Tx, u *UserRecord, code string, now time.Time) (bool, string, error) {
	code = strings.TrimSpace(code)
	if len(code) == 6 {
		secret, err := m.open(u.MFASecret, u.TenantID, u.ID)
		if err != nil {
			return false, "", err
		}
		step, ok := verifyTOTP(secret, code, now, otp.DigitsSix)
		if !ok {
			return false, "", nil
		}
		advanced, err := tx.AdvanceMFAStep(ctx, u.TenantID, u.ID, step)
		if err != nil || !advanced {
			return false, "", err
		}
		u.MFALastStep = step
		return true, "totp", nil
	}
	h := m.recoveryHash(code)
	for i, c := range u.RecoveryCodes {
		if subtle.ConstantTimeCompare(c[:], h[:]) == 1 {
			u.RecoveryCodes = append(u.RecoveryCodes[:i:i], u.RecoveryCodes[i+1:]...)
			if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventMFARecoveryUsed, "")); err != nil {
				return false, "", err
			}
			return true, "recovery code", nil
		}
	}
	return false, "", nil
}

// verifyTOTP checks code against the steps T-1, T and T+1 of RFC 6238
// (SHA1, 30 s) and returns the matching step.
func verifyTOTP(secret []byte, code string, now time.Time, digits otp.Digits) (int64, bool) {
	if len(code) != digits.Length() {
		return 0, false
	}
	enc := b32.EncodeToString(secret)
	t := now.Unix() / totpPeriod
	for _, step := range []int64{t - 1, t, t + 1} {
		want, err := hotp.GenerateCodeCustom(enc, uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes returns fresh codes ("abcde-fghij") and their MACs.
func (m *Manager) newRecoveryCodes() ([]string, []TokenHash) {
	const alphabet = recoveryAlphabet
	codes := make([]string, recoveryCodeCount)
	hashes := make([]TokenHash, recoveryCodeCount)
	buf := make([]byte, recoveryCodeLength)
	for i := range codes {
		rand.Read(buf)
		var sb strings.Builder
		for j, b := range buf {
			if j == recoveryCodeLength/2 {
				sb.WriteByte('-')
			}
			sb.WriteByte(alphabet[int(b)%len(alphabet)])
		}
		codes[i] = sb.String()
		hashes[i] = m.recoveryHash(codes[i])
	}
	return codes, hashes
}

// recoveryHash is a keyed MAC, so a leaked database alone cannot be
// searched for the short codes.
func (m *Manager) recoveryHash(code string) TokenHash {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	var h TokenHash
	copy(h[:], m.mac("recovery", c))
	return h
}

// seal encrypts a TOTP secret with AES-256-GCM, bound to its user.
func (m *Manager) seal(secret []byte, tenantID string, userID uuid.UUID) []byte {
	return sealWith(m.totpAEAD, secret, sealAD(tenantID, userID))
}

// open decrypts a sealed TOTP secret. A changed SecretKey fails loudly.
func (m *Manager) open(sealed []byte, tenantID string, userID uuid.UUID) ([]byte, error) {
	secret, err := openWith(m.totpAEAD, sealed, sealAD(tenantID, userID))
	if err != nil {
		m.log.Error("usermgmt: cannot unseal a TOTP secret: was Options.SecretKey changed?", "tenant", tenantID, "user", userID)
		return nil, internalf(err, "cannot unseal the TOTP secret; the secret key may have changed")
	}
	return secret, nil
}

// sealWith encrypts plain with aead and a random nonce, which it puts
// first; ad binds the result to what it belongs to.
func sealWith(aead cipher.AEAD, plain, ad []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, ad)
}

// openWith decrypts what sealWith made with the same aead and ad.
func openWith(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed data is too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// newAEAD returns AES-256-GCM under key. The standard library's GCM keeps
// no state between calls, so one value serves every goroutine.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAD(tenantID string, userID uuid.UUID) []byte {
	return []byte(tenantID + "\x00" + userID.String())
}

// ResetMFA clears the user's TOTP secret, recovery codes, sessions and
// trusted devices; the user enrols again at the next login. An active user
// is mailed a notice naming the admin. It needs sudo mode (see
// Options.SudoWindow). It returns not_found, permission_denied,
// mfa_required outside sudo mode, and internal if a revoker failed.
func (m *Manager) ResetMFA(ctx context.Context, tenantID string, userID uuid.UUID) error {
	var u User
	var out *outgoing
	err := m.onUser(ctx, tenantID, userID, PermResetMFA, func(ctx context.Context, tx Tx, az authz, r *UserRecord) error {
		if err := az.refuseSelf(&r.User, ActionResetMFA); err != nil {
			return err
		}
		if err := m.requireSudo(ctx, tx, tenantID, az); err != nil {
			return err
		}
		r.MFASecret, r.RecoveryCodes, r.MFAEnabled = nil, nil, false
		r.UpdatedAt = m.now().UTC()
		if err := tx.UpdateUser(ctx, r); err != nil {
			return err
		}
		u = r.User
		if err := tx.AppendEvent(ctx, m.event(ctx, &u, EventMFAReset, "")); err != nil {
			return err
		}
		if err := m.revokeInTx(ctx, tx, &u); err != nil {
			return err
		}
		if u.Status != StatusActive {
			return nil // an invited user has no mailbox to warn yet; a deactivated one no account
		}
		var err error
		out, err = m.queueMail(ctx, tx, MessageMFAReset, &u, az.email, "", 0)
		return err
	})
	if err != nil {
		return err
	}
	revokeErr := m.callRevokers(ctx, &u)
	if out != nil {
		_, _ = m.attempt(ctx, out) // a notice: a failure is logged and retried
	}
	return revokeErr
}
