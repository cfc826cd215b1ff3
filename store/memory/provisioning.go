package memory

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// provisioning holds the provisioning tokens: by hash for
// UseProvisioningToken, and per tenant, oldest first, for the list. Its
// zero value is ready (the maps are made on first use).
type provisioning struct {
	byHash   map[usermgmt.TokenHash]*usermgmt.ProvisioningTokenRecord
	byTenant map[string][]*usermgmt.ProvisioningTokenRecord
}

func (p *provisioning) add(r *usermgmt.ProvisioningTokenRecord) {
	if p.byHash == nil {
		p.byHash = make(map[usermgmt.TokenHash]*usermgmt.ProvisioningTokenRecord)
		p.byTenant = make(map[string][]*usermgmt.ProvisioningTokenRecord)
	}
	p.byHash[r.Hash] = r
	list := p.byTenant[r.TenantID]
	i, _ := slices.BinarySearchFunc(list, r, compareTokens)
	p.byTenant[r.TenantID] = slices.Insert(list, i, r)
}

func (p *provisioning) remove(r *usermgmt.ProvisioningTokenRecord) {
	delete(p.byHash, r.Hash)
	list := slices.DeleteFunc(p.byTenant[r.TenantID], func(x *usermgmt.ProvisioningTokenRecord) bool { return x == r })
	if len(list) == 0 {
		delete(p.byTenant, r.TenantID)
	} else {
		p.byTenant[r.TenantID] = list
	}
}

// compareTokens orders a tenant's tokens oldest first, by CreatedAt then ID.
func compareTokens(a, b *usermgmt.ProvisioningTokenRecord) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return uuidCompare(a.ID, b.ID)
}

// publicToken is r without its hash, sharing nothing with the store.
func publicToken(r *usermgmt.ProvisioningTokenRecord) usermgmt.ProvisioningToken {
	t := r.ProvisioningToken
	t.LastUsedAt = cloneTime(t.LastUsedAt)
	return t
}

func (t *tx) CreateProvisioningToken(_ context.Context, in *usermgmt.ProvisioningTokenRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID, in.Name); err != nil {
		return err
	}
	p := &t.s.prov
	if _, ok := p.byHash[in.Hash]; ok {
		return conflict("provisioning token exists")
	}
	r := new(usermgmt.ProvisioningTokenRecord)
	*r = *in
	r.LastUsedAt = cloneTime(in.LastUsedAt)
	p.add(r)
	t.onUndo(func() { p.remove(r) })
	return nil
}

func (t *tx) ListProvisioningTokens(_ context.Context, tenantID string) ([]usermgmt.ProvisioningToken, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	list := t.s.prov.byTenant[tenantID]
	out := make([]usermgmt.ProvisioningToken, len(list))
	for i, r := range list {
		out[i] = publicToken(r)
	}
	return out, nil
}

func (t *tx) DeleteProvisioningToken(_ context.Context, tenantID string, id uuid.UUID) (usermgmt.ProvisioningToken, error) {
	if err := t.write(); err != nil {
		return usermgmt.ProvisioningToken{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.ProvisioningToken{}, err
	}
	p := &t.s.prov
	i := slices.IndexFunc(p.byTenant[tenantID], func(r *usermgmt.ProvisioningTokenRecord) bool { return r.ID == id })
	if i < 0 {
		return usermgmt.ProvisioningToken{}, notFound("provisioning token")
	}
	r := p.byTenant[tenantID][i]
	p.remove(r)
	t.onUndo(func() { p.add(r) })
	return publicToken(r), nil
}

func (t *tx) UseProvisioningToken(_ context.Context, hash usermgmt.TokenHash, now time.Time, every time.Duration) (usermgmt.ProvisioningToken, error) {
	if err := t.read(); err != nil {
		return usermgmt.ProvisioningToken{}, err
	}
	r := t.s.prov.byHash[hash]
	if r == nil {
		return usermgmt.ProvisioningToken{}, notFound("provisioning token")
	}
	if r.LastUsedAt == nil || r.LastUsedAt.Before(now.Add(-every)) {
		if err := t.write(); err != nil {
			return usermgmt.ProvisioningToken{}, err
		}
		old := r.LastUsedAt
		r.LastUsedAt = &now
		t.onUndo(func() { r.LastUsedAt = old })
	}
	return publicToken(r), nil
}
