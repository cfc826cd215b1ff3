package usermgmt

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt/internal/ratelimit"
)

// Options configures a Manager. Zero values take the defaults documented
// on each field; New refuses values that would weaken security.
type Options struct {
	// Mailer sends invitations, reset links and notices. Required. Every
	// mail goes through the store's outbox first (see Run), so a Mailer
	// that fails loses nothing.
	Mailer Mailer
	// MailTemplates replaces the wording of some kinds of mail; the kinds
	// left out keep the defaults (see DefaultMailTemplate). New fills each
	// with sample data and refuses a template that fails.
	MailTemplates map[MessageKind]MailTemplate
	// Revokers are told when a user's sessions end (force logout,
	// deactivation, password reset), for hosts with sessions of their own;
	// those that implement SingleSessionRevoker also when one session ends.
	Revokers []SessionRevoker
	// Roles is the role catalogue. Default: DefaultRoles(). It must
	// contain tenant_admin.
	Roles []RoleDef
	// Clock tells the time. Default: time.Now.
	Clock func() time.Time
	// SecretKey (32 bytes, required) seals TOTP secrets with AES-256-GCM
	// and signs list cursors. Changing it makes enrolled TOTP secrets
	// unreadable: verification then fails with internal, never silently.
	SecretKey []byte
	// Links builds the links in mails.
	Links Links
	// Issuer names the product in mails and in TOTP apps. Default "usermgmt".
	Issuer string
	// Logger receives internal errors (never a secret). Default: slog.Default().
	Logger *slog.Logger

	// InviteTTL is how long an invitation link works. Default 7 days.
	InviteTTL time.Duration
	// ResetTTL is how long a password reset link works. Default 1 hour.
	ResetTTL time.Duration
	// EnrollmentTTL is how long an MFA enrolment may take. Default 15 minutes.
	EnrollmentTTL time.Duration
	// ChallengeTTL is how long an MFA challenge waits for its code. Default 5 minutes.
	ChallengeTTL time.Duration
	// SessionIdleTimeout ends a session unused this long. Default 30
	// minutes. Authenticate moves the limit only once it lags
	// IdleStep(SessionIdleTimeout) behind (a tenth of it, at most a
	// minute), so that most requests write nothing: a session may end up
	// to that step early, never late, and a session's LastSeenAt is as
	// coarse.
	SessionIdleTimeout time.Duration
	// SessionMaxAge ends every session this long after login. Default 12 hours.
	SessionMaxAge time.Duration
	// DeviceTrustTTL is how long a trusted device skips TOTP. Default 30 days.
	DeviceTrustTTL time.Duration
	// RefreshReuseWindow is how long a refresh token that Refresh has just
	// replaced still works, answering with the same new tokens, so that
	// two tabs refreshing at once, or a client retrying after a lost
	// answer, stay signed in. Presented later, or once its successor has
	// itself been refreshed, it is taken for a stolen token and the
	// session is revoked. Default 10 seconds; at most 1 minute (1ns all
	// but turns it off).
	RefreshReuseWindow time.Duration
	// SudoWindow is how long after the acting session last verified a
	// password or a code (at login, or by Sudo) it may do sensitive
	// operations: grant tenant_admin (GrantRole, InviteUser) and ResetMFA.
	// Past it they answer mfa_required. Default 15 minutes.
	SudoWindow time.Duration
	// MailInterval is the least time between two invitation or reset mails
	// to one user. Default 1 minute.
	MailInterval time.Duration
	// MailTimeout bounds one delivery attempt. Default 30 seconds.
	MailTimeout time.Duration
	// MailRetryDelay is the wait after a first failed delivery; each
	// further failure doubles it, up to MailRetryMax. Defaults 1 minute and
	// 1 hour.
	MailRetryDelay, MailRetryMax time.Duration
	// MailMaxAttempts is how many delivery attempts a mail gets before it
	// is marked failed. Default 10 (about four and a half hours with the
	// default delays). A mail is also given up once its link has expired.
	MailMaxAttempts int
	// MailPollInterval is how often Run looks for mail to retry. Default
	// 10 seconds.
	MailPollInterval time.Duration
	// MailRate is how many mails per second the outbox worker (Run,
	// DeliverPending) hands to the Mailer, at most, in bursts of at most
	// MailRate: keep it within your mail provider's limit. Bulk
	// invitations (InviteUsers) and retries go at this pace; the first
	// attempt of a single change's mail (an invitation, a reset link) goes
	// at once, uncounted. On a store that is a RateLimiter (PostgreSQL)
	// the pace is shared by every app instance on the database; on one
	// that is not (the memory store) each process keeps its own, so N
	// processes send up to N times MailRate. Default 10; negative: no
	// limit.
	MailRate int

	// WebhookTimeout bounds one webhook delivery attempt, from the
	// connection to the end of the answer. Default 10 seconds.
	WebhookTimeout time.Duration
	// WebhookRetryDelay is the wait after a first failed webhook attempt;
	// each further failure doubles it, up to WebhookRetryMax. Defaults 30
	// seconds and 1 hour. An endpoint that fails rests as long before any
	// of its messages is tried again.
	WebhookRetryDelay, WebhookRetryMax time.Duration
	// WebhookMaxAttempts is how many attempts a webhook delivery gets
	// before it is marked failed (the user's later messages then go).
	// Default 12 (about six hours with the default delays).
	WebhookMaxAttempts int
	// WebhookDisableAfter is the run of failed attempts in a row, to any
	// of its messages, that disables an endpoint; the tenant's
	// tenant_admins are mailed (MessageWebhookDisabled). Default 20
	// (about thirteen hours of failures with the default delays).
	WebhookDisableAfter int
	// WebhookSecretGrace is how long the old secret of an endpoint keeps
	// signing after RotateWebhookSecret. Default 24 hours.
	WebhookSecretGrace time.Duration
	// WebhookRetention is how long a delivered or failed webhook delivery
	// stays listed (and can be resent) before PruneExpired deletes it.
	// Default 7 days.
	WebhookRetention time.Duration
	// WebhookAllowPrivate lets webhooks reach loopback, private,
	// link-local, CGNAT and cloud-metadata addresses, which are refused by
	// default at connect time, after DNS resolution (so a name that
	// resolves, or rebinds, to one is refused too). For tests and
	// development only.
	WebhookAllowPrivate bool
	// WebhookAllowHTTP lets endpoints use http URLs; by default only
	// https is accepted.
	WebhookAllowHTTP bool

	// MFAOptional lets users who never enrolled log in with the password
	// alone. Default false: TOTP is part of every login.
	MFAOptional bool
	// PasswordMinLength is the shortest password accepted. Default 12;
	// never under 8.
	PasswordMinLength int
	// PasswordMaxLength is the longest password accepted. Default 256.
	PasswordMaxLength int
	// Argon2 sets the password hash cost. Default (and minimum): 19456 KiB,
	// 2 passes, 1 thread.
	Argon2 Argon2Params
	// MaxFailedAttempts is how many wrong passwords or codes in a row lock
	// a sign-in key: a tenant and an email, whether or not it is a user's.
	// A locked key answers as a wrong password, and its person is mailed
	// (see MessageSignInPaused). Default 5.
	MaxFailedAttempts int
	// Lockout is the first lockout; each further failure doubles it, up to
	// LockoutMax. Defaults 1 minute and 1 hour.
	Lockout, LockoutMax time.Duration
	// MaxConcurrentHashes bounds how many argon2id hashes (logins,
	// accepted invitations, password resets) run at once: each holds
	// Argon2.MemoryKiB of memory and a core while it runs, so a login
	// storm must not start them all. The others wait their turn in
	// arrival order. Default: GOMAXPROCS − 1 when New runs (at least 1),
	// so that one core stays for everything else: with every core
	// hashing, session checks wait for a CPU (on 2 cores with PostgreSQL
	// their p99 during a login storm went from ~4 ms to ~27 ms; see
	// BENCHMARKS.md).
	MaxConcurrentHashes int
	// HashQueueTimeout is how long a caller waits for its turn to hash
	// before it is answered rate_limited, with RetryAfter. Default 5
	// seconds.
	HashQueueTimeout time.Duration

	// ActivityRetention is how long activity events are kept: PruneExpired
	// drops those older (on PostgreSQL, whole months at a time, so an
	// event may stay up to a month longer). Default 0: keep everything;
	// otherwise at least 24 hours.
	ActivityRetention time.Duration

	// BeforeDeactivate runs before a user is deactivated; an error stops
	// the deactivation and is returned. Hosts use it to coordinate with
	// schedules and assignments, which deactivation does not touch.
	BeforeDeactivate func(ctx context.Context, u User) error
	// AfterDeactivate runs after a deactivation has committed.
	AfterDeactivate func(ctx context.Context, u User)
}

