package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// findPeople is the tenant FindUsers cases search: names, external ids,
// statuses and times that each filter tells apart, and one user of each
// kind the filters must not reach (deprovisioned; another tenant's, made
// by findTwins).
type findPeople struct {
	ada, bob, cy, dee, fay, faz, eve usermgmt.UserRecord
}

func (f *fixture) findPeople(tenantID string) findPeople {
	f.t.Helper()
	mk := func(email string, st usermgmt.Status, p usermgmt.Profile, age time.Duration, touched time.Duration) usermgmt.UserRecord {
		u := newUser(tenantID, email, st, usermgmt.RoleAgent)
		u.Profile = p
		u.CreatedAt, u.UpdatedAt = base.Add(-age), base.Add(-touched)
		f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, u) })
		return f.mustGetUser(tenantID, u.ID)
	}
	day := 24 * time.Hour
	var p findPeople
	p.ada = mk("ada@example.com", usermgmt.StatusActive,
		usermgmt.Profile{DisplayName: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", ExternalID: "okta-001"},
		5*day, time.Hour)
	p.bob = mk("bob@example.com", usermgmt.StatusInvited,
		usermgmt.Profile{DisplayName: "Bob O'Hara", GivenName: "Bob", FamilyName: "O'Hara", ExternalID: "OKTA-002"},
		4*day, 2*time.Hour)
	p.cy = mk("cy@example.org", usermgmt.StatusDeactivated, usermgmt.Profile{}, 3*day, 3*time.Hour)
	p.dee = mk("dee@example.com", usermgmt.StatusActive,
		usermgmt.Profile{DisplayName: "Dee 100% _real_", GivenName: "Dee", FamilyName: `Back\slash`, ExternalID: "okta-004"},
		2*day, 30*time.Minute)
	p.fay = mk("fay_x@example.com", usermgmt.StatusActive,
		usermgmt.Profile{DisplayName: "Fay", GivenName: "Fay", FamilyName: "Lovelock", ExternalID: "a%b"},
		day, 20*time.Minute)
	p.faz = mk("fayzx@example.com", usermgmt.StatusActive,
		usermgmt.Profile{DisplayName: "Faz", GivenName: "Faz", FamilyName: "Smith", ExternalID: "axb"},
		day, 10*time.Minute)
	// Eve matches many filters, but the identity provider deleted her.
	p.eve = mk("eve@example.net", usermgmt.StatusActive,
		usermgmt.Profile{DisplayName: "Eve Lovelace", GivenName: "Ada", FamilyName: "Lovelace", ExternalID: "okta-005"},
		5*day, time.Hour)
	p.eve.Status, p.eve.DeprovisionedAt = usermgmt.StatusDeactivated, ptr(base)
	f.mustUpdate(p.eve)
	return p
}

// findTwins gives globex users who match every filter acme's do: same
// emails, names and external ids.
func (f *fixture) findTwins(p findPeople) []usermgmt.UserRecord {
	f.t.Helper()
	var out []usermgmt.UserRecord
	for _, u := range []usermgmt.UserRecord{p.ada, p.bob, p.dee} {
		twin := newUser(globex, u.Email, u.Status, usermgmt.RoleAgent)
		twin.Profile = u.Profile
		twin.CreatedAt, twin.UpdatedAt = u.CreatedAt, u.UpdatedAt
		f.mustDo(func(tx usermgmt.Tx) error { return tx.CreateUser(f.ctx, twin) })
		out = append(out, *twin)
	}
	return out
}

func (f *fixture) findUsers(p usermgmt.UserFindParams) ([]usermgmt.User, int) {
	f.t.Helper()
	var (
		users []usermgmt.User
		total int
	)
	f.mustDo(func(tx usermgmt.Tx) error {
		var err error
		users, total, err = tx.FindUsers(f.ctx, p)
		return err
	})
	return users, total
}

// findCase is a filter and the emails it matches in findPeople's tenant,
// in email order.
type findCase struct {
	name   string
	filter *usermgmt.UserFilter
	want   []usermgmt.UserRecord
}

