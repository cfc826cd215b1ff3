package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/smtp"
	"github.com/usermgmt/usermgmt/store/memory"
)

func TestNewValidatesOptions(t *testing.T) {
	good := smtp.Options{Addr: "smtp.example.com:587", From: "Acme <no-reply@acme.example>"}
	for name, change := range map[string]func(*smtp.Options){
		"AddrMissing":             func(o *smtp.Options) { o.Addr = "" },
		"AddrWithoutPort":         func(o *smtp.Options) { o.Addr = "smtp.example.com" },
		"AddrWithoutHost":         func(o *smtp.Options) { o.Addr = ":587" },
		"PortNotANumber":          func(o *smtp.Options) { o.Addr = "smtp.example.com:smtp" },
		"PortOutOfRange":          func(o *smtp.Options) { o.Addr = "smtp.example.com:70000" },
		"FromMissing":             func(o *smtp.Options) { o.From = "" },
		"FromNotAnAddress":        func(o *smtp.Options) { o.From = "no-reply" },
		"FromWithLineBreak":       func(o *smtp.Options) { o.From = "a@acme.example\r\nBcc: x@evil.example" },
		"PasswordWithoutUsername": func(o *smtp.Options) { o.Password = "secret" },
		"UsernameWithLineBreak":   func(o *smtp.Options) { o.Username = "a\r\nb"; o.Password = "p" },
		"NoTLSForARemoteHost":     func(o *smtp.Options) { o.TLS = smtp.NoTLS },
		"NoTLSForAPrivateAddress": func(o *smtp.Options) { o.TLS = smtp.NoTLS; o.Addr = "10.0.0.5:25" },
		"UnknownTLSMode":          func(o *smtp.Options) { o.TLS = smtp.TLSMode(9) },
		"NegativeTimeout":         func(o *smtp.Options) { o.Timeout = -time.Second },
		"HelloWithASpace":         func(o *smtp.Options) { o.Hello = "mail host" },
		"HelloWithALineBreak":     func(o *smtp.Options) { o.Hello = "mail\r\nRCPT TO:<x@evil.example>" },
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			change(&o)
			m, err := smtp.New(o)
			if err == nil || m != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", o, m, err)
			}
		})
	}
	for name, o := range map[string]smtp.Options{
		"Defaults":          good,
		"ImplicitTLS":       {Addr: "smtp.example.com:465", From: "a@acme.example", TLS: smtp.ImplicitTLS},
		"NoTLSOnLocalhost":  {Addr: "localhost:1025", From: "a@acme.example", TLS: smtp.NoTLS},
		"NoTLSOnLoopback":   {Addr: "127.0.0.1:1025", From: "a@acme.example", TLS: smtp.NoTLS},
		"NoTLSOnLoopbackV6": {Addr: "[::1]:1025", From: "a@acme.example", TLS: smtp.NoTLS},
		"Credentials":       {Addr: "smtp.example.com:587", From: "a@acme.example", Username: "apikey", Password: "p"},
		"HelloLiteral":      {Addr: "smtp.example.com:587", From: "a@acme.example", Hello: "[192.0.2.1]"},
	} {
		t.Run("Accepts"+name, func(t *testing.T) {
			if _, err := smtp.New(o); err != nil {
				t.Fatalf("New(%+v): %v", o, err)
			}
		})
	}
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	m := mustMailer(t, smtp.Options{Addr: closedAddr(t), TLS: smtp.NoTLS})
	for name, msg := range map[string]usermgmt.Message{
		"CRLFInTo":           {To: "a@acme.example\r\nBcc: x@evil.example", Subject: "Hi", Text: "x"},
		"LFInTo":             {To: "a@acme.example\nBcc: x@evil.example", Subject: "Hi", Text: "x"},
		"CRLFInSubject":      {To: "a@acme.example", Subject: "Hi\r\nBcc: x@evil.example", Text: "x"},
		"LFInSubject":        {To: "a@acme.example", Subject: "Hi\nBcc: x@evil.example", Text: "x"},
		"CRInSubject":        {To: "a@acme.example", Subject: "Hi\rBcc: x@evil.example", Text: "x"},
		"NULInSubject":       {To: "a@acme.example", Subject: "Hi\x00", Text: "x"},
		"TwoRecipients":      {To: "a@acme.example, x@evil.example", Subject: "Hi", Text: "x"},
		"ToNotAnAddress":     {To: "nobody", Subject: "Hi", Text: "x"},
		"SubjectInvalidUTF8": {To: "a@acme.example", Subject: "Hi \xff", Text: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			// The Mailer points at a closed port: ErrInvalidMessage (and not
			// a connection error) shows it was refused before dialling.
			if err := m.Send(t.Context(), msg); !errors.Is(err, smtp.ErrInvalidMessage) {
				t.Fatalf("Send = %v, want ErrInvalidMessage", err)
			}
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	addr := closedAddr(t)
	m := mustMailer(t, smtp.Options{Addr: addr, TLS: smtp.NoTLS})
	t.Run("SendFails", func(t *testing.T) {
		err := m.Send(t.Context(), usermgmt.Message{To: "a@acme.example", Subject: "Hi", Text: "x"})
		if err == nil || errors.Is(err, smtp.ErrInvalidMessage) {
			t.Fatalf("Send = %v, want a connection error", err)
		}
	})
	t.Run("InviteIsDeliveryFailedWithTheUserCreated", func(t *testing.T) {
		var logs bytes.Buffer
		mgr := mustManager(t, m, slog.New(slog.NewTextHandler(&logs, nil)))
		u, err := mgr.InviteUser(usermgmt.AsSystem(t.Context()), "acme", usermgmt.Invite{Email: "new@acme.example", Roles: []usermgmt.Role{usermgmt.RoleRecruiter}})
		if code := usermgmt.ErrorCode(err); code != usermgmt.CodeDeliveryFailed {
			t.Fatalf("InviteUser = %v (code %s), want delivery_failed", err, code)
		}
		got, err := mgr.GetUser(usermgmt.AsSystem(t.Context()), "acme", u.ID)
		if err != nil || got.Status != usermgmt.StatusInvited || got.Email != "new@acme.example" {
			t.Fatalf("GetUser = %+v, %v; want the invited user", got, err)
		}
		// The Manager logs the mailer's error (it names the server): it
		// must not carry the link.
		if !strings.Contains(logs.String(), "smtp "+addr+": connect") || strings.Contains(logs.String(), "token=") {
			t.Fatalf("log:\n%s", logs.String())
		}
	})
}

func TestContextIsHonoured(t *testing.T) {
	msg := usermgmt.Message{To: "a@acme.example", Subject: "Hi", Text: "x"}
	t.Run("AlreadyCancelled", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: closedAddr(t), TLS: smtp.NoTLS})
		c, cancel := context.WithCancel(t.Context())
		cancel()
		if err := m.Send(c, msg); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("CancelWhileTheServerIsSilent", func(t *testing.T) {
		addr, accepted := silentServer(t)
		m := mustMailer(t, smtp.Options{Addr: addr, TLS: smtp.NoTLS})
		c, cancel := context.WithCancel(t.Context())
		go func() { <-accepted; cancel() }()
		if err := m.Send(c, msg); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
	})
	t.Run("ContextDeadlineBeforeTimeout", func(t *testing.T) {
		addr, _ := silentServer(t)
		m := mustMailer(t, smtp.Options{Addr: addr, TLS: smtp.NoTLS, Timeout: time.Hour})
		c, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := m.Send(c, msg); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("TimeoutBeforeContextDeadline", func(t *testing.T) {
		addr, _ := silentServer(t)
		m := mustMailer(t, smtp.Options{Addr: addr, TLS: smtp.NoTLS, Timeout: 50 * time.Millisecond})
		err := m.Send(t.Context(), msg)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("Send = %v, want a timeout wrapping context.DeadlineExceeded", err)
		}
	})
}

// mustMailer is New with a From and the test's options.
func mustMailer(t *testing.T, o smtp.Options) *smtp.Mailer {
	t.Helper()
	if o.From == "" {
		o.From = "Acme Rota <rota@acme.example>"
	}
	m, err := smtp.New(o)
	if err != nil {
		t.Fatalf("smtp.New: %v", err)
	}
	return m
}

// mustManager builds a Manager on the memory store that mails through m.
func mustManager(t *testing.T, m usermgmt.Mailer, log *slog.Logger) *usermgmt.Manager {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mgr, err := usermgmt.New(memory.New(), usermgmt.Options{
		Mailer:    m,
		SecretKey: bytes.Repeat([]byte{7}, 32),
		Issuer:    "Acme Dienstplan – Zürich",
		Links:     usermgmt.Links{BaseURL: "https://rota.acme.example"},
		Logger:    log,
	})
	if err != nil {
		t.Fatalf("usermgmt.New: %v", err)
	}
	return mgr
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentServer accepts connections and never answers, like a server that
// hangs; accepted receives each connection as it comes.
func silentServer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 16)
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
			accepted <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), accepted
}