// Links builds the URLs in mails: BaseURL + path + "?token=…".
type Links struct {
	BaseURL    string // required, absolute http(s) URL
	InvitePath string // default "/invitations/accept"
	ResetPath  string // default "/password/reset"
}

// Argon2Params are argon2id costs.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// SessionRevoker ends a user's sessions held outside the library. The
// Manager calls every revoker after it has revoked the library's own. A
// revoker that also implements SingleSessionRevoker is told, too, when
// one session ends (Manager.RevokeSession).
type SessionRevoker interface {
	RevokeUserSessions(ctx context.Context, tenantID string, userID uuid.UUID) error
}

// Manager runs every operation of the Settings → Users page and of the
// person's own sign-in flows. It is safe for concurrent use.
type Manager struct {
	store Store
	opts  Options
	roles catalogue
	now   func() time.Time
	log   *slog.Logger
	// AES-256-GCM under keys derived from SecretKey: one for TOTP
	// secrets, one for mail in the outbox.
	totpAEAD, mailAEAD cipher.AEAD
	mail               mailTemplates
	macs               sync.Pool // of HMAC-SHA256 hashes keyed for cursors and recovery codes
	// background counts work still running after its caller was
	// answered (inBackground); Close waits.
	background sync.WaitGroup
	base       *url.URL
	dummy      argon2Hash // hashed at login for unknown users, so they cost the same
	// refreshAEAD seals, under its own derived key, the successor kept
	// beside a spent refresh token (see Options.RefreshReuseWindow).
	refreshAEAD cipher.AEAD
	// webhookAEAD seals endpoint secrets under its own derived key;
	// webhookClient posts webhooks (see newWebhookClient); a queued
	// message wakes Run's webhook worker through webhookKick.
	webhookAEAD   cipher.AEAD
	webhookClient *http.Client
	webhookKick   chan struct{}
	// hashSlots holds one token per argon2id hash running (see
	// Options.MaxConcurrentHashes).
	hashSlots chan struct{}
	onHash    func(Argon2Params) // tests: called as each hash starts, in its slot
	// mailPace holds the outbox's token bucket (Options.MailRate), in the
	// store when it is a RateLimiter.
	mailPace *ratelimit.Limiter
}