// requireFinds runs each case with a page that holds every match, and
// checks the page and the total.
func (f *fixture) requireFinds(tenantID string, cases []findCase) {
	f.t.Helper()
	for _, c := range cases {
		users, total := f.findUsers(usermgmt.UserFindParams{TenantID: tenantID, Filter: c.filter, Limit: usermgmt.MaxFindLimit})
		want := make([]string, len(c.want))
		for i, u := range c.want {
			want[i] = u.Email
		}
		slices.Sort(want)
		require.Equal(f.t, want, emails(users), "%s: users", c.name)
		require.Equal(f.t, len(want), total, "%s: total", c.name)
		for i, u := range users {
			require.Equal(f.t, tenantID, u.TenantID, "%s: user %d", c.name, i)
		}
	}
}

func where(attr usermgmt.UserAttr, op usermgmt.FilterOp, v string) *usermgmt.UserFilter {
	return &usermgmt.UserFilter{Op: op, Attr: attr, Value: v}
}

func whenAt(attr usermgmt.UserAttr, op usermgmt.FilterOp, t time.Time) *usermgmt.UserFilter {
	return &usermgmt.UserFilter{Op: op, Attr: attr, Time: t}
}

func logic(op usermgmt.FilterOp, subs ...*usermgmt.UserFilter) *usermgmt.UserFilter {
	f := &usermgmt.UserFilter{Op: op}
	for _, s := range subs {
		f.Sub = append(f.Sub, *s)
	}
	return f
}

func users(us ...usermgmt.UserRecord) []usermgmt.UserRecord { return us }

