// Package usermgmt is the "Settings → Users" page of a multi-tenant SaaS as
// a library: invitations, roles, TOTP MFA, password resets, force logout,
// an activity log and deactivation, for a Go application to embed.
//
// A host builds one Manager over a Store (store/memory or store/postgres)
// and a Mailer (mailer/smtp), and calls it from its own handlers or mounts
// the ready ones in httpapi and ui:
//
//	m, err := usermgmt.New(store, usermgmt.Options{Mailer: mailer, SecretKey: key32,
//		Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
//	ctx = usermgmt.WithActor(ctx, usermgmt.Actor{UserID: adminID, IP: ip, UserAgent: ua})
//	page, err := m.ListUsers(ctx, tenantID, usermgmt.ListUsersQuery{Search: "ana"})
//	go m.Run(ctx) // the outbox worker, once per process
//
// Every admin operation is tenant-scoped: a user id of another tenant is
// not_found. The Actor in the context is checked against the role
// catalogue and recorded in the activity log. Trusted code (set-up, jobs)
// marks its context with AsSystem instead: it is recorded as the system and
// not checked. A context with neither is refused with permission_denied, so
// a handler that forgets WithActor grants nothing. Every change,
// its activity event and its mail commit in one Store transaction; the
// mail goes to the Mailer and SessionRevokers are called after the commit.
// Mail lives in the store's outbox until the Mailer has taken it: a failed
// delivery is retried by Run (or DeliverPending), and one given up is
// logged and listed by ListUndeliveredMail.
//
// The person's side — AcceptInvite, CompleteMFAEnrollment, Login,
// VerifyMFA, Authenticate, Refresh, Logout, RequestPasswordReset,
// ResetPassword — issues and checks 256-bit tokens kept only as SHA-256,
// argon2id password hashes (an imported bcrypt, scrypt, PBKDF2 or
// Firebase hash is checked as it is and becomes argon2id at its first
// login: see CheckPasswordHash) and RFC 6238 TOTP codes whose time steps
// are never accepted twice. Sensitive operations (granting tenant_admin,
// ResetMFA) also need the acting session (Actor.SessionID) to have
// verified a password or a code within Options.SudoWindow, or they answer
// mfa_required; Sudo renews that window with a code. At most
// Options.MaxConcurrentHashes password hashes run at once; a login that
// waited Options.HashQueueTimeout for its turn is answered rate_limited.
//
// Errors a caller can act on are *Error values with a Code; read it with
// ErrorCode. A Manager is safe for concurrent use.
package usermgmt