// New returns a Manager over store. It returns invalid with a clear message
// for any bad option.
func New(store Store, opts Options) (*Manager, error) {
	if store == nil {
		return nil, Errorf(CodeInvalid, "store is required")
	}
	if opts.Mailer == nil {
		return nil, Errorf(CodeInvalid, "Options.Mailer is required")
	}
	if len(opts.SecretKey) != 32 {
		return nil, Errorf(CodeInvalid, "Options.SecretKey must be 32 bytes, got %d", len(opts.SecretKey))
	}
	for i, r := range opts.Revokers {
		if r == nil {
			return nil, Errorf(CodeInvalid, "Options.Revokers[%d] is nil", i)
		}
	}
	roles, err := newCatalogue(opts.Roles)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(opts.Links.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, Errorf(CodeInvalid, "Options.Links.BaseURL must be an absolute http(s) URL, got %q", opts.Links.BaseURL)
	}
	setDefault(&opts.Links.InvitePath, "/invitations/accept")
	setDefault(&opts.Links.ResetPath, "/password/reset")
	setDefault(&opts.Issuer, "usermgmt")
	if strings.ContainsAny(opts.Issuer, ":\r\n") {
		return nil, Errorf(CodeInvalid, "Options.Issuer must not contain ':' or line breaks")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
		n   string
	}{
		{&opts.InviteTTL, 7 * 24 * time.Hour, "InviteTTL"},
		{&opts.ResetTTL, time.Hour, "ResetTTL"},
		{&opts.EnrollmentTTL, 15 * time.Minute, "EnrollmentTTL"},
		{&opts.ChallengeTTL, 5 * time.Minute, "ChallengeTTL"},
		{&opts.SessionIdleTimeout, 30 * time.Minute, "SessionIdleTimeout"},
		{&opts.SessionMaxAge, 12 * time.Hour, "SessionMaxAge"},
		{&opts.DeviceTrustTTL, 30 * 24 * time.Hour, "DeviceTrustTTL"},
		{&opts.RefreshReuseWindow, 10 * time.Second, "RefreshReuseWindow"},
		{&opts.SudoWindow, 15 * time.Minute, "SudoWindow"},
		{&opts.MailInterval, time.Minute, "MailInterval"},
		{&opts.MailTimeout, 30 * time.Second, "MailTimeout"},
		{&opts.MailRetryDelay, time.Minute, "MailRetryDelay"},
		{&opts.MailRetryMax, time.Hour, "MailRetryMax"},
		{&opts.MailPollInterval, 10 * time.Second, "MailPollInterval"},
		{&opts.Lockout, time.Minute, "Lockout"},
		{&opts.LockoutMax, time.Hour, "LockoutMax"},
		{&opts.HashQueueTimeout, 5 * time.Second, "HashQueueTimeout"},
		{&opts.WebhookTimeout, 10 * time.Second, "WebhookTimeout"},
		{&opts.WebhookRetryDelay, 30 * time.Second, "WebhookRetryDelay"},
		{&opts.WebhookRetryMax, time.Hour, "WebhookRetryMax"},
		{&opts.WebhookSecretGrace, 24 * time.Hour, "WebhookSecretGrace"},
		{&opts.WebhookRetention, 7 * 24 * time.Hour, "WebhookRetention"},
	} {
		if *d.p < 0 {
			return nil, Errorf(CodeInvalid, "Options.%s must not be negative", d.n)
		}
		setDefault(d.p, d.def)
	}
	// A retention of minutes is a unit mistake that would empty the log.
	if opts.ActivityRetention < 0 || (opts.ActivityRetention > 0 && opts.ActivityRetention < 24*time.Hour) {
		return nil, Errorf(CodeInvalid, "Options.ActivityRetention must be 0 (keep everything) or at least 24 hours")
	}
	if opts.SessionIdleTimeout > opts.SessionMaxAge {
		return nil, Errorf(CodeInvalid, "Options.SessionIdleTimeout must not exceed SessionMaxAge")
	}
	if opts.RefreshReuseWindow > time.Minute {
		return nil, Errorf(CodeInvalid, "Options.RefreshReuseWindow must be at most 1 minute")
	}
	setDefault(&opts.PasswordMinLength, 12)
	setDefault(&opts.PasswordMaxLength, 256)
	setDefault(&opts.MaxFailedAttempts, 5)
	if opts.PasswordMinLength < 8 {
		return nil, Errorf(CodeInvalid, "Options.PasswordMinLength must be at least 8")
	}
	if opts.PasswordMaxLength < opts.PasswordMinLength || opts.PasswordMaxLength > 4096 {
		return nil, Errorf(CodeInvalid, "Options.PasswordMaxLength must be between PasswordMinLength and 4096")
	}
	if opts.MaxFailedAttempts < 1 {
		return nil, Errorf(CodeInvalid, "Options.MaxFailedAttempts must be positive")
	}
	setDefault(&opts.MailRate, 10)
	setDefault(&opts.MailMaxAttempts, 10)
	if opts.MailMaxAttempts < 1 {
		return nil, Errorf(CodeInvalid, "Options.MailMaxAttempts must be positive")
	}
	if opts.MailRetryMax < opts.MailRetryDelay {
		return nil, Errorf(CodeInvalid, "Options.MailRetryMax must not be below MailRetryDelay")
	}
	setDefault(&opts.WebhookMaxAttempts, 12)
	setDefault(&opts.WebhookDisableAfter, 20)
	if opts.WebhookMaxAttempts < 1 || opts.WebhookDisableAfter < 1 {
		return nil, Errorf(CodeInvalid, "Options.WebhookMaxAttempts and WebhookDisableAfter must be positive")
	}
	if opts.WebhookRetryMax < opts.WebhookRetryDelay {
		return nil, Errorf(CodeInvalid, "Options.WebhookRetryMax must not be below WebhookRetryDelay")
	}
	mail, err := newMailTemplates(opts.MailTemplates)
	if err != nil {
		return nil, err
	}
	if opts.Argon2 == (Argon2Params{}) {
		opts.Argon2 = DefaultArgon2
	}
	if opts.Argon2.MemoryKiB < DefaultArgon2.MemoryKiB || opts.Argon2.Time < DefaultArgon2.Time || opts.Argon2.Threads < 1 {
		return nil, Errorf(CodeInvalid, "Options.Argon2 must be at least m=%d KiB, t=%d, p=1",
			DefaultArgon2.MemoryKiB, DefaultArgon2.Time)
	}
	if err := checkArgon2(opts.Argon2); err != nil {
		return nil, Errorf(CodeInvalid, "Options.Argon2: %s", ErrorMessage(err))
	}
	setDefault(&opts.MaxConcurrentHashes, max(1, runtime.GOMAXPROCS(0)-1))
	if opts.MaxConcurrentHashes < 1 {
		return nil, Errorf(CodeInvalid, "Options.MaxConcurrentHashes must be positive")
	}
	m := &Manager{
		store: store,
		opts:  opts,
		roles: roles,
		now:   opts.Clock,
		log:   opts.Logger,
		mail:  mail,
		base:  base,
		// A slot per hash allowed at once: a send takes one, a receive frees it.
		hashSlots:     make(chan struct{}, opts.MaxConcurrentHashes),
		webhookClient: newWebhookClient(opts.WebhookTimeout, opts.WebhookAllowPrivate),
		webhookKick:   make(chan struct{}, 1),
	}
	m.mailPace = ratelimit.New(m.now, m.SharedLimiter(), m.log)
	if m.totpAEAD, err = newAEAD(deriveKey(opts.SecretKey, "usermgmt totp seal v1")); err != nil {
		return nil, internalf(err, "AES-GCM")
	}
	if m.mailAEAD, err = newAEAD(deriveKey(opts.SecretKey, "usermgmt outbox seal v1")); err != nil {
		return nil, internalf(err, "AES-GCM")
	}
	if m.refreshAEAD, err = newAEAD(deriveKey(opts.SecretKey, "usermgmt refresh successor seal v1")); err != nil {
		return nil, internalf(err, "AES-GCM")
	}
	if m.webhookAEAD, err = newAEAD(deriveKey(opts.SecretKey, "usermgmt webhook secret seal v1")); err != nil {
		return nil, internalf(err, "AES-GCM")
	}
	macKey := deriveKey(opts.SecretKey, "usermgmt mac v1")
	m.macs.New = func() any { return hmac.New(sha256.New, macKey) }
	dummy, err := m.hashPassword(context.Background(), "usermgmt dummy password")
	if err != nil {
		return nil, err
	}
	if m.dummy, err = parseArgon2(dummy); err != nil {
		return nil, internalf(err, "dummy password hash")
	}
	return m, nil
}