func testFindUsersEveryOperatorOnEveryAttribute(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.findTwins(p)
	all := users(p.ada, p.bob, p.cy, p.dee, p.fay, p.faz)
	but := func(out ...usermgmt.UserRecord) []usermgmt.UserRecord {
		return slices.DeleteFunc(slices.Clone(all), func(u usermgmt.UserRecord) bool {
			return slices.ContainsFunc(out, func(o usermgmt.UserRecord) bool { return o.ID == u.ID })
		})
	}
	id := p.dee.ID.String()
	const (
		eq, ne, co, sw, ew, pr = usermgmt.FilterEq, usermgmt.FilterNe, usermgmt.FilterCo, usermgmt.FilterSw,
			usermgmt.FilterEw, usermgmt.FilterPr
		gt, ge, lt, le = usermgmt.FilterGt, usermgmt.FilterGe, usermgmt.FilterLt, usermgmt.FilterLe
	)
	const (
		aID, aEmail, aExt, aDisplay = usermgmt.UserAttrID, usermgmt.UserAttrEmail, usermgmt.UserAttrExternalID,
			usermgmt.UserAttrDisplayName
		aGiven, aFamily, aActive = usermgmt.UserAttrGivenName, usermgmt.UserAttrFamilyName, usermgmt.UserAttrActive
		aCreated, aUpdated       = usermgmt.UserAttrCreated, usermgmt.UserAttrUpdated
	)
	day := 24 * time.Hour
	f.requireFinds(acme, []findCase{
		{"no filter", nil, all},

		{"id eq", where(aID, eq, id), users(p.dee)},
		{"id eq not an id", where(aID, eq, "dee"), nil},
		{"id ne", where(aID, ne, id), but(p.dee)},
		{"id ne not an id", where(aID, ne, "dee"), all},
		{"id co", where(aID, co, id[14:28]), users(p.dee)},
		{"id sw", where(aID, sw, id[:36]), users(p.dee)},
		{"id ew", where(aID, ew, id[24:]), users(p.dee)},
		{"id pr", where(aID, pr, ""), all},

		{"email eq", where(aEmail, eq, "bob@example.com"), users(p.bob)},
		{"email eq nobody", where(aEmail, eq, "bo@example.com"), nil},
		{"email ne", where(aEmail, ne, "bob@example.com"), but(p.bob)},
		{"email co", where(aEmail, co, "@example.c"), but(p.cy)},
		{"email sw", where(aEmail, sw, "fay"), users(p.fay, p.faz)},
		{"email ew", where(aEmail, ew, ".org"), users(p.cy)},
		{"email pr", where(aEmail, pr, ""), all},

		{"externalId eq", where(aExt, eq, "okta-004"), users(p.dee)},
		{"externalId ne", where(aExt, ne, "okta-004"), but(p.dee)},
		{"externalId co", where(aExt, co, "kta-00"), users(p.ada, p.dee)},
		{"externalId sw", where(aExt, sw, "OKTA"), users(p.bob)},
		{"externalId ew", where(aExt, ew, "01"), users(p.ada)},
		{"externalId pr", where(aExt, pr, ""), but(p.cy)},

		{"displayName eq", where(aDisplay, eq, "Ada Lovelace"), users(p.ada)},
		{"displayName ne", where(aDisplay, ne, "Ada Lovelace"), but(p.ada)},
		{"displayName co", where(aDisplay, co, "'"), users(p.bob)},
		{"displayName sw", where(aDisplay, sw, "Fa"), users(p.fay, p.faz)},
		{"displayName ew", where(aDisplay, ew, "lace"), users(p.ada)},
		{"displayName pr", where(aDisplay, pr, ""), but(p.cy)},

		{"givenName eq", where(aGiven, eq, "Bob"), users(p.bob)},
		{"givenName ne", where(aGiven, ne, "Bob"), but(p.bob)},
		{"givenName co", where(aGiven, co, "a"), users(p.ada, p.fay, p.faz)},
		{"givenName sw", where(aGiven, sw, "D"), users(p.dee)},
		{"givenName ew", where(aGiven, ew, "y"), users(p.fay)},
		{"givenName pr", where(aGiven, pr, ""), but(p.cy)},

		{"familyName eq", where(aFamily, eq, "Lovelace"), users(p.ada)},
		{"familyName ne", where(aFamily, ne, "Lovelace"), but(p.ada)},
		{"familyName co", where(aFamily, co, "ove"), users(p.ada, p.fay)},
		{"familyName sw", where(aFamily, sw, "Lovel"), users(p.ada, p.fay)},
		{"familyName ew", where(aFamily, ew, "ck"), users(p.fay)},
		{"familyName pr", where(aFamily, pr, ""), but(p.cy)},

		{"active eq true", where(aActive, eq, "true"), but(p.cy)},
		{"active eq false", where(aActive, eq, "false"), users(p.cy)},
		{"active ne true", where(aActive, ne, "true"), users(p.cy)},
		{"active ne false", where(aActive, ne, "false"), but(p.cy)},
		{"active pr", where(aActive, pr, ""), all},

		{"created eq", whenAt(aCreated, eq, base.Add(-3*day)), users(p.cy)},
		{"created ne", whenAt(aCreated, ne, base.Add(-3*day)), but(p.cy)},
		{"created gt", whenAt(aCreated, gt, base.Add(-3*day)), users(p.dee, p.fay, p.faz)},
		{"created ge", whenAt(aCreated, ge, base.Add(-3*day)), users(p.cy, p.dee, p.fay, p.faz)},
		{"created lt", whenAt(aCreated, lt, base.Add(-3*day)), users(p.ada, p.bob)},
		{"created le", whenAt(aCreated, le, base.Add(-3*day)), users(p.ada, p.bob, p.cy)},
		{"created gt a microsecond before", whenAt(aCreated, gt, base.Add(-3*day-time.Microsecond)),
			users(p.cy, p.dee, p.fay, p.faz)},
		{"created pr", whenAt(aCreated, pr, time.Time{}), all},
		{"created in another zone", whenAt(aCreated, eq, base.Add(-3*day).In(time.FixedZone("UTC-7", -7*3600))),
			users(p.cy)},

		{"updated eq", whenAt(aUpdated, eq, base.Add(-20*time.Minute)), users(p.fay)},
		{"updated ne", whenAt(aUpdated, ne, base.Add(-20*time.Minute)), but(p.fay)},
		{"updated gt", whenAt(aUpdated, gt, base.Add(-time.Hour)), users(p.dee, p.fay, p.faz)},
		{"updated ge", whenAt(aUpdated, ge, base.Add(-time.Hour)), users(p.ada, p.dee, p.fay, p.faz)},
		{"updated lt", whenAt(aUpdated, lt, base.Add(-time.Hour)), users(p.bob, p.cy)},
		{"updated le", whenAt(aUpdated, le, base.Add(-time.Hour)), users(p.ada, p.bob, p.cy)},
		{"updated pr", whenAt(aUpdated, pr, time.Time{}), all},
	})
}

