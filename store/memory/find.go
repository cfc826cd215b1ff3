package memory

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// FindUsers is the reference for every store: the filter is compiled once
// into a predicate, then the tenant's users are walked in email order (or
// backwards), counting every match and keeping those of the page. A filter
// that must hold an email or id eq looks that one user up instead.
func (t *tx) FindUsers(_ context.Context, p usermgmt.UserFindParams) ([]usermgmt.User, int, error) {
	if err := t.read(); err != nil {
		return nil, 0, err
	}
	if err := checkText(p.TenantID); err != nil {
		return nil, 0, err
	}
	if p.Offset < 0 || p.Limit < 0 {
		return nil, 0, usermgmt.Errorf(usermgmt.CodeInvalid, "memory: offset and limit must not be negative")
	}
	match := func(*usermgmt.UserRecord) bool { return true }
	if p.Filter != nil {
		var err error
		if match, err = compileFilter(*p.Filter); err != nil {
			return nil, 0, err
		}
	}
	tn := t.s.tenants[p.TenantID]
	if tn == nil {
		return []usermgmt.User{}, 0, nil
	}
	var (
		page  []*usermgmt.UserRecord
		total int
	)
	visit := func(u *usermgmt.UserRecord) {
		if u.DeprovisionedAt != nil || !match(u) {
			return
		}
		if total >= p.Offset && len(page) < p.Limit {
			page = append(page, u)
		}
		total++
	}
	if u, ok := t.s.narrow(tn, p.TenantID, p.Filter); ok {
		if u != nil {
			visit(u)
		}
	} else {
		tn.all.each(p.Descending, visit)
	}
	return t.s.cloneUsers(page), total, nil
}

// narrow returns the one user of the tenant f can match (nil for none) and
// true, when f is an email or id eq or an and of which one is: the lookup
// SCIM's "userName eq" before each create needs, without a walk.
func (s *Store) narrow(tn *tenant, tenantID string, f *usermgmt.UserFilter) (*usermgmt.UserRecord, bool) {
	if f == nil {
		return nil, false
	}
	switch {
	case f.Op == usermgmt.FilterAnd:
		for i := range f.Sub {
			if u, ok := s.narrow(tn, tenantID, &f.Sub[i]); ok {
				return u, true
			}
		}
	case f.Op == usermgmt.FilterEq && f.Attr == usermgmt.UserAttrEmail:
		return tn.byEmail[f.Value], true
	case f.Op == usermgmt.FilterEq && f.Attr == usermgmt.UserAttrID:
		id, err := uuid.Parse(f.Value)
		if err != nil {
			return nil, true
		}
		return s.lookup(tenantID, id), true
	}
	return nil, false
}

// predicate says whether a user matches a filter.
type predicate func(u *usermgmt.UserRecord) bool

// compileFilter turns f into a predicate, or returns invalid for an
// operator an attribute does not take.
func compileFilter(f usermgmt.UserFilter) (predicate, error) {
	switch f.Op {
	case usermgmt.FilterAnd, usermgmt.FilterOr, usermgmt.FilterNot:
		return compileLogic(f)
	}
	if err := checkText(f.Value); err != nil {
		return nil, err
	}
	switch f.Attr {
	case usermgmt.UserAttrID:
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.ID.String() }, false)
	case usermgmt.UserAttrEmail:
		// Stored lower-case, and the Manager passes the value so.
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.Email }, false)
	case usermgmt.UserAttrExternalID:
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.ExternalID }, false)
	case usermgmt.UserAttrDisplayName:
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.DisplayName }, true)
	case usermgmt.UserAttrGivenName:
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.GivenName }, true)
	case usermgmt.UserAttrFamilyName:
		return compileText(f, func(u *usermgmt.UserRecord) string { return u.FamilyName }, true)
	case usermgmt.UserAttrActive:
		return compileActive(f)
	case usermgmt.UserAttrCreated:
		return compileTime(f, func(u *usermgmt.UserRecord) time.Time { return u.CreatedAt })
	case usermgmt.UserAttrUpdated:
		return compileTime(f, func(u *usermgmt.UserRecord) time.Time { return u.UpdatedAt })
	}
	return nil, badFilter(f)
}

func badFilter(f usermgmt.UserFilter) error {
	return usermgmt.Errorf(usermgmt.CodeInvalid, "memory: filter %q does not take %q", f.Attr, f.Op)
}

