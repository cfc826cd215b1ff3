package usermgmt_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// Users of a bcrypt-based app come in with their hashes: a dry run
// first, then the import. Ana and Bob sign in with the passwords they
// had; Carl, without one, is invited; the bad row is refused with its
// line.
func ExampleManager_ImportUsers() {
	ctx := usermgmt.AsSystem(context.Background())
	m, _ := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mailertest.New(), SecretKey: bytes.Repeat([]byte{1}, 32),
		Links: usermgmt.Links{BaseURL: "https://hr.acme.example"}})
	const hash = `"$2y$08$XqLZ3FqM3W8/yktfLczwf.9eIPXTM3xWPtZs6cOu5Alx/VhhNDT1S"` // htpasswd -nbB -C 8
	csv := "email,roles,display_name,password_hash,totp_secret\n" +
		"ana@acme.example,agent,Ana," + hash + ",JBSWY3DPEHPK3PXP\n" +
		"bob@acme.example,agent;supervisor,Bob," + hash + ",\n" +
		"carl@acme.example,agent,Carl,,\n" +
		"dora@acme.example,janitor,Dora," + hash + ",\n"

	for _, dry := range []bool{true, false} {
		res, err := m.ImportUsers(ctx, "acme", usermgmt.ReadImportCSV(strings.NewReader(csv)), usermgmt.ImportOptions{DryRun: dry})
		if err != nil {
			panic(err)
		}
		fmt.Printf("dry run %v: created %d, refused %d\n", dry, res.Created, res.Failed)
		for _, e := range res.Errors {
			fmt.Printf("  line %d %s: %s %s\n", e.Line, e.Email, e.Code, e.Field)
		}
	}
	page, _ := m.ListUsers(ctx, "acme", usermgmt.ListUsersQuery{})
	for _, u := range page.Users {
		fmt.Printf("%-18s %-8s mfa=%v roles=%v\n", u.Email, u.Status, u.MFAEnabled, u.Roles)
	}
	// Output:
	// dry run true: created 3, refused 1
	//   line 5 dora@acme.example: invalid roles
	// dry run false: created 3, refused 1
	//   line 5 dora@acme.example: invalid roles
	// ana@acme.example   active   mfa=true roles=[agent]
	// bob@acme.example   active   mfa=false roles=[supervisor agent]
	// carl@acme.example  invited  mfa=false roles=[agent]
}
