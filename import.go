package usermgmt

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ImportRecord is one user to import, with the credentials they have
// elsewhere, so that they sign in without a password reset.
type ImportRecord struct {
	// Line is where the record starts in its file (1 is the first line),
	// named in its errors; 0 when it comes from no file.
	Line  int
	Email string
	// Roles are granted directly; none takes ImportOptions.Roles.
	Roles []Role
	// Status is active, invited or deactivated; "" is active for a record
	// with a password hash and invited for one without. An active user
	// needs a password hash; an invited one has none (they set a password
	// through an invitation, ImportOptions.Invite).
	Status Status
	Profile
	CreatedAt   time.Time  // zero: the time of the import
	LastLoginAt *time.Time // nil: never
	// PasswordHash is the hash the user's current system keeps, in a form
	// CheckPasswordHash accepts; it is stored as it is (never re-hashed
	// here) and replaced by an argon2id hash at the user's first login.
	PasswordHash string
	// PasswordSalt is a Firebase user's salt (base64, as Firebase exports
	// it): PasswordHash is then Firebase's modified scrypt hash, turned
	// into its stored form with ImportOptions.Firebase.
	PasswordSalt string
	// TOTPSecret is the user's authenticator secret, base32 (spaces,
	// case and padding do not matter), so their authenticator app keeps
	// working; it needs a password hash. Without one, the user enrols at
	// their next login.
	TOTPSecret string
}

// ImportExisting says what an import does with a record whose email the
// tenant has already.
type ImportExisting string

// What an import does with an email the tenant has.
const (
	// ImportSkip leaves the user as they are (the default): running an
	// import again after a failure picks up where it stopped.
	ImportSkip ImportExisting = "skip"
	// ImportUpdate replaces the user's profile fields the record gives,
	// grants the record's roles (it revokes none), and replaces the
	// password hash and TOTP secret the record gives (ending the user's
	// sessions then). It changes neither the status nor the creation
	// time, and refuses a password hash for an invited user.
	ImportUpdate ImportExisting = "update"
)

// ImportOptions configures ImportUsers.
type ImportOptions struct {
	// DryRun checks every record, as the import would, against the tenant
	// as it is, and writes nothing: the result counts what would be
	// created, updated and skipped, and lists the refused records.
	DryRun bool
	// Existing says what to do with an email the tenant has. Default
	// ImportSkip.
	Existing ImportExisting
	// Roles are given to the records that name none. A record without
	// roles is refused when this is empty.
	Roles []Role
	// Firebase is the Firebase project's password hash parameters, for
	// records with a PasswordSalt (Firebase's modified scrypt).
	Firebase *FirebaseScrypt
	// Invite mails every user imported invited an invitation, as
	// InviteUser does, through the outbox.
	Invite bool
	// BatchSize is how many records one transaction writes. Default
	// 1,000; at most 10,000.
	BatchSize int
	// MaxErrors is how many refused records ImportResult.Errors lists
	// (Failed counts them all). Default 1,000.
	MaxErrors int
	// Progress, when set, is called after each batch, and at the end when
	// the counts have moved since, with the counts so far.
	Progress func(ImportProgress)
}

// The bounds of ImportOptions.
const (
	DefaultImportBatch = 1000
	MaxImportBatch     = 10_000
	defaultImportErrs  = 1000
)

// ImportProgress counts the records of an import so far. In a dry run,
// Created, Updated and Skipped count what the import would do.
type ImportProgress struct {
	Read    int // records read, refused ones included
	Created int
	Updated int
	Skipped int // emails the tenant has (ImportSkip), or an update that changes nothing
	Failed  int // records refused, each with an ImportError
	Line    int // the line of the last record read
}

// ImportError is why one record was refused.
type ImportError struct {
	Line    int
	Email   string // as the record gives it
	Code    Code
	Field   string // the record's field at fault, as its column is named ("email", "password_hash", …); "" if none
	Message string
}

// ImportResult is what an import did: its counts and its first refused
// records.
type ImportResult struct {
	ImportProgress
	Errors []ImportError // the first ImportOptions.MaxErrors refused records, in order
}

