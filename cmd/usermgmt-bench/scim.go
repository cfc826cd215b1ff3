package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/scim"
)

// The SCIM section measures provisioning in the big tenant: requests
// through scim.New's handler, in process (no network, no TLS: what the
// library adds to a request), and the Manager calls behind them.
const (
	scimSampleSize = 1000
	scimGroupName  = "bench: 50,000 members"
	scimGroupSize  = 50_000
)

// scimFixture is what the SCIM measurements act on: a provisioning token,
// a spread sample of the big tenant's users, each with an external id, and
// a group of scimGroupSize members mapped to a role. Building it is
// idempotent on a seeded schema: the external ids and the group are kept
// for the next run; each run makes a token of its own.
type scimFixture struct {
	h         http.Handler
	secret    string
	prov      context.Context // the token as the Manager's actor
	emails    []string        // a spread sample of the big tenant
	externals []string        // their external ids
	ids       []uuid.UUID     // their ids
	group     uuid.UUID
	outsiders []uuid.UUID // users of the big tenant not in the group
}

func (b *bench) scimFixture(ctx context.Context) (*scimFixture, error) {
	start := time.Now()
	s := `"` + b.schema + `"`
	res, err := b.sqldb.ExecContext(ctx, `UPDATE `+s+`.users SET external_id = 'ext-' || id
		WHERE tenant_id = $1 AND external_id = ''`, bigTenant)
	if err != nil {
		return nil, fmt.Errorf("external ids: %w", err)
	}
	if n, _ := res.RowsAffected(); n > scimSampleSize {
		if _, err := b.sqldb.ExecContext(ctx, `VACUUM (ANALYZE) `+s+`.users`); err != nil {
			return nil, err
		}
		log.Printf("scim: gave %d users of %s an external id", n, bigTenant)
	}
	f := &scimFixture{}
	rows, err := b.sqldb.QueryContext(ctx, `SELECT id, email, external_id FROM `+s+`.users
		WHERE tenant_id = $1 AND email NOT IN ($2, $3, $4) AND status <> 'deactivated' AND deprovisioned_at IS NULL
		ORDER BY md5(id::text) LIMIT $5`, bigTenant, adminEmail, heavyEmail, targetEmail, scimSampleSize)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id            uuid.UUID
			email, extern string
		)
		if err := rows.Scan(&id, &email, &extern); err != nil {
			rows.Close()
			return nil, err
		}
		f.ids, f.emails, f.externals = append(f.ids, id), append(f.emails, email), append(f.externals, extern)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	sys := usermgmt.AsSystem(ctx)
	tok, secret, err := b.m.CreateProvisioningToken(sys, bigTenant, "bench")
	if err != nil {
		return nil, fmt.Errorf("provisioning token: %w", err)
	}
	f.secret, f.prov = secret, usermgmt.AsProvisioner(ctx, tok)
	if f.group, err = b.scimGroup(ctx); err != nil {
		return nil, fmt.Errorf("group of %d: %w", scimGroupSize, err)
	}
	// Users after the group's members in id order are not in it.
	if f.outsiders, err = b.userIDs(ctx, "DESC", scimSampleSize); err != nil {
		return nil, err
	}
	f.h = http.StripPrefix("/scim/v2", scim.New(b.m, scim.Options{NoInviteMail: true, RateLimit: scim.RateLimit{Burst: -1}}))
	log.Printf("scim: fixture ready in %s", time.Since(start).Round(time.Millisecond))
	return f, nil
}

// scimGroup returns the group of scimGroupSize members, making it through
// the Manager the first time: created empty, mapped to agent (so that each
// membership change recomputes the member's roles, as in production), then
// filled 1,000 members a change.
func (b *bench) scimGroup(ctx context.Context) (uuid.UUID, error) {
	sys := usermgmt.AsSystem(ctx)
	found, err := b.m.FindGroups(sys, bigTenant, usermgmt.GroupQuery{DisplayName: scimGroupName, Limit: 1})
	if err != nil {
		return uuid.Nil, err
	}
	if len(found.Groups) == 1 && found.Groups[0].Members == scimGroupSize {
		return found.Groups[0].ID, nil
	}
	for _, g := range found.Groups {
		if err := b.m.DeleteGroup(sys, bigTenant, g.ID); err != nil {
			return uuid.Nil, err
		}
	}
	start := time.Now()
	g, err := b.m.CreateGroup(sys, bigTenant, usermgmt.NewGroup{DisplayName: scimGroupName})
	if err != nil {
		return uuid.Nil, err
	}
	if _, err := b.m.SetGroupRoles(sys, bigTenant, g.ID, []usermgmt.Role{usermgmt.RoleAgent}); err != nil {
		return uuid.Nil, err
	}
	members, err := b.userIDs(ctx, "ASC", scimGroupSize)
	if err != nil {
		return uuid.Nil, err
	}
	for len(members) > 0 {
		n := min(1000, len(members))
		if _, err := b.m.UpdateGroup(sys, bigTenant, g.ID, usermgmt.GroupChange{Add: members[:n]}); err != nil {
			return uuid.Nil, err
		}
		members = members[n:]
	}
	// As the seed does for its tables: plans of the member changes read
	// the group's size (autovacuum may be off, or not yet there).
	if _, err := b.sqldb.ExecContext(ctx, `ANALYZE "`+b.schema+`".group_members`); err != nil {
		return uuid.Nil, err
	}
	log.Printf("scim: group of %d members made in %s", scimGroupSize, time.Since(start).Round(time.Second))
	return g.ID, nil
}

