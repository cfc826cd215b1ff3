package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// tenant holds the indexes of one tenant's users.
type tenant struct {
	byEmail     map[string]*usermgmt.UserRecord
	all         emailIndex
	byStatus    [3]emailIndex // invited, active, deactivated
	counts      usermgmt.StatusCounts
	activeRoles map[usermgmt.Role]int // active users holding each role
	byRole      map[usermgmt.Role]*emailIndex
}

func (s *Store) tenant(id string) *tenant {
	tn := s.tenants[id]
	if tn == nil {
		tn = &tenant{
			byEmail:     make(map[string]*usermgmt.UserRecord),
			activeRoles: make(map[usermgmt.Role]int),
			byRole:      make(map[usermgmt.Role]*emailIndex),
		}
		s.tenants[id] = tn
	}
	return tn
}

func (tn *tenant) statusIndex(st usermgmt.Status) *emailIndex {
	switch st {
	case usermgmt.StatusInvited:
		return &tn.byStatus[0]
	case usermgmt.StatusActive:
		return &tn.byStatus[1]
	case usermgmt.StatusDeactivated:
		return &tn.byStatus[2]
	}
	return nil
}

// account adds (n=1) or removes (n=-1) u's share of the tenant's status
// counts, status index and per-role active counts.
func (tn *tenant) account(u *usermgmt.UserRecord, n int) {
	tn.counts.Add(u.Status, n)
	if x := tn.statusIndex(u.Status); x != nil {
		if n > 0 {
			x.insert(entry{u.Email, u})
		} else {
			x.remove(u.Email)
		}
	}
	for i, r := range u.Roles {
		if slices.Contains(u.Roles[:i], r) {
			continue
		}
		x := tn.byRole[r]
		if x == nil {
			x = &emailIndex{}
			tn.byRole[r] = x
		}
		if n > 0 {
			x.insert(entry{u.Email, u})
		} else if x.remove(u.Email); len(x.chunks) == 0 {
			delete(tn.byRole, r)
		}
	}
	if u.Status == usermgmt.StatusActive {
		for i, r := range u.Roles {
			if !slices.Contains(u.Roles[:i], r) { // a role listed twice counts once
				tn.activeRoles[r] += n
				if tn.activeRoles[r] == 0 {
					delete(tn.activeRoles, r)
				}
			}
		}
	}
}

// cloneUser returns u with its own copies of everything a caller could
// modify through it.
func cloneUser(u usermgmt.User) usermgmt.User {
	u.Roles = slices.Clone(u.Roles)
	u.DirectRoles = slices.Clone(u.DirectRoles)
	u.GroupRoles = slices.Clone(u.GroupRoles)
	u.DeprovisionedAt = cloneTime(u.DeprovisionedAt)
	u.LastLoginAt = cloneTime(u.LastLoginAt)
	u.ActivatedAt = cloneTime(u.ActivatedAt)
	u.InviteExpiresAt = cloneTime(u.InviteExpiresAt)
	u.LockedUntil = cloneTime(u.LockedUntil)
	return u
}

// stored is in as the store keeps it: what is read with the user from
// elsewhere (the sign-in key's lock) or filled by the Manager is not kept.
func stored(in *usermgmt.UserRecord) usermgmt.UserRecord {
	c := cloneRecord(in)
	c.LockedUntil, c.Actions, c.GroupRoles = nil, usermgmt.Actions{}, nil
	return c
}

// lockedUntil is the lock of the user's sign-in key, as GetUser reads it.
func (s *Store) lockedUntil(tenantID, email string) *time.Time {
	a, ok := s.attempts[attemptKey{tenantID, email}]
	if !ok || a.LockedUntil.IsZero() {
		return nil
	}
	t := a.LockedUntil
	return &t
}

// read is a stored user as GetUser returns it.
func (s *Store) read(u *usermgmt.UserRecord) usermgmt.UserRecord {
	c := cloneRecord(u)
	c.LockedUntil = s.lockedUntil(u.TenantID, u.Email)
	return c
}

