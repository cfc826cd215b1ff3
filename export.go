package usermgmt

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ExportFormat is the form of an export.
type ExportFormat string

// The export formats. CSV has a header row, one row a record, lists
// joined by "; ", times in RFC 3339 (UTC) and "" for none; a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading '
// so that a spreadsheet shows it as text instead of running it as a
// formula (CSV injection). JSONL (JSON Lines) is one JSON object a
// line, with the names and values of the HTTP API (snake_case, null for
// none), exactly as stored: no cell is changed.
const (
	ExportCSV   ExportFormat = "csv"
	ExportJSONL ExportFormat = "jsonl"
)

// Valid reports whether f is one of the export formats.
func (f ExportFormat) Valid() bool { return f == ExportCSV || f == ExportJSONL }

// ExportUsersQuery selects the users an export holds: the user list's
// filters (ListUsersQuery), all of the list, not a page.
type ExportUsersQuery struct {
	Status Status // "" for every status
	Role   Role   // "" for every role; else only users holding it
	Search string // case-insensitive substring of the email
}

// ExportActivityQuery selects the events of [From, To) by the time in
// their id (UUIDv7, the wall clock when the event was written; retention
// goes by it too). A zero From is the oldest event kept; a zero To is the
// moment the export starts.
type ExportActivityQuery struct {
	From, To time.Time
}

// exportPage is how many rows one read transaction of an export takes.
const exportPage = 1000

// ExportUsers writes the tenant's users that q selects to w in format f,
// ordered by email, as it reads them: a page of exportPage users at a
// time, each page in its own read-only transaction, so memory stays flat
// however many users there are (a user changed while the export runs
// shows as one page read them). A user comes with roles, direct roles,
// group roles, status, names, external and enterprise ids, MFA, last
// login and times; never a password hash, TOTP secret, recovery code or
// token. Each page is authorized anew (PermListUsers, as ListUsers): an
// actor who loses the right stops the export. An actor's export is logged
// (EventExported, about the actor, with the format and filters) in the
// first page's transaction.
//
// Nothing is written to w before the first page has been authorized and
// read, so an error of the request (invalid for a bad format, tenant or
// filter; permission_denied) leaves w untouched. An error of w is returned
// as it is; any later error ends the export where it is.
func (m *Manager) ExportUsers(ctx context.Context, tenantID string, q ExportUsersQuery, f ExportFormat, w io.Writer) error {
	p, err := m.userListParams(tenantID, q.Status, q.Role, q.Search)
	if err != nil {
		return err
	}
	out, err := newExporter(f, w, reflect.TypeFor[userRow]())
	if err != nil {
		return err
	}
	p.Limit = exportPage
	audit := exportDetail("users", f, "status", string(q.Status), "role", string(q.Role), "search", p.Search)
	return exportPages(m, ctx, tenantID, PermListUsers, audit, out,
		func(ctx context.Context, tx Tx, _ *authz) ([]User, error) {
			users, err := tx.ListUsers(ctx, p)
			if err != nil {
				return nil, err
			}
			return users, m.fillGroupRoles(ctx, tx, tenantID, users)
		},
		func(u *User) any { r := newUserRow(u); return &r },
		func(last *User) { p.After = last.Email })
}

// ExportActivity writes the tenant's activity events of q's range to w in
// format f, oldest first, for a SIEM: a page of exportPage events at a
// time, each in its own read-only transaction, walking the tenant's log by
// id (Tx.ListTenantEvents), so memory stays flat and a page costs the same
// at any depth. It needs PermReadActivity, checked on every page; the
// actor's email is shown only to a caller who may also list users, as
// ListActivity shows it, and an erased actor is named "Erased user". It
// is logged as ExportUsers is.
//
// It returns invalid for a bad format or tenant and for a range whose To
// is not after its From or that a UUIDv7 cannot hold, and
// permission_denied, before anything is written to w; errors as
// ExportUsers after.
func (m *Manager) ExportActivity(ctx context.Context, tenantID string, q ExportActivityQuery, f ExportFormat, w io.Writer) error {
	if err := checkTenant(tenantID); err != nil {
		return err
	}
	after, before, err := eventRange(q)
	if err != nil {
		return err
	}
	out, err := newExporter(f, w, reflect.TypeFor[eventRow]())
	if err != nil {
		return err
	}
	audit := exportDetail("activity", f, "from", timeArg(q.From), "to", timeArg(q.To))
	return exportPages(m, ctx, tenantID, PermReadActivity, audit, out,
		func(ctx context.Context, tx Tx, az *authz) ([]Event, error) {
			events, err := tx.ListTenantEvents(ctx, tenantID, after, before, exportPage)
			m.nameActors(az, events)
			return events, err
		},
		func(e *Event) any { r := newEventRow(e); return &r },
		func(last *Event) { after = last.ID })
}

