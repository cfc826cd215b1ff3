package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/mailpit"
	"github.com/usermgmt/usermgmt/mailer/smtp"
)

// The tests in this file check how the Mailer protects the connection and
// authenticates, against Mailpit with a self-signed certificate.

func TestStartTLSIsRequiredByDefault(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure") // no certificate: no STARTTLS
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP})
	err := m.Send(t.Context(), usermgmt.Message{To: "plain@acme.example", Subject: "Hi", Text: "secret link"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want a refusal naming STARTTLS", err)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Fatalf("%d messages arrived in plain text", n)
	}
}

// Mailpit offers AUTH LOGIN PLAIN; UseAuthMechanism makes the Mailer take
// each in turn, and Mailpit's verbose log says which one it accepted.
func TestAuthPlainAndLogin(t *testing.T) {
	cert, key, trust := selfSigned(t)
	for _, tr := range []struct {
		name  string
		flags []string
		opts  smtp.Options
	}{
		{"OverStartTLS", []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls"},
			smtp.Options{TLSConfig: trust}},
		{"OverLoopbackPlainText", []string{"--smtp-auth-allow-insecure"},
			smtp.Options{TLS: smtp.NoTLS}},
	} {
		t.Run(tr.name, func(t *testing.T) {
			mp := mailpit.Start(t, append(tr.flags, "--smtp-auth-accept-any", "-v")...)
			for _, mech := range []string{"PLAIN", "LOGIN"} {
				t.Run(mech, func(t *testing.T) {
					o := tr.opts
					o.Addr, o.Username, o.Password = mp.SMTP, strings.ToLower(mech)+"-user", "any password"
					m := mustMailer(t, o)
					smtp.UseAuthMechanism(m, mech)
					to := strings.ToLower(mech) + "@acme.example"
					if err := m.Send(t.Context(), usermgmt.Message{To: to, Subject: "AUTH " + mech, Text: "hello"}); err != nil {
						t.Fatalf("Send: %v", err)
					}
					mp.WaitFor(t, to, 1)
					checkAuthenticated(t, mp, mech, o.Username)
				})
			}
		})
	}
}

func TestStartTLSWithCredentials(t *testing.T) {
	cert, key, trust := selfSigned(t)
	users := filepath.Join(t.TempDir(), "smtp-users")
	if err := os.WriteFile(users, []byte("alice:right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := mailpit.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls",
		"--smtp-auth-file", users, "-v")
	msg := usermgmt.Message{To: "tls@acme.example", Subject: "Over TLS", Text: "hello", HTML: "<p>hello</p>"}

	for i, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			t.Run("Delivers", func(t *testing.T) {
				m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "right-password", TLSConfig: trust})
				smtp.UseAuthMechanism(m, mech)
				if err := m.Send(t.Context(), msg); err != nil {
					t.Fatalf("Send: %v", err)
				}
				mp.WaitFor(t, "tls@acme.example", i+1)
				checkAuthenticated(t, mp, mech, "alice")
			})
			t.Run("WrongPasswordIsRefused", func(t *testing.T) {
				m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "wrong-password", TLSConfig: trust})
				smtp.UseAuthMechanism(m, mech)
				err := m.Send(t.Context(), msg)
				if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), "wrong-password") {
					t.Fatalf("Send = %v, want an AUTH error without the password", err)
				}
			})
		})
	}
	t.Run("UntrustedCertificateIsRefused", func(t *testing.T) {
		m := mustMailer(t, smtp.Options{Addr: mp.SMTP, Username: "alice", Password: "right-password"})
		if err := m.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send = %v, want a certificate error", err)
		}
	})
}

// checkAuthenticated reads Mailpit's verbose log for its acceptance of
// user by mech (Mailpit v1.27 records the user of AUTH PLAIN nowhere else:
// neither --tags-username nor the message's Username shows it).
func checkAuthenticated(t *testing.T, mp *mailpit.Server, mech, user string) {
	t.Helper()
	accepted := regexp.MustCompile(`allow ` + mech + ` login:? ?\\?"` + regexp.QuoteMeta(user) + `\\?"`)
	if !accepted.MatchString(mp.Log()) {
		t.Fatalf("Mailpit did not log AUTH %s for %q:\n%s", mech, user, mp.Log())
	}
}

func TestImplicitTLS(t *testing.T) {
	cert, key, trust := selfSigned(t)
	mp := mailpit.Start(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls")
	m := mustMailer(t, smtp.Options{Addr: mp.SMTP, TLS: smtp.ImplicitTLS, TLSConfig: trust})
	if err := m.Send(t.Context(), usermgmt.Message{To: "smtps@acme.example", Subject: "SMTPS", Text: "hello"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := mp.Message(t, mp.WaitFor(t, "smtps@acme.example", 1)[0].ID); strings.TrimSpace(got.Text) != "hello" || got.HTML != "" {
		t.Fatalf("Text = %q, HTML = %q", got.Text, got.HTML)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into a
// temporary directory and returns their paths and a client TLS config that
// trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailpit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
