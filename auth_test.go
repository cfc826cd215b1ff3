package usermgmt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/testotp"
)

func TestTOTPMatchesRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, row := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		step, ok := usermgmt.VerifyTOTPForTest(secret, row.code, time.Unix(row.unix, 0), 8)
		assert.True(t, ok, "T=%d", row.unix)
		assert.Equal(t, row.unix/30, step)
		_, ok = usermgmt.VerifyTOTPForTest(secret, row.code, time.Unix(row.unix+90, 0), 8)
		assert.False(t, ok, "T=%d three steps later", row.unix)
	}
}

// oathtool computes a TOTP code with the reference tool at time at.
func oathtool(t *testing.T, secret string, at time.Time) string {
	return testotp.Oathtool(t, secret, at)
}

func TestInviteToLoginWithOathtool(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test", usermgmt.RoleRecruiter)
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)

	assert.Len(t, enr.Secret, 32, "160-bit base32 secret")
	assert.True(t, strings.HasPrefix(enr.URI, "otpauth://totp/Acme%20HR:ana@acme.test?"), enr.URI)
	assert.Contains(t, enr.URI, "issuer=Acme%20HR")
	assert.Equal(t, []byte("\x89PNG"), enr.QRPNG[:4])
	assert.Len(t, enr.RecoveryCodes, 10)
	got, err := e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusInvited, got.Status, "invited until TOTP is confirmed")

	s, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, oathtool(t, enr.Secret, e.clock.Now()))
	require.NoError(t, err)
	p, err := e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, p.UserID)
	assert.Equal(t, []usermgmt.Role{usermgmt.RoleRecruiter}, p.Roles)
	got, err = e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusActive, got.Status)
	assert.True(t, got.MFAEnabled)

	e.clock.Advance(time.Hour)
	ctx := usermgmt.WithActor(context.Background(), usermgmt.Actor{IP: "198.51.100.4", UserAgent: "Firefox"})
	res, err := e.m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: "ANA@acme.test", Password: goodPassword})
	require.NoError(t, err)
	require.NotEmpty(t, res.MFAChallenge)
	assert.Nil(t, res.Session)
	s, err = e.m.VerifyMFA(ctx, res.MFAChallenge, oathtool(t, enr.Secret, e.clock.Now()), false)
	require.NoError(t, err)
	_, err = e.m.Authenticate(context.Background(), s.Token)
	require.NoError(t, err)

	got, err = e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastLoginAt)
	assert.Equal(t, e.clock.Now(), *got.LastLoginAt)
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	var types []usermgmt.EventType
	for _, ev := range page.Events {
		types = append(types, ev.Type)
	}
	assert.Equal(t, []usermgmt.EventType{
		usermgmt.EventLoginSucceeded, usermgmt.EventMFAVerified,
		usermgmt.EventLoginSucceeded, usermgmt.EventMFAEnrolled, usermgmt.EventInviteAccepted,
		usermgmt.EventInvited, usermgmt.EventUserCreated}, types)
	assert.Equal(t, "198.51.100.4", page.Events[0].IP)
	assert.Equal(t, "Firefox", page.Events[1].UserAgent)
}

