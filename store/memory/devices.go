package memory

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateDevice(_ context.Context, in *usermgmt.DeviceRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID, in.IP, in.UserAgent); err != nil {
		return err
	}
	s := t.s
	if _, ok := s.devices[in.Hash]; ok {
		return conflict("device exists")
	}
	d := new(usermgmt.DeviceRecord)
	*d = *in
	s.addDevice(d)
	t.onUndo(func() { s.deleteDevice(d) })
	return nil
}

func (t *tx) GetDevice(_ context.Context, hash usermgmt.TokenHash) (usermgmt.DeviceRecord, error) {
	if err := t.read(); err != nil {
		return usermgmt.DeviceRecord{}, err
	}
	d := t.s.devices[hash]
	if d == nil {
		return usermgmt.DeviceRecord{}, notFound("device")
	}
	return *d, nil
}

func (t *tx) ListDevices(_ context.Context, tenantID string, userID uuid.UUID) ([]usermgmt.DeviceRecord, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	if err := checkText(tenantID); err != nil {
		return nil, err
	}
	out := []usermgmt.DeviceRecord{}
	if o := t.s.owners[userID]; o != nil {
		for _, h := range o.devices {
			if d := t.s.devices[h]; d.TenantID == tenantID {
				out = append(out, *d)
			}
		}
	}
	slices.SortFunc(out, func(a, b usermgmt.DeviceRecord) int { return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out, nil
}

func (t *tx) DeleteDevice(_ context.Context, tenantID string, userID, id uuid.UUID) (usermgmt.DeviceRecord, error) {
	if err := t.write(); err != nil {
		return usermgmt.DeviceRecord{}, err
	}
	if err := checkText(tenantID); err != nil {
		return usermgmt.DeviceRecord{}, err
	}
	if o := t.s.owners[userID]; o != nil {
		for _, h := range o.devices {
			if d := t.s.devices[h]; d.TenantID == tenantID && d.ID == id {
				t.removeDevice(d)
				return *d, nil
			}
		}
	}
	return usermgmt.DeviceRecord{}, notFound("device")
}

func (t *tx) removeDevice(d *usermgmt.DeviceRecord) {
	t.s.deleteDevice(d)
	t.onUndo(func() { t.s.addDevice(d) })
}

func (s *Store) addDevice(d *usermgmt.DeviceRecord) {
	s.devices[d.Hash] = d
	o := s.owner(d.UserID)
	o.devices = append(o.devices, d.Hash)
}

func (s *Store) deleteDevice(d *usermgmt.DeviceRecord) {
	delete(s.devices, d.Hash)
	o := s.owners[d.UserID]
	o.devices = without(o.devices, d.Hash)
	s.dropOwner(d.UserID)
}