// exportPages writes the rows of an export page by page until a page is
// short: read reads a page of exportPage items in one transaction
// authorized for perm, row makes an item a row for out, and next moves
// the keyset past the last item. The first page (audit set) logs
// EventExported about the actor who exports, in the page's own
// transaction, before a byte is written; the later pages are read-only.
// The system exports unlogged: it has no user to log it about.
func exportPages[T any](m *Manager, ctx context.Context, tenantID string, perm Permission, audit string, out *exporter,
	read func(context.Context, Tx, *authz) ([]T, error), row func(*T) any, next func(last *T)) error {
	_, actor := ActorFromContext(ctx)
	ctx = rereadActor(ctx) // every page checks the actor as the store has it now
	for first := true; ; first = false {
		log := first && actor
		var items []T
		err := m.inTx(ctx, TxOptions{ReadOnly: !log}, func(ctx context.Context, tx Tx) error {
			az, err := m.authorize(ctx, tx, tenantID, perm)
			if err != nil {
				return err
			}
			if log {
				who := User{ID: az.actor.UserID, TenantID: tenantID}
				if err := tx.AppendEvent(ctx, m.event(ctx, &who, EventExported, audit)); err != nil {
					return err
				}
			}
			items, err = read(ctx, tx, &az)
			return err
		})
		if err != nil {
			return wrapInternal(err)
		}
		for i := range items {
			if err := out.write(row(&items[i])); err != nil {
				return err
			}
		}
		if len(items) < exportPage {
			return out.close()
		}
		if err := out.flush(); err != nil {
			return err
		}
		next(&items[len(items)-1])
	}
}

// exportDetail is the Detail of EventExported: what, the format, and each
// filter given as name=value ("users as csv: status=active, search=ana").
func exportDetail(what string, f ExportFormat, filters ...string) string {
	var set []string
	for i := 0; i < len(filters); i += 2 {
		if filters[i+1] != "" {
			set = append(set, filters[i]+"="+filters[i+1])
		}
	}
	d := what + " as " + string(f)
	if len(set) > 0 {
		d += ": " + strings.Join(set, ", ")
	}
	return d
}

func timeArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// eventRange turns q into the exclusive id bounds of ListTenantEvents.
// The smallest UUIDv7 of a millisecond has version and variant bits of 0,
// so it is below every id made in that millisecond: "after the bound of
// From" takes From's own millisecond, "before the bound of To" leaves
// To's out.
func eventRange(q ExportActivityQuery) (after, before uuid.UUID, err error) {
	if !q.From.IsZero() {
		if after, err = timeBound(q.From, "from"); err != nil {
			return uuid.Nil, uuid.Nil, err
		}
	}
	if q.To.IsZero() {
		// Now, by the clock that stamps event ids.
		before, err = uuid.NewV7()
	} else {
		before, err = timeBound(q.To, "to")
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return uuid.Nil, uuid.Nil, Errorf(CodeInvalid, "to must be after from")
	}
	return after, before, nil
}

// timeBound returns the smallest UUIDv7 of t's millisecond.
func timeBound(t time.Time, name string) (uuid.UUID, error) {
	ms := t.UnixMilli()
	if ms <= 0 || ms >= 1<<48 {
		return uuid.Nil, Errorf(CodeInvalid, "%s must be between 1970 and 10889", name)
	}
	var id uuid.UUID
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	return id, nil
}