func TestInvitationIsUsedOnceEver(t *testing.T) {
	e := mustManager(t)
	_, token := e.invite(t, "ana@acme.test")
	_, err := e.m.AcceptInvite(context.Background(), token, "short")
	require.Equal(t, usermgmt.CodeInvalid, code(err), "policy failure keeps the link")
	_, err = e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(context.Background(), token, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
}

func TestAcceptInviteRace(t *testing.T) {
	e := mustManager(t)
	_, token := e.invite(t, "ana@acme.test")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.m.AcceptInvite(context.Background(), token, goodPassword); err == nil {
				ok.Add(1)
			} else {
				assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
}

func TestDeactivatedInviteeCannotAccept(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test")
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(context.Background(), token, goodPassword)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
}

func TestPasswordPolicy(t *testing.T) {
	e := mustManager(t)
	for name, pw := range map[string]string{
		"TooShort":     "elevenchars",
		"Common":       "Password123!",
		"CommonUpper":  "QWERTYUIOP",
		"TooLong":      strings.Repeat("x", 257),
		"IsEmailLocal": "ana.lopez.long",
	} {
		t.Run(name, func(t *testing.T) {
			_, token := e.invite(t, fmt.Sprintf("ana.lopez.long+%s@acme.test", strings.ToLower(name)))
			if name == "IsEmailLocal" {
				pw = fmt.Sprintf("ana.lopez.long+%s", strings.ToLower(name))
			}
			_, err := e.m.AcceptInvite(context.Background(), token, pw)
			assert.Equal(t, usermgmt.CodeInvalid, code(err))
		})
	}
	t.Run("NeverTruncated", func(t *testing.T) {
		long := strings.Repeat("abcdefgh", 30) // 240 characters
		u, secret := onboardWith(t, e, "long@acme.test", long)
		_, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: long[:239] + "X"})
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "a change in the 240th character matters")
		_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: long[:72]})
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_ = secret
	})
	t.Run("NFC", func(t *testing.T) {
		composed := "Kaffee-Pause-am-Caf\u00e9!"
		decomposed := "Kaffee-Pause-am-Cafe\u0301!"
		u, _ := onboardWith(t, e, "nfc@acme.test", composed)
		res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: decomposed})
		require.NoError(t, err)
		assert.NotEmpty(t, res.MFAChallenge)
	})
}

// onboardWith finishes setup with a given password.
func onboardWith(t *testing.T, e *env, email, password string) (usermgmt.User, string) {
	t.Helper()
	u, token := e.invite(t, email)
	enr, err := e.m.AcceptInvite(context.Background(), token, password)
	require.NoError(t, err)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second)
	return u, enr.Secret
}

func login(t *testing.T, e *env, email, password string) (usermgmt.LoginResult, error) {
	t.Helper()
	return e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: password})
}

// signIn logs in with password and TOTP and returns the session.
func signIn(t *testing.T, e *env, email, secret string, trust bool) usermgmt.Session {
	t.Helper()
	res, err := login(t, e, email, goodPassword)
	require.NoError(t, err)
	require.NotEmpty(t, res.MFAChallenge)
	s, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), trust)
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second)
	return s
}

func TestLoginAnswersTheSame(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	gone, _, _, _ := e.onboard(t, "gone@acme.test")
	_, err := e.m.Deactivate(e.ctx, tenant, gone.ID)
	require.NoError(t, err)

	var answers []string
	for _, c := range []struct{ email, pw string }{
		{u.Email, "wrong password here"}, {"nobody@acme.test", goodPassword}, {gone.Email, goodPassword},
		{"not an email", goodPassword},
	} {
		start := time.Now()
		_, err := login(t, e, c.email, c.pw)
		took := time.Since(start)
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		assert.Greater(t, took, 5*time.Millisecond, "an argon2id hash was computed for %s", c.email)
		answers = append(answers, err.Error())
	}
	assert.Equal(t, answers[0], answers[1])
	assert.Equal(t, answers[0], answers[2])
	assert.Equal(t, answers[0], answers[3])
}

func TestLockoutGrowsAndResets(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	for range 5 {
		_, err := login(t, e, u.Email, "wrong password here")
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	}
	// A locked key answers as a wrong password (see lockout_test.go).
	_, err := login(t, e, u.Email, goodPassword)
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "locked after 5 failures")
	e.clock.Advance(61 * time.Second)
	_, err = login(t, e, u.Email, "wrong password here")
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	e.clock.Advance(61 * time.Second)
	_, err = login(t, e, u.Email, goodPassword)
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the sixth failure locks for two minutes")
	e.clock.Advance(61 * time.Second)
	signIn(t, e, u.Email, secret, false)
	_, err = login(t, e, u.Email, "wrong password here")
	require.Equal(t, usermgmt.CodeUnauthenticated, code(err), "success reset the count")
	_, err = login(t, e, u.Email, goodPassword)
	require.NoError(t, err)

	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 100})
	require.NoError(t, err)
	failed, paused := 0, 0
	for _, ev := range page.Events {
		if ev.Type == usermgmt.EventLoginFailed {
			failed++
			if ev.Detail == "sign-in paused" {
				paused++
			}
		}
	}
	assert.Equal(t, 9, failed, "each failure logged")
	assert.Equal(t, 2, paused, "those refused unchecked say so")
}