func cloneRecord(u *usermgmt.UserRecord) usermgmt.UserRecord {
	c := *u
	c.User = cloneUser(u.User)
	c.MFASecret = slices.Clone(u.MFASecret)
	c.RecoveryCodes = slices.Clone(u.RecoveryCodes)
	return c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// lookup returns the stored user of tenantID, or nil.
func (s *Store) lookup(tenantID string, id uuid.UUID) *usermgmt.UserRecord {
	u := s.users[id]
	if u == nil || u.TenantID != tenantID {
		return nil
	}
	return u
}

func (t *tx) CreateUser(_ context.Context, in *usermgmt.UserRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkUser(in); err != nil {
		return err
	}
	s := t.s
	if _, ok := s.users[in.ID]; ok {
		return conflict("a user with id %s already exists", in.ID)
	}
	tn := s.tenant(in.TenantID)
	if _, ok := tn.byEmail[in.Email]; ok {
		return conflict("a user with email %q already exists", in.Email)
	}
	u := new(usermgmt.UserRecord)
	*u = stored(in)
	u.Version, in.Version = 1, 1
	s.users[u.ID] = u
	tn.byEmail[u.Email] = u
	tn.all.insert(entry{u.Email, u})
	tn.account(u, 1)
	t.onUndo(func() {
		tn.account(u, -1)
		tn.all.remove(u.Email)
		delete(tn.byEmail, u.Email)
		delete(s.users, u.ID)
		if len(tn.byEmail) == 0 {
			delete(s.tenants, u.TenantID)
		}
	})
	return nil
}

func (t *tx) GetUser(_ context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.UserRecord{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.UserRecord{}, err
	}
	u := t.s.lookup(tenantID, id)
	if u == nil {
		return usermgmt.UserRecord{}, notFound("user")
	}
	return t.s.read(u), nil
}

// LockUser is GetUser: the transaction already holds the store's write
// lock. A read-only transaction refuses it, as a database would.
func (t *tx) LockUser(ctx context.Context, tenantID string, id uuid.UUID) (usermgmt.UserRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.UserRecord{}, err
	}
	return t.GetUser(ctx, tenantID, id)
}

func (t *tx) GetUserByEmail(_ context.Context, tenantID, email string) (usermgmt.UserRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.UserRecord{}, err
	}
	if err := checkText(tenantID, email); err != nil {
		return usermgmt.UserRecord{}, err
	}
	tn := t.s.tenants[tenantID]
	if tn == nil || tn.byEmail[email] == nil {
		return usermgmt.UserRecord{}, notFound("user")
	}
	return t.s.read(tn.byEmail[email]), nil
}

func (t *tx) UpdateUser(_ context.Context, in *usermgmt.UserRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkUser(in); err != nil {
		return err
	}
	u := t.s.lookup(in.TenantID, in.ID)
	if u == nil {
		return notFound("user")
	}
	tn := t.s.tenants[u.TenantID]
	next := stored(in)
	next.ID, next.TenantID, next.Email, next.CreatedAt = u.ID, u.TenantID, u.Email, u.CreatedAt
	next.Version = u.Version + 1
	t.replace(tn, u, next)
	in.Version = next.Version
	return nil
}

// replace sets *u to next, keeping the tenant's indexes and counts right,
// and logs the inverse. Stored slices are never modified in place, only
// replaced, so the old value is a faithful snapshot.
func (t *tx) replace(tn *tenant, u *usermgmt.UserRecord, next usermgmt.UserRecord) {
	old := *u
	set := func(v usermgmt.UserRecord) {
		tn.account(u, -1)
		*u = v
		tn.account(u, 1)
	}
	set(next)
	t.onUndo(func() { set(old) })
}

func (t *tx) AdvanceMFAStep(_ context.Context, tenantID string, id uuid.UUID, step int64) (bool, error) {
	if err := t.write(); err != nil {
		return false, err
	}
	if err := checkText(tenantID); err != nil {
		return false, err
	}
	u := t.s.lookup(tenantID, id)
	if u == nil {
		return false, notFound("user")
	}
	if u.MFALastStep >= step {
		return false, nil
	}
	old := u.MFALastStep
	u.MFALastStep = step
	t.onUndo(func() { u.MFALastStep = old })
	return true, nil
}

func (t *tx) ListUsers(_ context.Context, p usermgmt.UserListParams) ([]usermgmt.User, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return []usermgmt.User{}, nil
	}
	if err := checkText(p.TenantID, string(p.Status), string(p.Role), p.Search, p.After); err != nil {
		return nil, err
	}
	tn := t.s.tenants[p.TenantID]
	if tn == nil {
		return []usermgmt.User{}, nil
	}
	x := &tn.all
	switch {
	case p.Role != "":
		// A role's own index: its holders in email order, whatever their
		// number.
		if x = tn.byRole[p.Role]; x == nil {
			return []usermgmt.User{}, nil
		}
	case p.Status != "":
		if x = tn.statusIndex(p.Status); x == nil {
			return []usermgmt.User{}, nil
		}
	}
	var rows []*usermgmt.UserRecord
	x.after(p.After, func(e entry) bool {
		if (p.Search == "" || strings.Contains(e.email, p.Search)) && (p.Status == "" || e.u.Status == p.Status) {
			rows = append(rows, e.u)
		}
		return len(rows) < p.Limit
	})
	return t.s.cloneUsers(rows), nil
}

