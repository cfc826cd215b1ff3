// Command quickstart plays the Settings → Users page on the in-memory
// store: an admin invites people, toggles roles and deactivates one; an
// invitee follows the mailed link, sets a password, enrols TOTP and logs
// in; then the page shows its badges, rows and one user's activity.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/postgres"
)

func main() {
	dbURL := flag.String("database-url", "", "PostgreSQL URL; the in-memory store when empty")
	flag.Parse()
	if err := run(*dbURL); err != nil {
		log.Fatal(err)
	}
}

func run(dbURL string) error {
	ctx := context.Background()
	store, tenant, err := openStore(ctx, dbURL)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key) // in production: 32 bytes from your secret store, kept stable
	mail := mailertest.New()
	m, err := usermgmt.New(store, usermgmt.Options{
		Mailer: mail, SecretKey: key, Issuer: "Acme HR",
		Links: usermgmt.Links{BaseURL: "https://hr.acme.example"},
	})
	if err != nil {
		return err
	}

	// Set-up code marks its context AsSystem: it is trusted, and that is
	// how a tenant gets its first tenant_admin. A context with neither an
	// Actor nor this mark is refused.
	admin, err := m.InviteUser(usermgmt.AsSystem(ctx), tenant, usermgmt.Invite{Email: "admin@acme.example", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}})
	if err != nil {
		return err
	}
	if _, err := onboard(ctx, m, mail, admin.Email); err != nil {
		return err
	}

	// From here on the admin acts: every call is authorised and logged.
	asAdmin := usermgmt.WithActor(ctx, usermgmt.Actor{UserID: admin.ID, IP: "203.0.113.10", UserAgent: "quickstart"})
	fmt.Println("== Invite User")
	var ana usermgmt.User
	for _, inv := range []usermgmt.Invite{
		{Email: "Ana.Lopez@acme.example", Roles: []usermgmt.Role{usermgmt.RoleRecruiter}},
		{Email: "bob@acme.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}},
		{Email: "chen@acme.example", Roles: []usermgmt.Role{usermgmt.RoleWFMAnalyst}},
	} {
		u, err := m.InviteUser(asAdmin, tenant, inv)
		if err != nil {
			return err
		}
		if ana.Email == "" {
			ana = u
		}
		msg, _ := mail.LastTo(u.Email)
		fmt.Printf("invited %-24s %v  mail: %q\n", u.Email, u.Roles, msg.Subject)
	}

	fmt.Println("\n== The invitee's side: open the link, set a password, enrol TOTP, log in")
	secret, err := onboard(ctx, m, mail, ana.Email)
	if err != nil {
		return err
	}
	res, err := m.Login(ctx, usermgmt.LoginRequest{TenantID: tenant, Email: ana.Email, Password: "correct horse battery staple"})
	if err != nil {
		return err
	}
	code := nextCode(secret)
	sess, err := m.VerifyMFA(ctx, res.MFAChallenge, code, true)
	if err != nil {
		return err
	}
	p, err := m.Authenticate(ctx, sess.Token)
	if err != nil {
		return err
	}
	fmt.Printf("%s logged in with TOTP %s; roles %v; this device is trusted for 30 days\n", ana.Email, code, p.Roles)

	fmt.Println("\n== Detail panel: toggle roles, deactivate")
	if _, err := m.GrantRole(asAdmin, tenant, ana.ID, usermgmt.RoleSupervisor); err != nil {
		return err
	}
	if _, err := m.RevokeRole(asAdmin, tenant, ana.ID, usermgmt.RoleRecruiter); err != nil {
		return err
	}
	refreshed, err := m.Refresh(ctx, sess.RefreshToken)
	if err != nil {
		return err
	}
	p, _ = m.Authenticate(ctx, refreshed.Token)
	fmt.Printf("ana's roles after the token refresh: %v\n", p.Roles)
	page, err := m.ListUsers(asAdmin, tenant, usermgmt.ListUsersQuery{Search: "bob"})
	if err != nil {
		return err
	}
	bob, err := m.Deactivate(asAdmin, tenant, page.Users[0].ID)
	if err != nil {
		return err
	}
	fmt.Printf("%s is now %s\n", bob.Email, bob.Status)

	fmt.Println("\n== Settings → Users")
	page, err = m.ListUsers(asAdmin, tenant, usermgmt.ListUsersQuery{})
	if err != nil {
		return err
	}
	c := page.Counts
	fmt.Printf("[Active %d] [Invited %d] [Deactivated %d] [All %d]\n\n", c.Active, c.Invited, c.Deactivated, c.All)
	fmt.Printf("%-26s %-12s %-13s %s\n", "EMAIL", "STATUS", "MFA", "LAST LOGIN")
	for _, u := range page.Users {
		mfa := "not enrolled"
		if u.MFAEnabled {
			mfa = "enabled"
		}
		fmt.Printf("%-26s %-12s %-13s %s\n", u.Email, u.Status, mfa, usermgmt.RelativeTime(u.LastLoginAt, time.Now()))
	}

	fmt.Printf("\n== Activity of %s (newest first)\n", ana.Email)
	acts, err := m.ListActivity(asAdmin, tenant, ana.ID, usermgmt.ActivityQuery{})
	if err != nil {
		return err
	}
	for _, ev := range acts.Events {
		by := "system"
		switch ev.ActorID {
		case admin.ID:
			by = "admin"
		case ana.ID:
			by = "ana"
		}
		fmt.Printf("%s  %-26s %-8s %s\n", ev.CreatedAt.Format("15:04:05"), ev.Type, by, ev.Detail)
	}
	return nil
}

// onboard follows the invitation mailed to email: set a password, scan the
// QR code (here: read the secret), confirm with the first code.
func onboard(ctx context.Context, m *usermgmt.Manager, mail *mailertest.Mailer, email string) (string, error) {
	enr, err := m.AcceptInvite(ctx, mail.Token(email), "correct horse battery staple")
	if err != nil {
		return "", err
	}
	code, err := totp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		return "", err
	}
	if _, err := m.CompleteMFAEnrollment(ctx, enr.Token, code); err != nil {
		return "", err
	}
	fmt.Printf("%s accepted the invitation: %d-byte QR code, %d recovery codes, TOTP enrolled\n",
		email, len(enr.QRPNG), len(enr.RecoveryCodes))
	return enr.Secret, nil
}

// nextCode waits for the next TOTP time step (a used step is never
// accepted twice) and returns its code, as an authenticator app would.
func nextCode(secret string) string {
	now := time.Now()
	next := now.Truncate(30 * time.Second).Add(30 * time.Second)
	fmt.Printf("(waiting %.0fs for the next TOTP step)\n", next.Sub(now).Seconds())
	time.Sleep(next.Sub(now))
	code, _ := totp.GenerateCode(secret, time.Now())
	return code
}

// openStore returns the memory store, or Postgres (migrated) for a URL.
func openStore(ctx context.Context, dbURL string) (usermgmt.Store, string, error) {
	if dbURL == "" {
		return memory.New(), "acme", nil
	}
	sqldb, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, "", err
	}
	s, err := postgres.New(bun.NewDB(sqldb, pgdialect.New()))
	if err != nil {
		return nil, "", err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, "", err
	}
	// A fresh tenant per run, so the example can run again on the same database.
	host, _ := os.Hostname()
	return s, fmt.Sprintf("acme-%s-%d", strings.ToLower(host), time.Now().Unix()), nil
}