func TestMFAFailuresLock(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	for range 5 {
		_, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, "000000", false)
		require.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	}
	s, err := e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "locked: the right code is refused as a wrong one")
	assert.Empty(t, s.Token)
}

func TestTOTPWindowAndReplay(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	e.clock.Advance(5 * 30 * time.Second) // T-2 is then later than the enrolment step
	now := e.clock.Now()
	// In this order: once T+1 is spent, the replay guard alone would
	// refuse T-2, and the window would go untested.
	for _, c := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"TMinus2", now.Add(-60 * time.Second), false},
		{"TPlus2", now.Add(60 * time.Second), false},
		{"TPlus1", now.Add(30 * time.Second), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := login(t, e, u.Email, goodPassword)
			require.NoError(t, err)
			saved := e.clock.Now()
			e.clock.Advance(c.at.Sub(saved))
			codeAt := e.code(t, secret)
			e.clock.Advance(saved.Sub(e.clock.Now()))
			_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, codeAt, false)
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
			}
		})
	}
	t.Run("ReplayedStepRefused", func(t *testing.T) {
		e.clock.Advance(90 * time.Second)
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		c := e.code(t, secret)
		_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, c, false)
		require.NoError(t, err)
		res, err = login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, c, false)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
	t.Run("ChallengeReuseRefused", func(t *testing.T) {
		e.clock.Advance(30 * time.Second)
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
		require.NoError(t, err)
		e.clock.Advance(30 * time.Second)
		_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
}

func TestOneCodeTwoGoroutines(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	var challenges [2]string
	for i := range challenges {
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		challenges[i] = res.MFAChallenge
	}
	c := e.code(t, secret)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for _, ch := range challenges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.m.VerifyMFA(context.Background(), ch, c, false); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
}

func TestRecoveryCodes(t *testing.T) {
	e := mustManager(t)
	u, _, _, codes := e.onboard(t, "ana@acme.test")
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, strings.ToUpper(codes[3]), false)
	require.NoError(t, err, "a recovery code stands in for TOTP")
	res, err = login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, codes[3], false)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "single-use")
	_, err = e.m.VerifyMFA(context.Background(), res.MFAChallenge, codes[4], false)
	require.NoError(t, err)
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	used := 0
	for _, ev := range page.Events {
		if ev.Type == usermgmt.EventMFARecoveryUsed {
			used++
		}
	}
	assert.Equal(t, 2, used)
}

// expiryCase checks that a token works 1 s before its expiry and not 1 s
// after: make sets up (returning the lifetime), use tries it.
func expiryCase(t *testing.T, name string, make func(e *env) time.Duration, use func(e *env) error) {
	t.Run(name, func(t *testing.T) {
		for _, c := range []struct {
			delta time.Duration
			want  []usermgmt.Code
		}{{-time.Second, []usermgmt.Code{""}}, {time.Second, []usermgmt.Code{usermgmt.CodeExpired, usermgmt.CodeUnauthenticated}}} {
			e := mustManager(t)
			ttl := make(e)
			e.clock.Advance(ttl + c.delta)
			assert.Contains(t, c.want, code(use(e)), "%v", c.delta)
		}
	})
}

