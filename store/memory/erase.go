package memory

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// EraseUser removes what belongs to the user through the same writes
// as the other operations (so the undo log restores it all), then stores
// the user erased under the placeholder address and pseudonymises the
// events about the user and, in the tenant, those the user acted in.
func (t *tx) EraseUser(ctx context.Context, tenantID string, userID uuid.UUID, now time.Time) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(tenantID); err != nil {
		return err
	}
	s := t.s
	u := s.lookup(tenantID, userID)
	if u == nil {
		return notFound("user")
	}
	if _, err := t.RevokeUserExcept(ctx, tenantID, userID, uuid.Nil); err != nil {
		return err
	}
	if _, err := t.CancelMail(ctx, tenantID, userID, ""); err != nil {
		return err
	}
	t.eraseWebhooks(tenantID, userID)
	if o := s.owners[userID]; o != nil {
		var gone []*usermgmt.TokenRecord
		for _, h := range o.tokens {
			if r := s.tokens[h]; r.TenantID == tenantID {
				gone = append(gone, r)
			}
		}
		t.removeTokens(gone)
	}
	if err := t.ClearAttempts(ctx, tenantID, u.Email); err != nil {
		return err
	}
	for _, gid := range slices.Collect(maps.Keys(s.groupsOf().memberOf[userID])) {
		if s.lookupGroup(tenantID, gid) == nil {
			continue
		}
		if _, err := t.RemoveMembers(ctx, tenantID, gid, []uuid.UUID{userID}, now); err != nil {
			return err
		}
	}
	t.eraseRecord(u, now)
	t.pseudonymise(tenantID, userID)
	return nil
}

// eraseRecord stores u erased, moving it to its placeholder address in
// the tenant's indexes, and logs the inverse.
func (t *tx) eraseRecord(u *usermgmt.UserRecord, now time.Time) {
	tn := t.s.tenants[u.TenantID]
	next := usermgmt.UserRecord{User: cloneUser(u.User)}
	next.Email = usermgmt.ErasedEmail(u.ID)
	next.Status = usermgmt.StatusDeactivated
	next.Profile = usermgmt.Profile{}
	next.Roles, next.DirectRoles, next.MFAEnabled = nil, nil, false
	next.InviteExpiresAt, next.UpdatedAt, next.Version = nil, now, u.Version+1
	if next.DeprovisionedAt == nil {
		next.DeprovisionedAt = &now
	}
	old := u.Email
	move := func(from, to string) {
		tn.all.remove(from)
		delete(tn.byEmail, from)
		tn.byEmail[to] = u
		tn.all.insert(entry{to, u})
	}
	t.replace(tn, u, next)
	move(old, next.Email)
	t.onUndo(func() { move(next.Email, old) })
}

// pseudonymise clears the IP and User-Agent of the events about userID
// (and their Detail, unless usermgmt.ErasureKeepsDetail) and of the
// tenant's events userID acted in. Events are replaced, never changed in
// place, so the undo log keeps the old ones.
func (t *tx) pseudonymise(tenantID string, userID uuid.UUID) {
	s := t.s
	for k, log := range s.events {
		if k.tenantID != tenantID {
			continue
		}
		var next []usermgmt.Event
		for i, e := range log {
			if e.UserID != userID && e.ActorID != userID {
				continue
			}
			if next == nil {
				next = slices.Clone(log)
			}
			next[i].IP, next[i].UserAgent = "", ""
			if e.UserID == userID && !usermgmt.ErasureKeepsDetail(e.Type) {
				next[i].Detail = ""
			}
		}
		if next != nil {
			s.events[k] = next
			t.onUndo(func() { s.events[k] = log })
		}
	}
}
