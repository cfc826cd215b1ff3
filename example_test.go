package usermgmt_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	texttemplate "text/template"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// The Settings → Users page on the memory store: invite, list, toggle a
// role, deactivate.
func Example() {
	ctx := usermgmt.AsSystem(context.Background()) // trusted set-up code: no Actor to check
	mail := mailertest.New()
	m, err := usermgmt.New(memory.New(), usermgmt.Options{
		Mailer:    mail,
		SecretKey: bytes.Repeat([]byte{1}, 32), // use 32 random bytes from your secret store
		Issuer:    "Acme HR",
		Links:     usermgmt.Links{BaseURL: "https://hr.acme.example"},
	})
	if err != nil {
		panic(err)
	}

	ana, _ := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: "Ana@Acme.example", Roles: []usermgmt.Role{usermgmt.RoleRecruiter}})
	bob, _ := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: "bob@acme.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	last, _ := mail.Last()
	fmt.Println("mailed:", last.To, "-", last.Subject)

	ana, _ = m.GrantRole(ctx, "acme", ana.ID, usermgmt.RoleSupervisor)
	fmt.Println("ana's roles:", ana.Roles)
	bob, _ = m.Deactivate(ctx, "acme", bob.ID)

	page, _ := m.ListUsers(ctx, "acme", usermgmt.ListUsersQuery{})
	c := page.Counts
	fmt.Printf("Active %d · Invited %d · Deactivated %d · All %d\n", c.Active, c.Invited, c.Deactivated, c.All)
	for _, u := range page.Users {
		fmt.Printf("%-18s %-12s mfa=%-5v last login: %s\n", u.Email, u.Status, u.MFAEnabled, usermgmt.RelativeTime(u.LastLoginAt, time.Now()))
	}
	// Output:
	// mailed: bob@acme.example - You are invited to Acme HR
	// ana's roles: [recruiter supervisor]
	// Active 0 · Invited 1 · Deactivated 1 · All 2
	// ana@acme.example   invited      mfa=false last login: never
	// bob@acme.example   deactivated  mfa=false last login: never
}

// An export of the users a filter selects, as CSV (read back here to show
// three of its columns): a cell a spreadsheet would run as a formula is
// written as text.
func ExampleManager_ExportUsers() {
	ctx := usermgmt.AsSystem(context.Background())
	m, _ := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mailertest.New(), SecretKey: make([]byte, 32),
		Links: usermgmt.Links{BaseURL: "https://hr.acme.example"}})
	for _, e := range []string{"ana@acme.example", "=1+1@acme.example", "bob@acme.example"} {
		_, _ = m.InviteUser(ctx, "acme", usermgmt.Invite{Email: e, Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	}
	_, _ = m.InviteUser(ctx, "acme", usermgmt.Invite{Email: "cy@acme.example", Roles: []usermgmt.Role{usermgmt.RoleRecruiter}})

	var out bytes.Buffer // a file, or an http.ResponseWriter: rows are written as they are read
	err := m.ExportUsers(ctx, "acme", usermgmt.ExportUsersQuery{Role: usermgmt.RoleAgent}, usermgmt.ExportCSV, &out)
	if err != nil {
		panic(err)
	}
	rows, _ := csv.NewReader(&out).ReadAll()
	for _, r := range rows {
		fmt.Println(r[1], r[2], r[3])
	}
	// Output:
	// email status roles
	// '=1+1@acme.example invited agent
	// ana@acme.example invited agent
	// bob@acme.example invited agent
}

// Errors carry a code to act on.
func ExampleErrorCode() {
	m, _ := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mailertest.New(), SecretKey: make([]byte, 32),
		Links: usermgmt.Links{BaseURL: "https://hr.acme.example"}})
	_, err := m.InviteUser(usermgmt.AsSystem(context.Background()), "acme", usermgmt.Invite{Email: "not-an-email", Roles: []usermgmt.Role{"agent"}})
	fmt.Println(usermgmt.ErrorCode(err))
	_, err = m.InviteUser(usermgmt.AsSystem(context.Background()), "acme", usermgmt.Invite{Email: "ana@acme.example", Roles: []usermgmt.Role{"wizard"}})
	fmt.Println(usermgmt.ErrorCode(err), "-", usermgmt.ErrorMessage(err))
	// Output:
	// invalid
	// invalid - Unknown role "wizard".
}

func ExampleRelativeTime() {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	twoHours := now.Add(-2 * time.Hour)
	fmt.Println(usermgmt.RelativeTime(&twoHours, now), usermgmt.RelativeTime(nil, now))
	// Output: 2h ago never
}

// A host changes the wording of one kind of mail and keeps the others.
func ExampleDefaultMailTemplate() {
	invite := usermgmt.DefaultMailTemplate(usermgmt.MessageInvite)
	invite.Subject = texttemplate.Must(texttemplate.New("").Parse(`Welcome to {{.Product}}{{if .Inviter}}, from {{.Inviter}}{{end}}`))
	mail := mailertest.New()
	m, err := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mail, SecretKey: make([]byte, 32), Issuer: "Acme HR",
		Links:         usermgmt.Links{BaseURL: "https://hr.acme.example"},
		MailTemplates: map[usermgmt.MessageKind]usermgmt.MailTemplate{usermgmt.MessageInvite: invite},
	})
	if err != nil {
		panic(err)
	}
	_, _ = m.InviteUser(usermgmt.AsSystem(context.Background()), "acme", usermgmt.Invite{Email: "ana@acme.example", Roles: []usermgmt.Role{"agent"}})
	msg, _ := mail.Last()
	fmt.Println(msg.Subject)
	// Output: Welcome to Acme HR
}

// Mail that could not be sent waits in the outbox; a worker delivers it
// later. Hosts run m.Run(ctx), which calls DeliverPending periodically.
func ExampleManager_DeliverPending() {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	mail := mailertest.New()
	m, _ := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mail, SecretKey: make([]byte, 32),
		Links: usermgmt.Links{BaseURL: "https://hr.acme.example"}, Clock: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	ctx := usermgmt.AsSystem(context.Background())

	mail.FailNext(errors.New("smtp: connection refused"))
	_, err := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ana@acme.example", Roles: []usermgmt.Role{"agent"}})
	fmt.Println(usermgmt.ErrorCode(err), "-", usermgmt.ErrorMessage(err))
	page, _ := m.ListUndeliveredMail(ctx, "acme", usermgmt.MailQuery{})
	fmt.Println("waiting:", page.Mail[0].To, page.Mail[0].Kind, "next try", page.Mail[0].NextAttemptAt.Sub(now))

	now = now.Add(time.Minute)
	d, _ := m.DeliverPending(ctx)
	fmt.Println("sent:", d.Sent, "- mailbox:", len(mail.Messages()))
	// Output:
	// delivery_failed - The change was saved, but the mail could not be sent yet; it will be retried.
	// waiting: ana@acme.example invite next try 1m0s
	// sent: 1 - mailbox: 1
}