func TestTokensExpireOnTheClock(t *testing.T) {
	var token, secret, email string
	var sess usermgmt.Session
	expiryCase(t, "Invitation", func(e *env) time.Duration {
		_, token = e.invite(t, "ana@acme.test")
		return 7 * 24 * time.Hour
	}, func(e *env) error { _, err := e.m.AcceptInvite(context.Background(), token, goodPassword); return err })

	expiryCase(t, "Enrollment", func(e *env) time.Duration {
		_, tok := e.invite(t, "ana@acme.test")
		enr, err := e.m.AcceptInvite(context.Background(), tok, goodPassword)
		require.NoError(t, err)
		token, secret = enr.Token, enr.Secret
		return 15 * time.Minute
	}, func(e *env) error {
		_, err := e.m.CompleteMFAEnrollment(context.Background(), token, e.code(t, secret))
		return err
	})

	expiryCase(t, "Challenge", func(e *env) time.Duration {
		var u usermgmt.User
		u, secret, _, _ = e.onboard(t, "ana@acme.test")
		res, err := login(t, e, u.Email, goodPassword)
		require.NoError(t, err)
		token = res.MFAChallenge
		return 5 * time.Minute
	}, func(e *env) error {
		_, err := e.m.VerifyMFA(context.Background(), token, e.code(t, secret), false)
		return err
	})

	expiryCase(t, "PasswordReset", func(e *env) time.Duration {
		u, _, _, _ := e.onboard(t, "ana@acme.test")
		e.clock.Advance(time.Minute) // past the invitation's mail interval
		require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
		token = e.lastToken(t, u.Email)
		return time.Hour
	}, func(e *env) error { return e.m.ResetPassword(context.Background(), token, "a brand new passphrase") })

	expiryCase(t, "SessionIdle", func(e *env) time.Duration {
		_, _, sess, _ = e.onboard(t, "ana@acme.test")
		return 30*time.Minute - 30*time.Second // onboard moved the clock 30 s
	}, func(e *env) error { _, err := e.m.Authenticate(context.Background(), sess.Token); return err })

	expiryCase(t, "SessionAbsolute", func(e *env) time.Duration {
		var u usermgmt.User
		u, secret, _, _ = e.onboard(t, "ana@acme.test")
		email = u.Email
		sess = signIn(t, e, email, secret, false)
		for sess.ExpiresAt.Sub(e.clock.Now()) > 29*time.Minute { // keep it from idling out
			e.clock.Advance(29 * time.Minute)
			s, err := e.m.Refresh(context.Background(), sess.RefreshToken)
			require.NoError(t, err)
			sess = s
		}
		return sess.ExpiresAt.Sub(e.clock.Now())
	}, func(e *env) error { _, err := e.m.Authenticate(context.Background(), sess.Token); return err })

	expiryCase(t, "TrustedDevice", func(e *env) time.Duration {
		var u usermgmt.User
		u, secret, _, _ = e.onboard(t, "ana@acme.test")
		email = u.Email
		sess = signIn(t, e, email, secret, true)
		return 30*24*time.Hour - 30*time.Second
	}, func(e *env) error {
		res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: email, Password: goodPassword, DeviceToken: sess.DeviceToken})
		if err == nil && res.Session == nil {
			return usermgmt.Errorf(usermgmt.CodeExpired, "device no longer skips TOTP")
		}
		return err
	})
}

func TestTrustedDevice(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	s := signIn(t, e, u.Email, secret, true)
	require.NotEmpty(t, s.DeviceToken)

	res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword, DeviceToken: s.DeviceToken})
	require.NoError(t, err)
	require.NotNil(t, res.Session, "trusted device skips TOTP")
	_, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: "wrong password here", DeviceToken: s.DeviceToken})
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "never the password")

	other, otherSecret, _, _ := e.onboard(t, "bob@acme.test")
	_ = otherSecret
	res, err = e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: other.Email, Password: goodPassword, DeviceToken: s.DeviceToken})
	require.NoError(t, err)
	assert.Nil(t, res.Session, "another user's device token does not skip TOTP")
	assert.NotEmpty(t, res.MFAChallenge)

	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{})
	require.NoError(t, err)
	var trusted bool
	for _, ev := range page.Events {
		trusted = trusted || ev.Type == usermgmt.EventDeviceTrusted
	}
	assert.True(t, trusted, "device trust grant in the activity log")
}