func testFindUsersAndOrNotNest(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.findTwins(p)
	const and, or, not = usermgmt.FilterAnd, usermgmt.FilterOr, usermgmt.FilterNot
	given := func(v string) *usermgmt.UserFilter { return where(usermgmt.UserAttrGivenName, usermgmt.FilterSw, v) }
	active := where(usermgmt.UserAttrActive, usermgmt.FilterEq, "true")
	lovel := where(usermgmt.UserAttrFamilyName, usermgmt.FilterSw, "Lovel")
	f.requireFinds(acme, []findCase{
		{"and", logic(and, given("F"), lovel), users(p.fay)},
		{"and of three", logic(and, active, lovel, where(usermgmt.UserAttrExternalID, usermgmt.FilterPr, "")),
			users(p.ada, p.fay)},
		{"or", logic(or, given("A"), given("B")), users(p.ada, p.bob)},
		{"or of three", logic(or, given("A"), given("B"), where(usermgmt.UserAttrEmail, usermgmt.FilterEw, ".org")),
			users(p.ada, p.bob, p.cy)},
		{"not", logic(not, active), users(p.cy)},
		{"not not", logic(not, logic(not, lovel)), users(p.ada, p.fay)},
		{"and of ors", logic(and, logic(or, given("A"), given("F")), logic(or, lovel, given("Faz"))),
			users(p.ada, p.fay, p.faz)},
		{"or of ands", logic(or, logic(and, given("F"), lovel), logic(and, given("B"), active)), users(p.bob, p.fay)},
		{"not of or", logic(not, logic(or, given("A"), given("B"), given("F"))), users(p.cy, p.dee)},
		{"not of and", logic(not, logic(and, active, lovel)), users(p.bob, p.cy, p.dee, p.faz)},
		{"and with an email eq", logic(and, where(usermgmt.UserAttrEmail, usermgmt.FilterEq, "ada@example.com"), lovel),
			users(p.ada)},
		{"and with an email eq that fails", logic(and, where(usermgmt.UserAttrEmail, usermgmt.FilterEq, "ada@example.com"),
			logic(not, active)), nil},
		{"or with an id eq", logic(or, where(usermgmt.UserAttrID, usermgmt.FilterEq, p.ada.ID.String()), given("B")),
			users(p.ada, p.bob)},
	})
}

// testFindUsersCaseRules: names ignore case; external ids and ids do not.
func testFindUsersCaseRules(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.requireFinds(acme, []findCase{
		{"displayName eq ignores case", where(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, "aDA lOVELACE"), users(p.ada)},
		{"displayName co ignores case", where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, "O'H"), users(p.bob)},
		{"givenName sw ignores case", where(usermgmt.UserAttrGivenName, usermgmt.FilterSw, "fA"), users(p.fay, p.faz)},
		{"familyName ew ignores case", where(usermgmt.UserAttrFamilyName, usermgmt.FilterEw, "ACE"), users(p.ada)},
		{"familyName ne ignores case", where(usermgmt.UserAttrFamilyName, usermgmt.FilterNe, "lovelace"),
			users(p.bob, p.cy, p.dee, p.fay, p.faz)},
		{"externalId eq is exact", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "OKTA-001"), nil},
		{"externalId eq is exact, lower for upper", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "okta-002"), nil},
		{"externalId eq matches its case", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "OKTA-002"), users(p.bob)},
		{"externalId co is exact", where(usermgmt.UserAttrExternalID, usermgmt.FilterCo, "KTA"), users(p.bob)},
		{"id co is exact", where(usermgmt.UserAttrID, usermgmt.FilterEw, strings.ToUpper(letterTail(p.ada.ID.String()))), nil},
	})
}

// letterTail is the end of id from its last hex letter on: upper-cased it
// differs from id's own text, which the last 12 digits alone do not when
// they hold no letter (one id in 280).
func letterTail(id string) string {
	if i := strings.LastIndexAny(id, "abcdef"); i >= 0 {
		return id[i:]
	}
	return id
}