// DefaultArgon2 is the default and least argon2id cost (OWASP's minimum).
var DefaultArgon2 = Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1}

// Roles returns a copy of the Manager's role catalogue, in its order.
func (m *Manager) Roles() []RoleDef { return cloneDefs(m.roles.defs) }

// PasswordPolicy is what a page tells a person choosing a password; the
// Manager checks the rest (common passwords, the email) when it is sent.
type PasswordPolicy struct {
	MinLength, MaxLength int // in characters
}

// PasswordPolicy returns the Manager's password length bounds
// (Options.PasswordMinLength and PasswordMaxLength).
func (m *Manager) PasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: m.opts.PasswordMinLength, MaxLength: m.opts.PasswordMaxLength}
}

// Product returns the product's name (Options.Issuer), as mails and TOTP
// apps show it.
func (m *Manager) Product() string { return m.opts.Issuer }

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

func deriveKey(secret []byte, label string) []byte {
	h := hmac.New(sha256.New, secret)
	io.WriteString(h, label)
	return h.Sum(nil)
}

// link returns BaseURL + path with the token as a query parameter.
func (m *Manager) link(path, token string) string {
	u := *m.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// Actor is who performs an operation: set by the host from its session.
type Actor struct {
	UserID    uuid.UUID
	IP        string
	UserAgent string
	// SessionID is the Manager's session the actor acts through
	// (Principal.SessionID). Sensitive operations (see
	// Options.SudoWindow) check that this session verified a password or
	// a code recently.
	SessionID uuid.UUID
	// VerifiedAt is for hosts with sessions of their own, so with no
	// SessionID: when the host's session last verified the actor's
	// password or second factor, as the host vouches. Zero is never:
	// sensitive operations then answer mfa_required. It is ignored when
	// SessionID is set, for the Manager's session then decides.
	VerifiedAt time.Time

	read actorRead // set by Principal.Actor
}

// actorRead is what Authenticate read of a session's user that the
// permission check needs: the Manager then takes it instead of reading the
// actor again, in the same request (see Principal.Actor).
type actorRead struct {
	by       *Manager // nil: nothing read
	at       time.Time
	userID   uuid.UUID
	tenantID string
	email    string
	roles    []Role
}

// actorReadFor is how long after Authenticate its read of the user stands
// for the actor's current roles: the request that authenticated, not an
// Actor a host keeps for later, which reads the user again.
const actorReadFor = time.Second

type actorKey struct{}

// rereadActor returns ctx with its actor's read of Authenticate dropped,
// so that every authorize reads the actor from the store: for operations
// that run longer than a request's moment and check the actor at each
// step (an export, page by page), where a deactivation must stop the
// next step.
func rereadActor(ctx context.Context) context.Context {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.read.by != nil {
		a.read = actorRead{}
		return context.WithValue(ctx, actorKey{}, a)
	}
	return ctx
}

// WithActor returns ctx carrying the actor: admin operations check what
// the actor may do and record them as its doing. The IP and user agent
// usually come from request headers, which may hold bytes that are not
// UTF-8 or be cut inside a character: they are kept as valid text (bad
// bytes become U+FFFD, NUL bytes are dropped), which every store can
// record.
func WithActor(ctx context.Context, a Actor) context.Context {
	a.IP, a.UserAgent = validText(a.IP), validText(a.UserAgent)
	return context.WithValue(ctx, actorKey{}, a)
}

// validText returns s as text every store holds: valid UTF-8, no NUL.
func validText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

type systemKey struct{}

// AsSystem marks ctx as trusted code: a host's own job or set-up (such as
// inviting a tenant's first tenant_admin). Admin operations under it are
// recorded as the system and not permission-checked. An admin operation
// whose context carries neither an Actor nor this mark is refused with
// permission_denied, so a handler that forgets WithActor grants nothing.
func AsSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

type tenantKey struct{}

// ForTenant returns ctx saying which tenant the request arrived for, when
// the host knows it (the tenant's own host name, say). The person's flows
// that redeem a token — AcceptInvite, CompleteMFAEnrollment, VerifyMFA,
// ResetPassword — then refuse a token of any other tenant as a bad link,
// and leave it unspent. httpapi sets it when Options.TenantFromRequest is
// set.
func ForTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenantID)
}