// ImportUsers brings users of another system into the tenant with the
// credentials they have there: password hashes as they are (see
// CheckPasswordHash for the formats) and TOTP secrets, sealed like any
// other. It reads records one at a time, with memory flat in their number,
// and writes them in batches of ImportOptions.BatchSize, each batch in one
// transaction with a user.imported event for each user written. A record
// that fails a check is refused, with its line, field and reason, and the
// others go on; a batch that fails (the database, say) stops the import
// there, with every earlier batch kept, and the error says which lines
// were not written: run the import again with ImportSkip to go on.
//
// Importing sets people's passwords and authenticator secrets, so only a
// tenant_admin may, in sudo mode (see Options.SudoWindow; a dry run needs
// no sudo), or trusted code (AsSystem); never a provisioning token. It
// returns invalid for bad options, permission_denied, mfa_required, a
// failed batch's error, and the error of a record reader that is not
// invalid (a file that cannot be read); a record the reader finds invalid
// is refused like any other. The result counts what was done before an
// error, too.
func (m *Manager) ImportUsers(ctx context.Context, tenantID string, records iter.Seq2[ImportRecord, error],
	opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	ctx = rereadActor(ctx) // each batch checks the actor as the store has it then
	if err := checkTenant(tenantID); err != nil {
		return res, err
	}
	if err := m.checkImportOptions(&opts); err != nil {
		return res, err
	}
	// Refuse a caller who may not import before reading anything.
	if err := m.inTx(ctx, TxOptions{ReadOnly: true}, func(ctx context.Context, tx Tx) error {
		_, err := m.mayImport(ctx, tx, tenantID, opts.DryRun)
		return err
	}); err != nil {
		return res, wrapInternal(err)
	}
	im := importer{m: m, tenantID: tenantID, opts: &opts, res: &res}
	batch := make([]importItem, 0, opts.BatchSize)
	lines := make(map[string]int, opts.BatchSize) // the batch's emails and their lines
	var told *ImportProgress
	tell := func() {
		if opts.Progress != nil && (told == nil || *told != res.ImportProgress) {
			p := res.ImportProgress
			told = &p
			opts.Progress(p)
		}
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := im.write(ctx, batch)
		batch = batch[:0]
		clear(lines)
		tell()
		return err
	}
	for rec, err := range records {
		if err != nil && ErrorCode(err) != CodeInvalid {
			if ferr := flush(); ferr != nil {
				return res, ferr
			}
			return res, wrapInternal(err)
		}
		res.Read++
		res.Line = max(res.Line, rec.Line)
		var it importItem
		if err == nil {
			it, err = m.checkImportRecord(tenantID, &rec, &opts)
		}
		if first, ok := lines[it.u.Email]; err == nil && ok {
			err = fieldErrorf(FieldEmail, CodeConflict, "this email appears again (first on line %d)", first)
		}
		if err != nil {
			res.refuse(rec.Line, rec.Email, err, opts.MaxErrors)
			continue
		}
		lines[it.u.Email] = it.line
		if batch = append(batch, it); len(batch) == opts.BatchSize {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	tell()
	return res, nil
}

// checkImportOptions fills the defaults of o and refuses bad values.
func (m *Manager) checkImportOptions(o *ImportOptions) error {
	switch o.Existing {
	case "":
		o.Existing = ImportSkip
	case ImportSkip, ImportUpdate:
	default:
		return Errorf(CodeInvalid, "existing must be %q or %q, not %q", ImportSkip, ImportUpdate, o.Existing)
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultImportBatch
	case o.BatchSize < 0 || o.BatchSize > MaxImportBatch:
		return Errorf(CodeInvalid, "batch size must be 1 to %d, not %d", MaxImportBatch, o.BatchSize)
	}
	switch {
	case o.MaxErrors == 0:
		o.MaxErrors = defaultImportErrs
	case o.MaxErrors < 0:
		return Errorf(CodeInvalid, "max errors must not be negative")
	}
	if f := o.Firebase; f != nil && (len(f.SignerKey) == 0 || f.Rounds < 1 || f.MemCost < 1) {
		return Errorf(CodeInvalid, "the Firebase hash parameters need the signer key, rounds and mem_cost")
	}
	roles, err := m.validRoles(o.Roles)
	if err != nil {
		return err
	}
	o.Roles = roles
	return nil
}

// mayImport is the permission of an import, checked in every batch's
// transaction: an actor who loses tenant_admin midway stops it.
func (m *Manager) mayImport(ctx context.Context, tx Tx, tenantID string, dryRun bool) (authz, error) {
	az, err := m.authorize(ctx, tx, tenantID, PermInvite)
	if err != nil {
		return authz{}, err
	}
	if err := az.refuseProvisioner("import users"); err != nil {
		return authz{}, err
	}
	if !az.isAdmin() {
		return authz{}, Errorf(CodePermissionDenied, "only a tenant admin may import users: an import sets passwords")
	}
	if dryRun {
		return az, nil
	}
	return az, m.requireSudo(ctx, tx, tenantID, az)
}

// refuse counts a refused record and keeps its error while fewer than
// limit are kept.
func (r *ImportResult) refuse(line int, email string, err error, limit int) {
	r.Failed++
	if len(r.Errors) >= limit {
		return
	}
	ie := ImportError{Line: line, Email: email, Code: ErrorCode(err), Field: ErrorField(err), Message: ErrorMessage(err)}
	r.Errors = append(r.Errors, ie)
}

// importItem is a checked record, ready for its batch: the user it
// creates (its id chosen, its secret not yet sealed), the TOTP secret and
// the roles the record itself names (what an update grants).
type importItem struct {
	line  int
	email string // as given
	u     UserRecord
	totp  []byte
	roles []Role
}

// importFieldErr names the record's field at fault on err.
func importFieldErr(field string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Field = field
	return &c
}

// checkImportRecord checks one record and makes the user it creates.
func (m *Manager) checkImportRecord(tenantID string, r *ImportRecord, o *ImportOptions) (importItem, error) {
	now := m.now().UTC()
	it := importItem{line: r.Line, email: r.Email}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return it, importFieldErr("email", err)
	}
	if len(r.Roles) > 0 {
		if it.roles, err = m.validRoles(r.Roles); err != nil {
			return it, importFieldErr("roles", err)
		}
	}
	roles := it.roles
	if len(roles) == 0 {
		if roles = o.Roles; len(roles) == 0 {
			return it, fieldErrorf("roles", CodeInvalid, "no roles: give the record roles, or the import default roles")
		}
	}
	p := r.Profile
	for _, f := range profileFields(&p) {
		s, err := cleanText(*f.v, f.name, maxProfileLen)
		if err != nil {
			return it, importFieldErr(profileColumn(f.name), err)
		}
		*f.v = s
	}
	hash := r.PasswordHash
	switch {
	case r.PasswordSalt != "" && hash == "":
		// Firebase exports a salt for users without a password too.
	case r.PasswordSalt != "" && o.Firebase == nil:
		return it, fieldErrorf("password_salt", CodeInvalid, "a salt is for Firebase hashes, which need the project's hash parameters")
	case r.PasswordSalt != "":
		if hash, err = o.Firebase.StoredHash(hash, r.PasswordSalt); err != nil {
			return it, importFieldErr("password_hash", err)
		}
	case hash != "":
		if err := CheckPasswordHash(hash); err != nil {
			return it, importFieldErr("password_hash", err)
		}
	}
	st := r.Status
	switch {
	case st == "" && hash != "":
		st = StatusActive
	case st == "":
		st = StatusInvited
	case !st.Valid():
		return it, fieldErrorf("status", CodeInvalid, "status must be active, invited or deactivated, not %q", st)
	case st == StatusActive && hash == "":
		return it, fieldErrorf("password_hash", CodeInvalid, "an active user needs a password hash; leave the status empty to import them invited")
	case st == StatusInvited && hash != "":
		return it, fieldErrorf("status", CodeInvalid, "an invited user has no password yet; leave the status empty to import them active")
	}
	if r.TOTPSecret != "" {
		if hash == "" {
			return it, fieldErrorf("totp_secret", CodeInvalid, "a TOTP secret needs a password hash")
		}
		if it.totp, err = decodeTOTPSecret(r.TOTPSecret); err != nil {
			return it, err
		}
	}
	created := r.CreatedAt.UTC()
	if created.IsZero() {
		created = now
	}
	if created.After(now) {
		return it, fieldErrorf("created_at", CodeInvalid, "created_at is in the future")
	}
	var lastLogin *time.Time
	if r.LastLoginAt != nil {
		t := r.LastLoginAt.UTC()
		if t.After(now) {
			return it, fieldErrorf("last_login_at", CodeInvalid, "last_login_at is in the future")
		}
		lastLogin = &t
	}
	id, err := uuid.NewV7()
	if err != nil {
		return it, internalf(err, "new id")
	}
	it.u = UserRecord{User: User{ID: id, TenantID: tenantID, Email: email, Status: st, Roles: slices.Clone(roles),
		DirectRoles: slices.Clone(roles), Profile: p, LastLoginAt: lastLogin, CreatedAt: created, UpdatedAt: now},
		PasswordHash: hash}
	if hash != "" {
		// Activate brings a deactivated user with a password back active.
		it.u.ActivatedAt = &created
	}
	return it, nil
}

// profileColumn is the import column of a Profile field named as
// profileFields names it ("display name" is display_name).
func profileColumn(name string) string {
	if name == "manager" {
		return "manager_id" // as the API and the export name it
	}
	return strings.ReplaceAll(name, " ", "_")
}

// The lengths of a TOTP secret an import takes: 80 bits (what Google
// Authenticator and many others issue; RFC 4226 asks for at least 128) to
// 512.
const minTOTPSecret, maxTOTPSecret = 10, 64

// decodeTOTPSecret reads a base32 secret as people and exports write it:
// any case, spaces or dashes between groups, padding or none.
func decodeTOTPSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.TrimRight(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s), "="))
	b, err := b32.DecodeString(s)
	if err != nil {
		return nil, fieldErrorf("totp_secret", CodeInvalid, "the TOTP secret is not base32")
	}
	if len(b) < minTOTPSecret || len(b) > maxTOTPSecret {
		return nil, fieldErrorf("totp_secret", CodeInvalid, "the TOTP secret is %d bytes; it must be %d to %d",
			len(b), minTOTPSecret, maxTOTPSecret)
	}
	return b, nil
}

