package usermgmt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// downStore is a store whose transactions fail with err.
type downStore struct {
	*memory.Store
	err error
}

func (s downStore) RunInTx(context.Context, usermgmt.TxOptions, func(context.Context, usermgmt.Tx) error) error {
	return s.err
}

// downPinger is a Pinger whose pings fail with err, and whose
// transactions work: Ping must ask the Pinger.
type downPinger struct {
	*memory.Store
	err error
}

func (s downPinger) Ping(context.Context) error { return s.err }

// TestPing: Ping needs no actor and answers nil while the store answers;
// when it does not, through a Pinger or a transaction, Ping is
// unavailable with a RetryAfter, the store's own when it gave one.
func TestPing(t *testing.T) {
	e := mustManager(t)
	if err := e.m.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on the memory store: %v", err)
	}
	refused := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	storeSays := &usermgmt.Error{Code: usermgmt.CodeUnavailable, Message: "failing over", RetryAfter: 2}
	for name, c := range map[string]struct {
		store      usermgmt.Store
		retryAfter int64
	}{
		"TxFails":                 {downStore{memory.New(), refused}, 5},
		"PingerFails":             {downPinger{memory.New(), refused}, 5},
		"StoreSaysWhenToTryAgain": {downPinger{memory.New(), storeSays}, 2},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := usermgmt.New(c.store, usermgmt.Options{Mailer: mailertest.New(), SecretKey: testKey,
				Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			err = m.Ping(context.Background())
			var ue *usermgmt.Error
			if !errors.As(err, &ue) || ue.Code != usermgmt.CodeUnavailable || ue.RetryAfter != c.retryAfter {
				t.Fatalf("Ping = %#v; want unavailable, RetryAfter %d", err, c.retryAfter)
			}
			if !errors.Is(err, refused) && !errors.Is(err, storeSays) {
				t.Errorf("the cause is not kept: %v", err)
			}
		})
	}
}
