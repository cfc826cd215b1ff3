package usermgmt_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// Data sizes of the benchmarks: a tenant of 100,000 users among 1,000,000,
// and 1,000,000 activity events, 300,000 of them on one user.
const (
	benchUsers       = 1_000_000
	benchBigTenant   = 100_000
	benchEvents      = 1_000_000
	benchBusyEvents  = 300_000
	benchTenantCount = 10_000
)

var (
	inviteSeq atomic.Int64
	bigOnce   sync.Once
	big       *bigEnv
)

type bigEnv struct {
	*env
	busy       usermgmt.User // the user with 300,000 events
	deepCursor string        // page 1,000 of the big tenant
}

func bigSetup(b *testing.B) *bigEnv {
	bigOnce.Do(func() {
		e := mustManager(b, func(o *usermgmt.Options) { o.MailInterval = time.Nanosecond })
		ctx := context.Background()
		now := e.clock.Now()
		var busy usermgmt.User
		err := e.store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			for i := range benchUsers - 1 {
				t := tenant
				if i >= benchBigTenant-1 {
					t = fmt.Sprintf("tenant-%04d", i%benchTenantCount)
				}
				u := &usermgmt.UserRecord{User: usermgmt.User{ID: uuid.Must(uuid.NewV7()), TenantID: t,
					Email:  fmt.Sprintf("user%07d@example.com", i),
					Status: []usermgmt.Status{usermgmt.StatusActive, usermgmt.StatusActive, usermgmt.StatusInvited, usermgmt.StatusDeactivated}[i%4],
					Roles:  []usermgmt.Role{usermgmt.RoleAgent}, CreatedAt: now, UpdatedAt: now}}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if i == 0 {
					busy = u.User
				}
				n := 1
				if i == 0 {
					n = benchBusyEvents
				} else if i > benchEvents-benchBusyEvents {
					n = 0
				}
				for range n {
					ev := &usermgmt.Event{ID: uuid.Must(uuid.NewV7()), TenantID: u.TenantID, UserID: u.ID,
						Type: usermgmt.EventLoginSucceeded, CreatedAt: now}
					if err := tx.AppendEvent(ctx, ev); err != nil {
						return err
					}
				}
			}
			return nil
		})
		require.NoError(b, err)
		cursor := ""
		for range 1000 {
			p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Cursor: cursor})
			require.NoError(b, err)
			cursor = p.NextCursor
		}
		big = &bigEnv{env: e, busy: busy, deepCursor: cursor}
	})
	return big
}

func BenchmarkListUsersFirstPage(b *testing.B) {
	e := bigSetup(b)
	for b.Loop() {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{})
		if err != nil || len(p.Users) != 50 || p.Counts.All != benchBigTenant {
			b.Fatal(err, len(p.Users), p.Counts)
		}
	}
}

func BenchmarkListUsersPage1000(b *testing.B) {
	e := bigSetup(b)
	for b.Loop() {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Cursor: e.deepCursor})
		if err != nil || len(p.Users) != 50 {
			b.Fatal(err)
		}
	}
}

func BenchmarkListUsersSearchRare(b *testing.B) {
	e := bigSetup(b)
	for b.Loop() {
		p, err := e.m.ListUsers(e.ctx, tenant, usermgmt.ListUsersQuery{Search: "user0012345@"})
		if err != nil || len(p.Users) != 1 {
			b.Fatal(err, len(p.Users))
		}
	}
}

func BenchmarkListActivityDeep(b *testing.B) {
	e := bigSetup(b)
	first, err := e.m.ListActivity(e.ctx, tenant, e.busy.ID, usermgmt.ActivityQuery{})
	require.NoError(b, err)
	cursor := first.NextCursor
	for range 2000 { // 2,000 pages deep
		p, err := e.m.ListActivity(e.ctx, tenant, e.busy.ID, usermgmt.ActivityQuery{Cursor: cursor})
		require.NoError(b, err)
		cursor = p.NextCursor
	}
	for b.Loop() {
		p, err := e.m.ListActivity(e.ctx, tenant, e.busy.ID, usermgmt.ActivityQuery{Cursor: cursor})
		if err != nil || len(p.Events) != 50 {
			b.Fatal(err)
		}
	}
}

func BenchmarkInviteUser(b *testing.B) {
	e := bigSetup(b)
	for b.Loop() {
		i := inviteSeq.Add(1)
		_, err := e.m.InviteUser(e.ctx, tenant, usermgmt.Invite{Email: fmt.Sprintf("bench%d@invite.example", i),
			Roles: []usermgmt.Role{usermgmt.RoleAgent}})
		if err != nil {
			b.Fatal(err)
		}
		if i%10000 == 0 {
			e.mail.Reset()
		}
	}
}

// rawToken makes a token in the library's format with its hash, so the
// benchmarks can put challenges straight into the store.
func rawToken(prefix string) (string, usermgmt.TokenHash) {
	var buf [32]byte
	rand.Read(buf[:])
	t := prefix + base64.RawURLEncoding.EncodeToString(buf[:])
	return t, sha256.Sum256([]byte(t))
}

func BenchmarkAuthenticate(b *testing.B) {
	e := mustManager(b)
	_, _, s, _ := e.onboard(b, "ana@acme.test")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Authenticate(ctx, s.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMFA(b *testing.B) {
	e := mustManager(b)
	u, secret, _, _ := e.onboard(b, "ana@acme.test")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e.clock.Advance(30 * time.Second) // each login needs a fresh time step
		token, hash := rawToken("umc_")
		now := e.clock.Now()
		require.NoError(b, e.store.RunInTx(ctx, usermgmt.TxOptions{}, func(ctx context.Context, tx usermgmt.Tx) error {
			return tx.CreateToken(ctx, &usermgmt.TokenRecord{Hash: hash, Purpose: usermgmt.PurposeMFAChallenge,
				TenantID: tenant, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
		}))
		code, _ := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		b.StartTimer()
		if _, err := e.m.VerifyMFA(ctx, token, code, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is the whole password step; BenchmarkLoginArgon2 below
// is the hash alone, so the difference is the library's own work.
func BenchmarkLogin(b *testing.B) {
	e := mustManager(b)
	u, _, _, _ := e.onboard(b, "ana@acme.test")
	for b.Loop() {
		res, err := e.m.Login(context.Background(), usermgmt.LoginRequest{TenantID: tenant, Email: u.Email, Password: goodPassword})
		if err != nil || res.MFAChallenge == "" {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoginArgon2(b *testing.B) {
	for b.Loop() {
		usermgmt.HashPasswordForTest(goodPassword)
	}
}

// BenchmarkDeliverWebhooks: one worker posting a backlog to a local
// receiver (webhooktest.BenchmarkDelivery).
func BenchmarkDeliverWebhooks(b *testing.B) { webhooktest.BenchmarkDelivery(b, memory.New(), nil) }