// requestTenant returns the tenant ForTenant put in ctx.
func requestTenant(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey{}).(string)
	return t, ok
}

// isSystem reports whether ctx was marked by AsSystem.
func isSystem(ctx context.Context) bool {
	v, _ := ctx.Value(systemKey{}).(bool)
	return v
}

// ActorFromContext returns the actor of ctx, if any.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// event returns an activity event about user u, by the actor of ctx: a
// user, or a provisioning token (AsProvisioner) named by its ActorLabel.
func (m *Manager) event(ctx context.Context, u *User, t EventType, detail string) *Event {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	a, ok := ActorFromContext(ctx)
	var name string
	if p, isProv := ProvisionerFromContext(ctx); !ok && isProv {
		name = p.ActorLabel()
	}
	if a.UserID == uuid.Nil && name == "" && byThePerson[t] {
		a.UserID = u.ID
	}
	return &Event{ID: id, TenantID: u.TenantID, UserID: u.ID, Type: t, ActorID: a.UserID, ActorName: name,
		IP: a.IP, UserAgent: a.UserAgent, Detail: detail, CreatedAt: m.now().UTC(), user: u}
}

// byThePerson are the events of a person's own flows: with no admin
// acting, the user is the actor.
var byThePerson = map[EventType]bool{
	EventInviteAccepted: true, EventLoginSucceeded: true, EventLogout: true, EventMFAEnrolled: true,
	EventMFAVerified: true, EventMFARecoveryUsed: true, EventDeviceTrusted: true, EventPasswordResetDone: true,
	EventPasswordChanged: true, EventSudoVerified: true, EventMFARecoveryRegenerated: true,
}

func humanDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int((d+time.Minute-1)/time.Minute), "minute")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
