package memory

import (
	"context"

	"github.com/usermgmt/usermgmt"
)

func (t *tx) CreateDevice(_ context.Context, in *usermgmt.DeviceRecord) error {
	if err := t.write(); err != nil {
		return err
	}
	if err := checkText(in.TenantID); err != nil {
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