// importer writes the batches of one ImportUsers call.
type importer struct {
	m        *Manager
	tenantID string
	opts     *ImportOptions
	res      *ImportResult
}

// batchOutcome is what one batch's transaction did; it is built afresh
// each time the store runs the transaction.
type batchOutcome struct {
	created, updated, skipped int
	refused                   []importRefusal
	revoked                   []User
}

type importRefusal struct {
	line  int
	email string
	err   error
}

// write writes one batch in one transaction. A batch that fails is not
// written at all; its error names its lines.
func (im *importer) write(ctx context.Context, batch []importItem) error {
	m := im.m
	var out batchOutcome
	err := m.inTx(ctx, TxOptions{ReadOnly: im.opts.DryRun}, func(ctx context.Context, tx Tx) error {
		out = batchOutcome{}
		az, err := m.mayImport(ctx, tx, im.tenantID, im.opts.DryRun)
		if err != nil {
			return err
		}
		emails := make([]string, len(batch))
		for i := range batch {
			emails[i] = batch[i].u.Email
		}
		found, err := tx.GetUsersByEmail(ctx, im.tenantID, emails)
		if err != nil {
			return err
		}
		existing := make(map[string]*UserRecord, len(found))
		for i := range found {
			existing[found[i].Email] = &found[i]
		}
		news := make([]UserRecord, 0, len(batch))
		for i := range batch {
			it := &batch[i]
			old := existing[it.u.Email]
			switch {
			case old == nil:
				u := it.u
				if it.totp != nil {
					u.MFAEnabled, u.MFASecret = true, m.seal(it.totp, u.TenantID, u.ID)
				}
				news = append(news, u)
			case im.opts.Existing == ImportSkip:
				out.skipped++
			default:
				if err := im.update(ctx, tx, &out, it, old); err != nil {
					return err
				}
			}
		}
		out.created = len(news)
		if im.opts.DryRun || len(news) == 0 {
			return nil
		}
		if err := tx.CreateUsers(ctx, news); err != nil {
			return err
		}
		events := make([]Event, len(news))
		for i := range news {
			events[i] = *m.event(ctx, &news[i].User, EventImported, "")
		}
		if err := tx.AppendEvents(ctx, events); err != nil {
			return err
		}
		if !im.opts.Invite {
			return nil
		}
		for i := range news {
			if news[i].Status != StatusInvited {
				continue
			}
			// The outbox worker sends them at Options.MailRate.
			if _, err := m.issueLink(ctx, tx, &news[i], MessageInvite, EventInvited, az.email, true, attemptLater); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		first, last := batch[0].line, batch[len(batch)-1].line
		im.res.Failed += len(batch)
		return &Error{Code: ErrorCode(err), Err: err, RetryAfter: retryAfter(err), Message: fmt.Sprintf(
			"the batch of lines %d to %d was not imported (every earlier batch was): %s", first, last, ErrorMessage(err))}
	}
	im.res.Created += out.created
	im.res.Updated += out.updated
	im.res.Skipped += out.skipped
	for _, r := range out.refused {
		im.res.refuse(r.line, r.email, r.err, im.opts.MaxErrors)
	}
	for i := range out.revoked {
		_ = m.callRevokers(ctx, &out.revoked[i]) // logged; the import goes on
	}
	return nil
}

// retryAfter is the RetryAfter of err's *Error, 0 if none.
func retryAfter(err error) int64 {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// update applies an item to the user the tenant has with its email
// (ImportUpdate). What the record may not change refuses it alone.
func (im *importer) update(ctx context.Context, tx Tx, out *batchOutcome, it *importItem, old *UserRecord) error {
	m := im.m
	u := *old
	if !im.opts.DryRun {
		var err error
		if u, err = tx.LockUser(ctx, im.tenantID, old.ID); err != nil {
			return err
		}
	}
	refuse := func(err error) error {
		out.refused = append(out.refused, importRefusal{it.line, it.email, err})
		return nil
	}
	if u.DeprovisionedAt != nil {
		return refuse(fieldErrorf("email", CodeConflict, "this user was removed by the identity provider, which brings them back"))
	}
	if it.u.PasswordHash != "" && u.Status == StatusInvited {
		return refuse(fieldErrorf("password_hash", CodeConflict, "this user is invited: an update does not finish their setup"))
	}
	var changed []string
	p := u.Profile
	fp := profileFields(&p)
	for i, f := range profileFields(&it.u.Profile) {
		if *f.v != "" {
			*fp[i].v = *f.v
		}
	}
	if p != u.Profile {
		u.Profile = p
		changed = append(changed, "profile")
	}
	if added := slices.DeleteFunc(slices.Clone(it.roles), func(r Role) bool { return hasRole(u.DirectRoles, r) }); len(added) > 0 {
		u.DirectRoles = append(slices.Clone(u.DirectRoles), added...)
		m.roles.sortRoles(u.DirectRoles)
		roles := slices.Clone(u.Roles)
		for _, r := range added {
			if !hasRole(roles, r) {
				roles = append(roles, r)
			}
		}
		m.roles.sortRoles(roles)
		u.Roles = roles
		changed = append(changed, "roles")
	}
	credentials := false
	if it.u.PasswordHash != "" && it.u.PasswordHash != u.PasswordHash {
		u.PasswordHash, credentials = it.u.PasswordHash, true
		changed = append(changed, "password hash")
	}
	if it.totp != nil {
		u.MFAEnabled, u.MFASecret, u.MFALastStep, credentials = true, m.seal(it.totp, u.TenantID, u.ID), 0, true
		changed = append(changed, "TOTP secret")
	}
	if t := it.u.LastLoginAt; t != nil && (u.LastLoginAt == nil || t.After(*u.LastLoginAt)) {
		u.LastLoginAt = t
		changed = append(changed, "last login")
	}
	if len(changed) == 0 {
		out.skipped++
		return nil
	}
	out.updated++
	if im.opts.DryRun {
		return nil
	}
	u.UpdatedAt = m.now().UTC()
	if err := tx.UpdateUser(ctx, &u); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, m.event(ctx, &u.User, EventImported, "updated: "+strings.Join(changed, ", "))); err != nil {
		return err
	}
	if !credentials {
		return nil
	}
	out.revoked = append(out.revoked, u.User)
	return m.revokeInTx(ctx, tx, &u.User)
}
