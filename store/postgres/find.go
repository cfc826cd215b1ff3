package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// FindUsers compiles the filter into one parameterised condition (every
// value is an argument, never text of the statement) and reads the page
// with its total in one statement: the total is an uncorrelated scalar
// subquery, run once, with the same arguments. Both walk what the
// condition allows: an email eq is one probe of (tenant_id, email), an
// externalId eq one of (tenant_id, external_id). Only a page that comes
// back empty past the first row needs a second statement, for the total.
//
// Without a filter the total does not count the tenant (100,000 rows, an
// identity provider's import asks it on every page): it is the tenant's
// badge count less its deprovisioned users, counted through their partial
// index (0008).
func (t *tx) FindUsers(ctx context.Context, p usermgmt.UserFindParams) ([]usermgmt.User, int, error) {
	if err := checkText(p.TenantID); err != nil {
		return nil, 0, err
	}
	if p.Offset < 0 || p.Limit < 0 {
		return nil, 0, errorf(usermgmt.CodeInvalid, "postgres: offset and limit must not be negative")
	}
	schema := quoteIdent(t.s.schema)
	c := &filterSQL{args: []any{p.TenantID}}
	cond := "tenant_id = $1 AND deprovisioned_at IS NULL"
	total := `SELECT COALESCE((SELECT invited + active + deactivated FROM ` + schema + `.tenant_counts
		WHERE tenant_id = $1), 0) - (SELECT count(*) FROM ` + schema + `.users
		WHERE tenant_id = $1 AND deprovisioned_at IS NOT NULL)`
	if p.Filter != nil {
		w, err := c.compile(*p.Filter)
		if err != nil {
			return nil, 0, err
		}
		cond += " AND " + w
		total = `SELECT count(*) FROM ` + schema + `.users WHERE ` + cond
	}
	if p.Limit == 0 {
		n, err := t.countFound(ctx, total, c.args)
		return []usermgmt.User{}, n, err
	}
	order := "email"
	if p.Descending {
		order = "email DESC"
	}
	locked := strings.ReplaceAll(lockedOf("u"), "{s}", schema)
	page := `SELECT ` + storedCols + `, ` + locked + `, (` + total + `) FROM ` + schema + `.users u
		WHERE ` + cond + ` ORDER BY ` + order + ` OFFSET ` + c.arg(p.Offset) + ` LIMIT ` + c.arg(p.Limit)
	rows, err := t.db.QueryContext(ctx, page, c.args...)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	defer rows.Close()
	found := make([]usermgmt.User, 0, min(p.Limit, 64))
	n := 0
	for rows.Next() {
		u, err := scanUser(rows, &n)
		if err != nil {
			return nil, 0, mapErr(err)
		}
		found = append(found, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, mapErr(err)
	}
	rows.Close()
	if len(found) == 0 && p.Offset > 0 {
		// Past the last match: the page had no row to carry the total.
		n, err = t.countFound(ctx, total, c.args[:len(c.args)-2])
	}
	return found, n, err
}

func (t *tx) countFound(ctx context.Context, query string, args []any) (int, error) {
	var n int
	err := t.db.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, mapErr(err)
}

// filterSQL compiles a UserFilter into a condition on users whose values
// are the arguments $2, $3, … after the tenant ($1).
type filterSQL struct {
	args []any
}

// arg adds v to the arguments and returns its placeholder.
func (c *filterSQL) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// textColumns are the text attributes: the expression compared and
// whether case is ignored (the expression and the value are then both
// lower-cased by PostgreSQL, so they fold alike). Emails are stored
// lower-case and the Manager passes them so: compared as they are, they
// keep the (tenant_id, email) index.
var textColumns = map[usermgmt.UserAttr]struct {
	expr string
	fold bool
}{
	usermgmt.UserAttrEmail:       {"email", false},
	usermgmt.UserAttrExternalID:  {"external_id", false},
	usermgmt.UserAttrDisplayName: {"lower(display_name)", true},
	usermgmt.UserAttrGivenName:   {"lower(given_name)", true},
	usermgmt.UserAttrFamilyName:  {"lower(family_name)", true},
	usermgmt.UserAttrID:          {"id::text", false},
}

var timeColumns = map[usermgmt.UserAttr]string{
	usermgmt.UserAttrCreated: "created_at",
	usermgmt.UserAttrUpdated: "updated_at",
}

var timeOps = map[usermgmt.FilterOp]string{
	usermgmt.FilterEq: "=", usermgmt.FilterNe: "<>",
	usermgmt.FilterGt: ">", usermgmt.FilterGe: ">=", usermgmt.FilterLt: "<", usermgmt.FilterLe: "<=",
}

func (c *filterSQL) compile(f usermgmt.UserFilter) (string, error) {
	switch f.Op {
	case usermgmt.FilterAnd, usermgmt.FilterOr, usermgmt.FilterNot:
		return c.logic(f)
	}
	if err := checkText(f.Value); err != nil {
		return "", err
	}
	if col, ok := textColumns[f.Attr]; ok {
		return c.text(f, col.expr, col.fold)
	}
	if col, ok := timeColumns[f.Attr]; ok {
		if f.Op == usermgmt.FilterPr {
			return "true", nil
		}
		if op, ok := timeOps[f.Op]; ok {
			return col + " " + op + " " + c.arg(f.Time.UTC()), nil
		}
	}
	if f.Attr == usermgmt.UserAttrActive {
		return active(f)
	}
	return "", badFilter(f)
}

func badFilter(f usermgmt.UserFilter) error {
	return errorf(usermgmt.CodeInvalid, "postgres: filter %q does not take %q", f.Attr, f.Op)
}

func (c *filterSQL) logic(f usermgmt.UserFilter) (string, error) {
	parts := make([]string, len(f.Sub))
	for i, s := range f.Sub {
		var err error
		if parts[i], err = c.compile(s); err != nil {
			return "", err
		}
	}
	switch {
	case f.Op == usermgmt.FilterNot && len(parts) == 1:
		return "NOT (" + parts[0] + ")", nil
	case f.Op == usermgmt.FilterAnd && len(parts) >= 2:
		return "(" + strings.Join(parts, " AND ") + ")", nil
	case f.Op == usermgmt.FilterOr && len(parts) >= 2:
		return "(" + strings.Join(parts, " OR ") + ")", nil
	}
	return "", errorf(usermgmt.CodeInvalid, "postgres: %q takes %d filters", f.Op, len(f.Sub))
}

// text compares a text expression. An id eq or ne compares ids: a value
// that is not one matches no id, decided here, so that PostgreSQL never
// casts it. The LIKE patterns escape the value (escapeLike), so % _ and \
// match themselves.
func (c *filterSQL) text(f usermgmt.UserFilter, expr string, fold bool) (string, error) {
	if f.Attr == usermgmt.UserAttrID && (f.Op == usermgmt.FilterEq || f.Op == usermgmt.FilterNe) {
		id, err := uuid.Parse(f.Value)
		switch {
		case err != nil && f.Op == usermgmt.FilterEq:
			return "false", nil
		case err != nil:
			return "true", nil
		case f.Op == usermgmt.FilterEq:
			return "id = " + c.arg(uuidArg(id)), nil
		}
		return "id <> " + c.arg(uuidArg(id)), nil
	}
	value := func(v string) string {
		if fold {
			return "lower(" + c.arg(v) + ")"
		}
		return c.arg(v)
	}
	switch f.Op {
	case usermgmt.FilterEq:
		if f.Attr == usermgmt.UserAttrExternalID && f.Value != "" {
			// Said outright so that a generic plan, which cannot see the
			// value, may still use users_tenant_external_id, which holds
			// only users with an external id.
			return "(external_id = " + c.arg(f.Value) + " AND external_id <> '')", nil
		}
		return expr + " = " + value(f.Value), nil
	case usermgmt.FilterNe:
		return expr + " <> " + value(f.Value), nil
	case usermgmt.FilterCo:
		if f.Attr == usermgmt.UserAttrEmail {
			// The email's trigram index holds the email without its first
			// character (users_tenant_email_infix_trgm, which the list's
			// search reads): a match is at the start, a range of the
			// (tenant_id, email) index, or further in.
			v := escapeLike(f.Value)
			return "(email LIKE " + value(v+"%") + " OR substr(email, 2) LIKE " + value("%"+v+"%") + ")", nil
		}
		return expr + " LIKE " + value("%"+escapeLike(f.Value)+"%"), nil
	case usermgmt.FilterSw:
		return expr + " LIKE " + value(escapeLike(f.Value)+"%"), nil
	case usermgmt.FilterEw:
		if f.Attr == usermgmt.UserAttrEmail {
			// As co: the whole email, or an ending further in.
			return "(email = " + value(f.Value) + " OR substr(email, 2) LIKE " + value("%"+escapeLike(f.Value)) + ")", nil
		}
		return expr + " LIKE " + value("%"+escapeLike(f.Value)), nil
	case usermgmt.FilterPr:
		return expr + " <> ''", nil
	}
	return "", badFilter(f)
}

// active is "status is not deactivated"; the value picks the condition,
// it is never an argument.
func active(f usermgmt.UserFilter) (string, error) {
	if f.Op == usermgmt.FilterPr {
		return "true", nil
	}
	var want bool
	switch strings.ToLower(f.Value) {
	case "true":
		want = true
	case "false":
	default:
		return "", errorf(usermgmt.CodeInvalid, "postgres: active is true or false, not %q", f.Value)
	}
	switch f.Op {
	case usermgmt.FilterEq:
	case usermgmt.FilterNe:
		want = !want
	default:
		return "", badFilter(f)
	}
	if want {
		return "status <> 'deactivated'", nil
	}
	return "status = 'deactivated'", nil
}