// cloneUsers copies rows into Users that share nothing with the store,
// with one allocation each for the users, their roles and their times
// rather than several per user: a page is on the hot path.
//
// Each user's LockedUntil comes from the sign-in key's record, as GetUser
// reads it.
func (s *Store) cloneUsers(rows []*usermgmt.UserRecord) []usermgmt.User {
	nRoles, nTimes := 0, 0
	for _, u := range rows {
		nRoles += len(u.Roles)
		if u.LastLoginAt != nil {
			nTimes++
		}
		if u.ActivatedAt != nil {
			nTimes++
		}
		if u.InviteExpiresAt != nil {
			nTimes++
		}
	}
	nTimes += min(len(rows), len(s.attempts)) // room for the locks; an append past it still works
	out := make([]usermgmt.User, len(rows))
	roles := make([]usermgmt.Role, 0, nRoles)
	times := make([]time.Time, 0, nTimes)
	timeOf := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		times = append(times, *t)
		return &times[len(times)-1]
	}
	for i, u := range rows {
		out[i] = u.User
		if u.Roles != nil {
			start := len(roles)
			roles = append(roles, u.Roles...)
			out[i].Roles = roles[start:len(roles):len(roles)] // full: an append copies
		}
		out[i].LastLoginAt = timeOf(u.LastLoginAt)
		out[i].ActivatedAt = timeOf(u.ActivatedAt)
		out[i].InviteExpiresAt = timeOf(u.InviteExpiresAt)
		out[i].GroupRoles = s.groupRoles(u.TenantID, u.ID)
		if len(s.attempts) > 0 {
			if a, ok := s.attempts[attemptKey{u.TenantID, u.Email}]; ok && !a.LockedUntil.IsZero() {
				out[i].LockedUntil = timeOf(&a.LockedUntil)
			}
		}
	}
	return out
}

func (t *tx) CountUsers(_ context.Context, tenantID string) (usermgmt.StatusCounts, error) {
	if err := t.read(); err != nil {
		return usermgmt.StatusCounts{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.StatusCounts{}, err
	}
	if tn := t.s.tenants[tenantID]; tn != nil {
		return tn.counts, nil
	}
	return usermgmt.StatusCounts{}, nil
}

// CountActiveWithRole needs no tenant lock of its own: a writing
// transaction already excludes every other transaction.
func (t *tx) CountActiveWithRole(_ context.Context, tenantID string, role usermgmt.Role) (int, error) {
	if err := t.read(); err != nil {
		return 0, err
	}
	if err := checkText(tenantID, string(role)); err != nil {
		return 0, err
	}
	if tn := t.s.tenants[tenantID]; tn != nil {
		return tn.activeRoles[role], nil
	}
	return 0, nil
}

// CreateUsers checks every user first, so that the inserts that follow
// cannot fail halfway: all or none.
func (t *tx) CreateUsers(ctx context.Context, us []usermgmt.UserRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	ids := make(map[uuid.UUID]bool, len(us))
	emails := make(map[[2]string]bool, len(us))
	for i := range us {
		u := &us[i]
		if err := checkUser(u); err != nil {
			return err
		}
		key := [2]string{u.TenantID, u.Email}
		if _, ok := t.s.users[u.ID]; ok || ids[u.ID] {
			return conflict("a user with id %s already exists", u.ID)
		}
		if tn := t.s.tenants[u.TenantID]; emails[key] || (tn != nil && tn.byEmail[u.Email] != nil) {
			return conflict("a user with email %q already exists", u.Email)
		}
		ids[u.ID], emails[key] = true, true
	}
	for i := range us {
		if err := t.CreateUser(ctx, &us[i]); err != nil {
			return err // checked above: cannot happen
		}
	}
	return nil
}

func (t *tx) GetUsersByEmail(_ context.Context, tenantID string, emails []string) ([]usermgmt.UserRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(append([]string{tenantID}, emails...)...); err != nil {
		return nil, err
	}
	tn := t.s.tenants[tenantID]
	if tn == nil {
		return nil, nil
	}
	var out []usermgmt.UserRecord
	seen := make(map[string]bool, len(emails))
	for _, e := range emails {
		if u := tn.byEmail[e]; u != nil && !seen[e] {
			seen[e] = true
			out = append(out, t.s.read(u))
		}
	}
	return out, nil
}
