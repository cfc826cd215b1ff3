//go:build !scimbench

package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// The provisioning section measures, in the big tenant, the Manager calls
// behind SCIM's requests: the lookups an identity provider makes before
// each create (userName eq, externalId eq), an import's page, and the
// write of a PATCH.
const scimSampleSize = 1000

// scimFixture is what the provisioning measurements act on: a
// provisioning token and a spread sample of the big tenant's users, each
// with an external id. Building it is idempotent on a seeded schema: the
// external ids are kept for the next run; each run makes a token of its
// own.
type scimFixture struct {
	prov      context.Context // the token as the Manager's actor
	emails    []string        // a spread sample of the big tenant
	externals []string        // their external ids
	ids       []uuid.UUID     // their ids
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
	tok, _, err := b.m.CreateProvisioningToken(sys, bigTenant, "bench")
	if err != nil {
		return nil, fmt.Errorf("provisioning token: %w", err)
	}
	f.prov = usermgmt.AsProvisioner(ctx, tok)
	log.Printf("scim: fixture ready in %s", time.Since(start).Round(time.Millisecond))
	return f, nil
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
	}
}