// userRow is a user as an export shows it: the names and forms of the
// HTTP API's user, without what only a page needs (allowed actions,
// relative times). Its fields are the columns, in order.
type userRow struct {
	ID             uuid.UUID       `json:"id"`
	Email          string          `json:"email"`
	Status         Status          `json:"status"`
	Roles          []Role          `json:"roles"`
	DirectRoles    []Role          `json:"direct_roles"`
	GroupRoles     []exportedGroup `json:"group_roles"`
	DisplayName    string          `json:"display_name"`
	GivenName      string          `json:"given_name"`
	FamilyName     string          `json:"family_name"`
	ExternalID     string          `json:"external_id"`
	EmployeeNumber string          `json:"employee_number"`
	Department     string          `json:"department"`
	ManagerID      string          `json:"manager_id"`
	MFAEnabled     bool            `json:"mfa_enabled"`
	LastLoginAt    *time.Time      `json:"last_login_at"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Erased         bool            `json:"erased"`
}

// exportedGroup is one role a user holds through a group; CSV writes it
// as "role (group)".
type exportedGroup struct {
	Role    Role      `json:"role"`
	GroupID uuid.UUID `json:"group_id"`
	Group   string    `json:"group"`
}

func newUserRow(u *User) userRow {
	groups := make([]exportedGroup, len(u.GroupRoles))
	for i, g := range u.GroupRoles {
		groups[i] = exportedGroup{Role: g.Role, GroupID: g.GroupID, Group: g.Group}
	}
	return userRow{ID: u.ID, Email: u.Email, Status: u.Status, Roles: nonNil(u.Roles),
		DirectRoles: nonNil(u.DirectRoles), GroupRoles: groups, DisplayName: u.DisplayName,
		GivenName: u.GivenName, FamilyName: u.FamilyName, ExternalID: u.ExternalID,
		EmployeeNumber: u.EmployeeNumber, Department: u.Department, ManagerID: u.ManagerID,
		MFAEnabled: u.MFAEnabled, LastLoginAt: utc(u.LastLoginAt), CreatedAt: u.CreatedAt.UTC(),
		UpdatedAt: u.UpdatedAt.UTC(), Erased: u.Erased()}
}

// eventRow is an activity event as an export shows it. ActorID is null
// for the system; ActorName names an actor that is not a user (a
// provisioning token, an erased user).
type eventRow struct {
	ID         uuid.UUID  `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	Type       EventType  `json:"type"`
	UserID     uuid.UUID  `json:"user_id"`
	ActorID    *uuid.UUID `json:"actor_id"`
	ActorEmail string     `json:"actor_email"`
	ActorName  string     `json:"actor_name"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	Detail     string     `json:"detail"`
}

func newEventRow(e *Event) eventRow {
	r := eventRow{ID: e.ID, CreatedAt: e.CreatedAt.UTC(), Type: e.Type, UserID: e.UserID,
		ActorEmail: e.ActorEmail, ActorName: e.ActorName, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}
	if e.ActorID != uuid.Nil {
		r.ActorID = &e.ActorID
	}
	return r
}

func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// exporter writes rows of one struct type, whose fields are the columns,
// through a buffer: CSV (header row first) or JSONL.
type exporter struct {
	buf     *bufio.Writer
	csv     *csv.Writer // nil for JSONL
	json    *json.Encoder
	header  []string
	cells   []string
	started bool
}

// newExporter returns an exporter of rows of type row to w. It returns
// invalid for an unknown format.
func newExporter(f ExportFormat, w io.Writer, row reflect.Type) (*exporter, error) {
	if !f.Valid() {
		return nil, Errorf(CodeInvalid, "format must be %q or %q", ExportCSV, ExportJSONL)
	}
	e := &exporter{buf: bufio.NewWriterSize(w, 32<<10)}
	if f == ExportJSONL {
		e.json = json.NewEncoder(e.buf)
		e.json.SetEscapeHTML(false)
		return e, nil
	}
	e.csv = csv.NewWriter(e.buf)
	for i := range row.NumField() {
		name, _, _ := strings.Cut(row.Field(i).Tag.Get("json"), ",")
		e.header = append(e.header, name)
	}
	e.cells = make([]string, len(e.header))
	return e, nil
}

// write adds one row, a pointer to the exporter's struct type.
func (e *exporter) write(row any) error {
	if err := e.start(); err != nil {
		return err
	}
	if e.json != nil {
		return e.json.Encode(row)
	}
	v := reflect.ValueOf(row).Elem()
	for i := range e.cells {
		e.cells[i] = csvSafe(csvCell(v.Field(i).Interface()))
	}
	return e.csv.Write(e.cells)
}

// start writes the CSV header, once, before the first row or at the end
// of an export without any.
func (e *exporter) start() error {
	if e.started {
		return nil
	}
	e.started = true
	if e.csv == nil {
		return nil
	}
	return e.csv.Write(e.header)
}

// flush hands what is buffered to the writer (at the end of each page).
func (e *exporter) flush() error {
	if e.csv != nil {
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return err
		}
	}
	return e.buf.Flush()
}

// close ends the export: a CSV without rows still has its header.
func (e *exporter) close() error {
	if err := e.start(); err != nil {
		return err
	}
	return e.flush()
}

// csvCell renders one field of a row as a CSV cell.
func csvCell(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Status:
		return string(v)
	case EventType:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case uuid.UUID:
		return v.String()
	case *uuid.UUID:
		if v == nil {
			return ""
		}
		return v.String()
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.Format(time.RFC3339Nano)
	case []Role:
		s := make([]string, len(v))
		for i, r := range v {
			s[i] = string(r)
		}
		return strings.Join(s, "; ")
	case []exportedGroup:
		s := make([]string, len(v))
		for i, g := range v {
			s[i] = string(g.Role) + " (" + g.Group + ")"
		}
		return strings.Join(s, "; ")
	}
	panic("usermgmt: no CSV form for " + reflect.TypeOf(v).String())
}

// csvSafe guards a cell against CSV injection (OWASP): a spreadsheet runs
// a cell that starts with =, +, -, @, a tab or a carriage return as a
// formula, so such a cell gets a leading ' and shows as text.
func csvSafe(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