func TestSessions(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test", usermgmt.RoleAgent)
	s := signIn(t, e, u.Email, secret, false)

	t.Run("RoleChangeLandsOnRefresh", func(t *testing.T) {
		_, err := e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.RoleSupervisor)
		require.NoError(t, err)
		p, err := e.m.Authenticate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleAgent}, p.Roles, "the session keeps its snapshot")
		s2, err := e.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		p, err = e.m.Authenticate(context.Background(), s2.Token)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.Role{usermgmt.RoleSupervisor, usermgmt.RoleAgent}, p.Roles)
		_, err = e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "refresh rotates the session token")
		s = s2
	})
	t.Run("ReusedRefreshTokenRevokesTheSession", func(t *testing.T) {
		s2, err := e.m.Refresh(context.Background(), s.RefreshToken)
		require.NoError(t, err)
		e.clock.Advance(10 * time.Second) // past the reuse window (refresh_test.go)
		_, err = e.m.Refresh(context.Background(), s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Authenticate(context.Background(), s2.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "the whole session is gone")
		_, err = e.m.Refresh(context.Background(), s2.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
	})
	t.Run("Logout", func(t *testing.T) {
		s := signIn(t, e, u.Email, secret, false)
		require.NoError(t, e.m.Logout(context.Background(), s.Token))
		_, err := e.m.Authenticate(context.Background(), s.Token)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		_, err = e.m.Refresh(context.Background(), s.RefreshToken)
		assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		require.NoError(t, e.m.Logout(context.Background(), s.Token), "idempotent")
	})
	t.Run("GarbageTokens", func(t *testing.T) {
		for _, tok := range []string{"", "x", strings.Repeat("a", 47), s.RefreshToken} {
			_, err := e.m.Authenticate(context.Background(), tok)
			assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
		}
	})
}

// After each act, nothing the user held works.
func TestRevocationLeavesNothingWorking(t *testing.T) {
	for name, act := range map[string]func(t *testing.T, e *env, u usermgmt.User) error{
		"ForceLogout": func(_ *testing.T, e *env, u usermgmt.User) error { return e.m.ForceLogout(e.ctx, tenant, u.ID) },
		"Deactivate": func(_ *testing.T, e *env, u usermgmt.User) error {
			_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
			return err
		},
		"ResetMFA": func(_ *testing.T, e *env, u usermgmt.User) error { return e.m.ResetMFA(e.sudo(e.admin), tenant, u.ID) },
		"PasswordReset": func(t *testing.T, e *env, u usermgmt.User) error {
			if err := e.m.SendPasswordReset(e.ctx, tenant, u.ID); err != nil {
				return err
			}
			return e.m.ResetPassword(context.Background(), e.lastToken(t, u.Email), goodPassword+"!")
		},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			e := mustManager(t, func(o *usermgmt.Options) {
				o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(context.Context, string, uuid.UUID) error {
					calls.Add(1)
					return nil
				})}
			})
			u, secret, first, _ := e.onboard(t, "ana@acme.test")
			s := signIn(t, e, u.Email, secret, true)
			require.NoError(t, act(t, e, u))
			assert.Equal(t, int32(1), calls.Load(), "external revokers called")

			for _, tok := range []string{first.Token, s.Token} {
				_, err := e.m.Authenticate(context.Background(), tok)
				assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "session")
			}
			for _, tok := range []string{first.RefreshToken, s.RefreshToken} {
				_, err := e.m.Refresh(context.Background(), tok)
				assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "refresh token")
			}
			pw := goodPassword
			if name == "PasswordReset" {
				pw += "!"
			}
			res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: pw, DeviceToken: s.DeviceToken})
			if name == "Deactivate" {
				assert.Equal(t, usermgmt.CodeUnauthenticated, code(err))
				return
			}
			require.NoError(t, err)
			assert.Nil(t, res.Session, "trusted device no longer skips TOTP")
			if name == "ResetMFA" {
				require.NotNil(t, res.Enrollment, "enrols again after an MFA reset")
				got, err := e.m.GetUser(e.ctx, tenant, u.ID)
				require.NoError(t, err)
				assert.False(t, got.MFAEnabled)
			} else {
				assert.NotEmpty(t, res.MFAChallenge, "TOTP still needed")
			}
		})
	}
}

