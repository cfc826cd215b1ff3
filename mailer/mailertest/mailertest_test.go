package mailertest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
)

func TestCapturesAndExtractsToken(t *testing.T) {
	m := mailertest.New()
	ctx := context.Background()
	if _, ok := m.Last(); ok {
		t.Fatal("Last on empty mailer reported a message")
	}
	_ = m.Send(ctx, usermgmt.Message{To: "a@example.com", Link: "https://x/invitations/accept?token=one"})
	_ = m.Send(ctx, usermgmt.Message{To: "b@example.com", Link: "https://x/invitations/accept?token=two"})
	_ = m.Send(ctx, usermgmt.Message{To: "a@example.com", Subject: "notice"})
	if got := m.Token("A@example.com"); got != "one" {
		t.Fatalf("Token = %q, want one", got)
	}
	if got := m.Token("nobody@example.com"); got != "" {
		t.Fatalf("Token for unknown = %q", got)
	}
	if last, _ := m.Last(); last.Subject != "notice" {
		t.Fatalf("Last = %+v", last)
	}
	if n := len(m.Messages()); n != 3 {
		t.Fatalf("Messages = %d", n)
	}
}

func TestFailNextFailsOnce(t *testing.T) {
	m := mailertest.New()
	boom := errors.New("boom")
	m.FailNext(boom)
	if err := m.Send(context.Background(), usermgmt.Message{To: "a@example.com"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := m.Send(context.Background(), usermgmt.Message{To: "a@example.com"}); err != nil {
		t.Fatalf("second send: %v", err)
	}
	if n := len(m.Messages()); n != 1 {
		t.Fatalf("Messages = %d", n)
	}
}

func TestConcurrentSend(t *testing.T) {
	m := mailertest.New()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _ = m.Send(context.Background(), usermgmt.Message{To: "a@example.com"}); _ = m.Messages() })
	}
	wg.Wait()
	if n := len(m.Messages()); n != 50 {
		t.Fatalf("Messages = %d", n)
	}
}