// testFindUsersLikeMetacharactersAreLiteral: %, _ and \ in a value match
// themselves, whatever the store uses to match patterns.
func testFindUsersLikeMetacharactersAreLiteral(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.requireFinds(acme, []findCase{
		{"% in co", where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, "100%"), users(p.dee)},
		{"% alone", where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, "%"), users(p.dee)},
		{"% in ew", where(usermgmt.UserAttrDisplayName, usermgmt.FilterEw, "%"), nil},
		{"% in eq", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "a%b"), users(p.fay)},
		{"% in sw", where(usermgmt.UserAttrExternalID, usermgmt.FilterSw, "a%"), users(p.fay)},
		{"_ in sw", where(usermgmt.UserAttrEmail, usermgmt.FilterSw, "fay_"), users(p.fay)},
		{"_ in co", where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, "_real_"), users(p.dee)},
		{"_ in eq", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "a_b"), nil},
		{`\ in co`, where(usermgmt.UserAttrFamilyName, usermgmt.FilterCo, `k\s`), users(p.dee)},
		{`\ before a letter`, where(usermgmt.UserAttrFamilyName, usermgmt.FilterCo, `\s`), users(p.dee)},
		{`\ escaping nothing`, where(usermgmt.UserAttrFamilyName, usermgmt.FilterCo, `ks`), nil},
		{`\ at the end`, where(usermgmt.UserAttrFamilyName, usermgmt.FilterEw, `\`), nil},
		{`\% is two characters`, where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, `\%`), nil},
		{"a quote is a quote", where(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, "x' OR 'a' = 'a"), nil},
		{"a quote in co", where(usermgmt.UserAttrFamilyName, usermgmt.FilterCo, "o'h"), users(p.bob)},
	})
}

func testFindUsersPagesAndTotal(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.findTwins(p)
	all := []string{p.ada.Email, p.bob.Email, p.cy.Email, p.dee.Email, p.fay.Email, p.faz.Email}
	active := where(usermgmt.UserAttrActive, usermgmt.FilterEq, "true")
	actives := []string{p.ada.Email, p.bob.Email, p.dee.Email, p.fay.Email, p.faz.Email}
	for _, c := range []struct {
		filter *usermgmt.UserFilter
		want   []string
	}{{nil, all}, {active, actives}} {
		for offset := 0; offset <= len(c.want)+1; offset++ {
			for _, limit := range []int{1, 2, 4, usermgmt.MaxFindLimit} {
				users, total := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Filter: c.filter, Offset: offset, Limit: limit})
				want := c.want[min(offset, len(c.want)):min(offset+limit, len(c.want))]
				require.Equal(t, want, emails(users), "offset %d, limit %d, filter %v", offset, limit, c.filter)
				require.Equal(t, len(c.want), total, "total at offset %d, limit %d, filter %v", offset, limit, c.filter)
			}
		}
		for _, offset := range []int{0, 3, 99} {
			users, total := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Filter: c.filter, Offset: offset})
			require.Empty(t, users, "limit 0 returns only the total")
			require.Equal(t, len(c.want), total, "limit 0 at offset %d", offset)
		}
	}
	users, total := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Filter: where(usermgmt.UserAttrEmail, usermgmt.FilterEq,
		"nobody@example.com"), Offset: 2, Limit: 10})
	require.Empty(t, users)
	require.Zero(t, total)
}

func testFindUsersDescending(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.findTwins(p)
	desc := []string{p.faz.Email, p.fay.Email, p.dee.Email, p.cy.Email, p.bob.Email, p.ada.Email}
	for offset := 0; offset <= len(desc); offset++ {
		for _, limit := range []int{1, 3, usermgmt.MaxFindLimit} {
			users, total := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Offset: offset, Limit: limit, Descending: true})
			require.Equal(t, desc[offset:min(offset+limit, len(desc))], emails(users), "offset %d, limit %d", offset, limit)
			require.Equal(t, len(desc), total)
		}
	}
	users, total := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Limit: 10, Descending: true,
		Filter: where(usermgmt.UserAttrFamilyName, usermgmt.FilterSw, "lovel")})
	require.Equal(t, []string{p.fay.Email, p.ada.Email}, emails(users))
	require.Equal(t, 2, total)
}

// testFindUsersIsTenantScoped: globex's twins match every filter acme's
// users do, and are never found from acme, not even by their ids.
func testFindUsersIsTenantScoped(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	twins := f.findTwins(p)
	cases := []findCase{
		{"every user", nil, users(p.ada, p.bob, p.cy, p.dee, p.fay, p.faz)},
		{"email eq", where(usermgmt.UserAttrEmail, usermgmt.FilterEq, p.ada.Email), users(p.ada)},
		{"externalId eq", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "okta-004"), users(p.dee)},
		{"displayName co", where(usermgmt.UserAttrDisplayName, usermgmt.FilterCo, "o"), users(p.ada, p.bob)},
	}
	for _, tw := range twins {
		cases = append(cases,
			findCase{"the other tenant's id", where(usermgmt.UserAttrID, usermgmt.FilterEq, tw.ID.String()), nil},
			findCase{"the other tenant's id in an and", logic(usermgmt.FilterAnd,
				where(usermgmt.UserAttrID, usermgmt.FilterEq, tw.ID.String()),
				where(usermgmt.UserAttrEmail, usermgmt.FilterEq, tw.Email)), nil})
	}
	f.requireFinds(acme, cases)
	f.requireFinds(globex, []findCase{
		{"every user of the other tenant", nil, twins},
		{"an id of acme from globex", where(usermgmt.UserAttrID, usermgmt.FilterEq, p.ada.ID.String()), nil},
	})
	f.requireFinds("initech", []findCase{{"a tenant with no users", nil, nil}})
}

func testFindUsersLeavesOutDeprovisioned(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	f.requireFinds(acme, []findCase{
		{"by email", where(usermgmt.UserAttrEmail, usermgmt.FilterEq, p.eve.Email), nil},
		{"by id", where(usermgmt.UserAttrID, usermgmt.FilterEq, p.eve.ID.String()), nil},
		{"by external id", where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, p.eve.ExternalID), nil},
		{"by a name she shares", where(usermgmt.UserAttrFamilyName, usermgmt.FilterEq, "lovelace"), users(p.ada)},
		{"as deactivated", where(usermgmt.UserAttrActive, usermgmt.FilterEq, "false"), users(p.cy)},
	})
	// Brought back, she is found again.
	eve := f.mustGetUser(acme, p.eve.ID)
	eve.DeprovisionedAt, eve.Status = nil, usermgmt.StatusActive
	f.mustUpdate(eve)
	f.requireFinds(acme, []findCase{
		{"brought back", where(usermgmt.UserAttrFamilyName, usermgmt.FilterEq, "lovelace"), users(p.ada, p.eve)},
	})
}

// testFindUsersReturnsUsersAsGetUserDoes: a found user carries every
// field GetUser reads, its sign-in lock included.
func testFindUsersReturnsUsersAsGetUserDoes(t *testing.T, f *fixture) {
	p := f.findPeople(acme)
	locked := base.Add(time.Hour)
	f.mustDo(func(tx usermgmt.Tx) error {
		return tx.PutAttempts(f.ctx, &usermgmt.LoginAttempts{TenantID: acme, Email: p.dee.Email, Failures: 5,
			LockedUntil: locked, ExpiresAt: base.Add(24 * time.Hour)})
	})
	found, _ := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Limit: usermgmt.MaxFindLimit})
	require.Len(t, found, 6)
	for _, u := range found {
		require.Equal(t, normUser(f.mustGetUser(acme, u.ID).User), normUser(u), u.Email)
	}
	dee, _ := f.findUsers(usermgmt.UserFindParams{TenantID: acme, Limit: 1,
		Filter: where(usermgmt.UserAttrExternalID, usermgmt.FilterEq, "okta-004")})
	require.Len(t, dee, 1)
	require.NotNil(t, dee[0].LockedUntil, "the sign-in lock is read with the user")
	require.True(t, locked.Equal(*dee[0].LockedUntil))
	require.Equal(t, p.dee.Profile, dee[0].Profile)
}

func testFindUsersBadTextIsInvalid(t *testing.T, f *fixture) {
	f.mustUser(acme, "ada@example.com", usermgmt.StatusActive)
	for _, bad := range []string{"a\x00b", "\xff"} {
		for _, filter := range []*usermgmt.UserFilter{
			where(usermgmt.UserAttrDisplayName, usermgmt.FilterEq, bad),
			where(usermgmt.UserAttrEmail, usermgmt.FilterEq, bad),
			where(usermgmt.UserAttrExternalID, usermgmt.FilterCo, bad),
			where(usermgmt.UserAttrID, usermgmt.FilterEq, bad),
			logic(usermgmt.FilterNot, where(usermgmt.UserAttrGivenName, usermgmt.FilterSw, bad)),
		} {
			_, err := probe(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) {
				us, _, err := tx.FindUsers(f.ctx, usermgmt.UserFindParams{TenantID: acme, Filter: filter, Limit: 10})
				return us, err
			})
			requireCode(t, err, usermgmt.CodeInvalid, "a filter value "+strings.ReplaceAll(bad, "\x00", `\0`))
		}
		_, err := probe(f, func(tx usermgmt.Tx) ([]usermgmt.User, error) {
			us, _, err := tx.FindUsers(f.ctx, usermgmt.UserFindParams{TenantID: bad, Limit: 10})
			return us, err
		})
		requireCode(t, err, usermgmt.CodeInvalid, "a tenant id")
	}
}