// do serves one SCIM request and checks its status.
func (f *scimFixture) do(method, target, body string, want int) error {
	req := httptest.NewRequest(method, "http://bench.example/scim/v2"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, target, rec.Code, want, rec.Body.String())
	}
	return nil
}

func (f *scimFixture) lookup(attr, value string) error {
	return f.do("GET", "/Users?filter="+url.QueryEscape(attr+` eq "`+value+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
}

const patchOp = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[%s]}`

// userIDs returns the first n ids of the big tenant in id order (order
// "ASC" or "DESC").
func (b *bench) userIDs(ctx context.Context, order string, n int) ([]uuid.UUID, error) {
	rows, err := b.sqldb.QueryContext(ctx, `SELECT id FROM "`+b.schema+`".users WHERE tenant_id = $1
		ORDER BY id `+order+` LIMIT $2`, bigTenant, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// scimOps are the SCIM section's operations; fixture builds what they act
// on, once, when the first of them runs.
func (b *bench) scimOps(ctx context.Context) []operation {
	var f *scimFixture
	fixture := func(int) (err error) {
		if f == nil {
			f, err = b.scimFixture(ctx)
		}
		return err
	}
	ms := time.Millisecond
	findBy := func(attr usermgmt.UserAttr, values func() []string) func(int) error {
		return func(i int) error {
			vs := values()
			r, err := b.m.FindUsers(f.prov, bigTenant, usermgmt.UserQuery{Limit: 100,
				Filter: &usermgmt.UserFilter{Op: usermgmt.FilterEq, Attr: attr, Value: vs[i%len(vs)]}})
			if err == nil && r.Total != 1 {
				err = fmt.Errorf("%s eq %q: %d users", attr, vs[i%len(vs)], r.Total)
			}
			return err
		}
	}
	return []operation{
		{name: "FindUsers email eq (Manager, as a provisioning token)", t50: ms, t99: 3 * ms, setup: fixture,
			fn: findBy(usermgmt.UserAttrEmail, func() []string { return f.emails })},
		{name: "FindUsers externalId eq (Manager, as a provisioning token)", t50: ms, t99: 3 * ms, setup: fixture,
			fn: findBy(usermgmt.UserAttrExternalID, func() []string { return f.externals })},
		{name: "FindUsers without a filter, first 100 (an import's page; total from the badge counts)", t50: 3 * ms, t99: 10 * ms,
			setup: fixture,
			fn: func(int) error {
				_, err := b.m.FindUsers(f.prov, bigTenant, usermgmt.UserQuery{Limit: 100})
				return err
			}},
		{name: "UpdateProvisionedUser, givenName replaced (SCIM PATCH's write)", t50: 3 * ms, t99: 10 * ms, setup: fixture,
			fn: func(i int) error {
				u, err := b.m.GetUser(f.prov, bigTenant, f.ids[i%len(f.ids)])
				if err != nil {
					return err
				}
				p := u.Profile
				p.GivenName = fmt.Sprintf("Given %d", i)
				_, err = b.m.UpdateProvisionedUser(f.prov, bigTenant, u.ID, usermgmt.ProvisionUpdate{Profile: p,
					Active: u.Status != usermgmt.StatusDeactivated, IfVersion: u.Version})
				return err
			},
			note: "GetUser then UpdateProvisionedUser with its IfVersion, as a SCIM PATCH does: the change and its user.updated event in one transaction"},
		{name: `SCIM GET /Users?filter=userName eq "…"&startIndex=1&count=100`, setup: fixture,
			fn:   func(i int) error { return f.lookup("userName", f.emails[i%len(f.emails)]) },
			note: "in process through scim.New's handler: token lookup (UseProvisioningToken), FindUsers, JSON"},
		{name: `SCIM GET /Users?filter=externalId eq "…"`, setup: fixture,
			fn: func(i int) error { return f.lookup("externalId", f.externals[i%len(f.externals)]) }},
		{name: "SCIM PATCH /Users/{id} replace name.givenName", setup: fixture,
			fn: func(i int) error {
				body := fmt.Sprintf(patchOp, fmt.Sprintf(`{"op":"replace","path":"name.givenName","value":"Given %d"}`, i))
				return f.do("PATCH", "/Users/"+f.ids[i%len(f.ids)].String(), body, http.StatusOK)
			},
			note: "reads the user, applies the operation, writes it with its user.updated event in one transaction"},
		{name: fmt.Sprintf("SCIM PATCH /Groups/{id}, one member added or removed (group of %d)", scimGroupSize),
			t50: 5 * ms, t99: 20 * ms, setup: fixture,
			fn: func(i int) error {
				// Even calls add an outsider, odd calls remove it again.
				id := f.outsiders[(i/2)%len(f.outsiders)].String()
				op := `{"op":"add","path":"members","value":[{"value":"` + id + `"}]}`
				if i%2 == 1 {
					op = `{"op":"remove","path":"members[value eq \"` + id + `\"]"}`
				}
				return f.do("PATCH", "/Groups/"+f.group.String(), fmt.Sprintf(patchOp, op), http.StatusNoContent)
			},
			note: "the group maps to agent: each change recomputes the member's roles and logs group.joined or group.left"},
		{name: "SCIM GET /Users?startIndex=1&count=100 (no filter: an import's first page)", n: min(b.n, 200),
			setup: fixture,
			fn:    func(int) error { return f.do("GET", "/Users?startIndex=1&count=100", "", http.StatusOK) }},
	}
}