func TestFailingRevokerIsReportedAndRetrySafe(t *testing.T) {
	fail := atomic.Bool{}
	fail.Store(true)
	e := mustManager(t, func(o *usermgmt.Options) {
		o.Revokers = []usermgmt.SessionRevoker{revokerFunc(func(context.Context, string, uuid.UUID) error {
			if fail.Load() {
				return errors.New("host session store down")
			}
			return nil
		})}
	})
	u, _, s, _ := e.onboard(t, "ana@acme.test")
	err := e.m.ForceLogout(e.ctx, tenant, u.ID)
	assert.Equal(t, usermgmt.CodeInternal, code(err))
	_, err = e.m.Authenticate(context.Background(), s.Token)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(err), "own sessions are gone anyway")
	fail.Store(false)
	assert.NoError(t, e.m.ForceLogout(e.ctx, tenant, u.ID))
}

func TestSelfServiceReset(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	inv, _ := e.invite(t, "invited@acme.test")
	e.clock.Advance(time.Minute) // the invitation was the last mail
	n := len(e.mail.Messages())
	for _, email := range []string{"nobody@acme.test", inv.Email} {
		require.NoError(t, e.m.RequestPasswordReset(context.Background(), tenant, email), "same answer for %s", email)
	}
	require.NoError(t, e.m.Close())
	assert.Len(t, e.mail.Messages(), n, "nothing sent to unknown or invited users")
	require.NoError(t, e.m.RequestPasswordReset(context.Background(), tenant, "ANA@acme.test"))
	require.NoError(t, e.m.Close())
	require.NoError(t, e.m.RequestPasswordReset(context.Background(), tenant, "ana@acme.test"))
	require.NoError(t, e.m.Close())
	assert.Len(t, e.mail.Messages(), n+1, "at most one mail a minute")
	token := e.lastToken(t, u.Email)
	require.NoError(t, e.m.ResetPassword(context.Background(), token, "a brand new passphrase"))
	last, _ := e.mail.Last()
	assert.Equal(t, usermgmt.MessagePasswordChanged, last.Kind)
	assert.Equal(t, usermgmt.CodeUnauthenticated, code(e.m.ResetPassword(context.Background(), token, "another new passphrase")), "single-use")
	res, err := login(t, e, u.Email, "a brand new passphrase")
	require.NoError(t, err)
	assert.NotEmpty(t, res.MFAChallenge, "reset does not log in; TOTP still needed")
}

func TestMFAOptional(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.MFAOptional = true })
	u, token := e.invite(t, "ana@acme.test")
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), enr.Token, "")
	require.NoError(t, err)
	got, err := e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, usermgmt.StatusActive, got.Status)
	assert.False(t, got.MFAEnabled, "not enrolled")
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	require.NotNil(t, res.Session, "password alone")

	strict := mustManager(t)
	_, token = strict.invite(t, "ana@acme.test")
	enr, err = strict.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	_, err = strict.m.CompleteMFAEnrollment(context.Background(), enr.Token, "")
	assert.Equal(t, usermgmt.CodeInvalid, code(err), "TOTP required by default: an empty code is no code")
}

func TestInterruptedSetupResumesAtLogin(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test")
	_, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	res, err := login(t, e, u.Email, goodPassword)
	require.NoError(t, err)
	require.NotNil(t, res.Enrollment)
	_, err = e.m.CompleteMFAEnrollment(context.Background(), res.Enrollment.Token, e.code(t, res.Enrollment.Secret))
	require.NoError(t, err)
}