func compileLogic(f usermgmt.UserFilter) (predicate, error) {
	subs := make([]predicate, len(f.Sub))
	for i, s := range f.Sub {
		var err error
		if subs[i], err = compileFilter(s); err != nil {
			return nil, err
		}
	}
	switch {
	case f.Op == usermgmt.FilterNot && len(subs) == 1:
		return func(u *usermgmt.UserRecord) bool { return !subs[0](u) }, nil
	case f.Op == usermgmt.FilterAnd && len(subs) >= 2:
		return func(u *usermgmt.UserRecord) bool {
			for _, s := range subs {
				if !s(u) {
					return false
				}
			}
			return true
		}, nil
	case f.Op == usermgmt.FilterOr && len(subs) >= 2:
		return func(u *usermgmt.UserRecord) bool {
			for _, s := range subs {
				if s(u) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, usermgmt.Errorf(usermgmt.CodeInvalid, "memory: %q takes %d filters", f.Op, len(f.Sub))
}

// compileText compares the text get reads; fold ignores case. An id eq
// compares ids, so that a value that is not one matches nothing.
func compileText(f usermgmt.UserFilter, get func(*usermgmt.UserRecord) string, fold bool) (predicate, error) {
	if f.Attr == usermgmt.UserAttrID && (f.Op == usermgmt.FilterEq || f.Op == usermgmt.FilterNe) {
		id, err := uuid.Parse(f.Value)
		want := err == nil
		if f.Op == usermgmt.FilterNe {
			return func(u *usermgmt.UserRecord) bool { return !want || u.ID != id }, nil
		}
		return func(u *usermgmt.UserRecord) bool { return want && u.ID == id }, nil
	}
	v := f.Value
	if fold {
		v = strings.ToLower(v)
		inner := get
		get = func(u *usermgmt.UserRecord) string { return strings.ToLower(inner(u)) }
	}
	var cmp func(s string) bool
	switch f.Op {
	case usermgmt.FilterEq:
		cmp = func(s string) bool { return s == v }
	case usermgmt.FilterNe:
		cmp = func(s string) bool { return s != v }
	case usermgmt.FilterCo:
		cmp = func(s string) bool { return strings.Contains(s, v) }
	case usermgmt.FilterSw:
		cmp = func(s string) bool { return strings.HasPrefix(s, v) }
	case usermgmt.FilterEw:
		cmp = func(s string) bool { return strings.HasSuffix(s, v) }
	case usermgmt.FilterPr:
		cmp = func(s string) bool { return s != "" }
	default:
		return nil, badFilter(f)
	}
	return func(u *usermgmt.UserRecord) bool { return cmp(get(u)) }, nil
}

// compileActive: active is "status is not deactivated"; it is always
// present.
func compileActive(f usermgmt.UserFilter) (predicate, error) {
	if f.Op == usermgmt.FilterPr {
		return func(*usermgmt.UserRecord) bool { return true }, nil
	}
	want, err := activeValue(f)
	if err != nil {
		return nil, err
	}
	if f.Op == usermgmt.FilterNe {
		want = !want
	} else if f.Op != usermgmt.FilterEq {
		return nil, badFilter(f)
	}
	return func(u *usermgmt.UserRecord) bool { return (u.Status != usermgmt.StatusDeactivated) == want }, nil
}

// activeValue reads the Value of an active filter: "true" or "false", in
// any case.
func activeValue(f usermgmt.UserFilter) (bool, error) {
	switch strings.ToLower(f.Value) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, usermgmt.Errorf(usermgmt.CodeInvalid, "memory: active is true or false, not %q", f.Value)
}

// compileTime compares the time get reads with f.Time, both to the
// microsecond, as PostgreSQL keeps them.
func compileTime(f usermgmt.UserFilter, get func(*usermgmt.UserRecord) time.Time) (predicate, error) {
	at := f.Time.Truncate(time.Microsecond)
	var cmp func(c int) bool
	switch f.Op {
	case usermgmt.FilterPr:
		return func(*usermgmt.UserRecord) bool { return true }, nil
	case usermgmt.FilterEq:
		cmp = func(c int) bool { return c == 0 }
	case usermgmt.FilterNe:
		cmp = func(c int) bool { return c != 0 }
	case usermgmt.FilterGt:
		cmp = func(c int) bool { return c > 0 }
	case usermgmt.FilterGe:
		cmp = func(c int) bool { return c >= 0 }
	case usermgmt.FilterLt:
		cmp = func(c int) bool { return c < 0 }
	case usermgmt.FilterLe:
		cmp = func(c int) bool { return c <= 0 }
	default:
		return nil, badFilter(f)
	}
	return func(u *usermgmt.UserRecord) bool { return cmp(get(u).Truncate(time.Microsecond).Compare(at)) }, nil
}
