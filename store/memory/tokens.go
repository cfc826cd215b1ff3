package memory

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func cloneToken(r *usermgmt.TokenRecord) usermgmt.TokenRecord {
	c := *r
	c.Data = slices.Clone(r.Data)
	return c
}

func (t *tx) CreateToken(_ context.Context, in *usermgmt.TokenRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID, string(in.Purpose)); err != nil {
		return err
	}
	s := t.s
	if _, ok := s.tokens[in.Hash]; ok {
		return conflict("token exists")
	}
	r := new(usermgmt.TokenRecord)
	*r = cloneToken(in)
	s.addToken(r)
	t.onUndo(func() { s.removeToken(r) })
	return nil
}

func (s *Store) addToken(r *usermgmt.TokenRecord) {
	s.tokens[r.Hash] = r
	o := s.owner(r.UserID)
	o.tokens = append(o.tokens, r.Hash)
}

func (s *Store) removeToken(r *usermgmt.TokenRecord) {
	delete(s.tokens, r.Hash)
	o := s.owners[r.UserID]
	o.tokens = without(o.tokens, r.Hash)
	s.dropOwner(r.UserID)
}

func (t *tx) ConsumeToken(_ context.Context, purpose usermgmt.TokenPurpose, hash usermgmt.TokenHash) (usermgmt.TokenRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.TokenRecord{}, err
	}
	if err := checkText(string(purpose)); err != nil {
		return usermgmt.TokenRecord{}, err
	}
	s := t.s
	r := s.tokens[hash]
	if r == nil || r.Purpose != purpose || r.Spent {
		return usermgmt.TokenRecord{}, notFound("token")
	}
	if purpose.KeepsSpent() {
		// Kept until it expires, for PeekToken; DeleteExpired removes it.
		r.Spent = true
		t.onUndo(func() { r.Spent = false })
		c := cloneToken(r)
		c.Spent = false
		return c, nil
	}
	s.removeToken(r)
	t.onUndo(func() { s.addToken(r) })
	return cloneToken(r), nil
}

func (t *tx) PeekToken(_ context.Context, purpose usermgmt.TokenPurpose, hash usermgmt.TokenHash) (usermgmt.TokenRecord, error) {
	if err := checkText(string(purpose)); err != nil {
		return usermgmt.TokenRecord{}, err
	}
	r := t.s.tokens[hash]
	if r == nil || r.Purpose != purpose {
		return usermgmt.TokenRecord{}, notFound("token")
	}
	return cloneToken(r), nil
}

func (t *tx) DeleteTokens(_ context.Context, tenantID string, userID uuid.UUID, purpose usermgmt.TokenPurpose) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(tenantID, string(purpose)); err != nil {
		return err
	}
	s := t.s
	o := s.owners[userID]
	if o == nil {
		return nil
	}
	var gone []*usermgmt.TokenRecord
	for _, h := range o.tokens {
		if r := s.tokens[h]; r.TenantID == tenantID && r.Purpose == purpose && !r.Spent {
			gone = append(gone, r)
		}
	}
	t.removeTokens(gone)
	return nil
}

// removeTokens deletes rs and logs their return.
func (t *tx) removeTokens(rs []*usermgmt.TokenRecord) {
	for _, r := range rs {
		t.s.removeToken(r)
	}
	if len(rs) > 0 {
		t.onUndo(func() {
			for _, r := range rs {
				t.s.addToken(r)
			}
		})
	}
}