func TestChangedSecretKeyFailsLoudly(t *testing.T) {
	e := mustManager(t)
	u, secret, _, _ := e.onboard(t, "ana@acme.test")
	other := make([]byte, 32)
	m2, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: other,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	res, err := m2.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword})
	require.NoError(t, err)
	_, err = m2.VerifyMFA(context.Background(), res.MFAChallenge, e.code(t, secret), false)
	assert.Equal(t, usermgmt.CodeInternal, code(err), "never a silent 'wrong code'")
}

func TestRehashAtLoginWhenCostRises(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	stronger, err := usermgmt.New(e.store, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Argon2: usermgmt.Argon2Params{MemoryKiB: 19456, Time: 3, Threads: 1}})
	require.NoError(t, err)
	_, err = stronger.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword})
	require.NoError(t, err)
	var phc string
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.GetUser(ctx, tenant, u.ID)
		phc = r.PasswordHash
		return err
	}))
	assert.Contains(t, phc, "$argon2id$v=19$m=19456,t=3,p=1$")
}

func TestNoSecretLeaks(t *testing.T) {
	e := mustManager(t)
	u, token := e.invite(t, "ana@acme.test")
	enr, err := e.m.AcceptInvite(context.Background(), token, goodPassword)
	require.NoError(t, err)
	s, err := e.m.CompleteMFAEnrollment(context.Background(), enr.Token, e.code(t, enr.Secret))
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second)
	_, err = login(t, e, u.Email, "wrong password here")
	require.Error(t, err)
	s2 := signIn(t, e, u.Email, enr.Secret, true)
	require.NoError(t, e.m.SendPasswordReset(e.ctx, tenant, u.ID))
	reset := e.lastToken(t, u.Email)
	require.NoError(t, e.m.ResetPassword(context.Background(), reset, "a brand new passphrase"))

	var phc string
	require.NoError(t, e.store.RunInTx(context.Background(), usermgmt.TxOptions{ReadOnly: true}, func(ctx context.Context, tx usermgmt.Tx) error {
		r, err := tx.GetUser(ctx, tenant, u.ID)
		phc = r.PasswordHash
		return err
	}))
	secrets := append([]string{goodPassword, "wrong password here", "a brand new passphrase", phc, token, enr.Token, enr.Secret,
		s.Token, s.RefreshToken, s2.Token, s2.RefreshToken, s2.DeviceToken, reset}, enr.RecoveryCodes...)

	got, err := e.m.GetUser(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	page, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
	require.NoError(t, err)
	acts, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 200})
	require.NoError(t, err)
	seen := fmt.Sprintf("%+v %+v %+v %s", got, page, acts, e.log.String())
	for _, sec := range secrets {
		require.NotEmpty(t, sec)
		assert.NotContains(t, seen, sec)
	}
}

// blockingMailer holds every Send until released.
type blockingMailer struct{ release chan struct{} }

func (b *blockingMailer) Send(ctx context.Context, _ usermgmt.Message) error {
	<-b.release
	return nil
}

func TestForgotPasswordAnswersBeforeAnyWork(t *testing.T) {
	e := mustManager(t)
	u, _, _, _ := e.onboard(t, "ana@acme.test")
	e.clock.Advance(time.Minute)
	mail := &blockingMailer{release: make(chan struct{})}
	m, err := usermgmt.New(e.store, usermgmt.Options{Mailer: mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- m.RequestPasswordReset(context.Background(), tenant, u.Email) }()
	select {
	case err := <-done:
		require.NoError(t, err, "answered while the mail to a known user is still being sent")
	case <-time.After(10 * time.Second):
		t.Fatal("RequestPasswordReset waited for the mail: its timing tells that the email exists")
	}
	close(mail.release)
	require.NoError(t, m.Close())
	page, err := e.m.ListActivity(e.ctx, tenant, u.ID, usermgmt.ActivityQuery{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, usermgmt.EventPasswordResetSent, page.Events[0].Type, "the background work was done")
}
