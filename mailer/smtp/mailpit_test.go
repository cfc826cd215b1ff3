package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"go/build"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/usermgmt/usermgmt/internal/testlog"
)

// mailpit is a real SMTP server (github.com/axllent/mailpit, a tool, not a
// dependency) started for one test, with its HTTP API for reading back
// what arrived.
type mailpit struct {
	SMTP string // host:port
	API  string // http://host:port
}

// mailpitBinary finds mailpit on PATH or in $GOPATH/bin. Without it the
// test skips, or fails under USERMGMT_REQUIRE_SMTP=1 (set by .ci/run).
func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	const msg = "mailpit not found on PATH or in $GOPATH/bin: install it with `go install github.com/axllent/mailpit@v1.33.1`"
	if os.Getenv("USERMGMT_REQUIRE_SMTP") == "1" {
		t.Fatal(msg + " (USERMGMT_REQUIRE_SMTP=1)")
	}
	t.Skip(msg + " to run the SMTP tests")
	return ""
}

// startMailpit runs mailpit on free loopback ports with extra flags and
// stops it when the test ends.
func startMailpit(t *testing.T, flags ...string) mailpit {
	t.Helper()
	bin := mailpitBinary(t)
	mp := mailpit{SMTP: freeAddr(t), API: "http://" + freeAddr(t)}
	args := append([]string{
		"--smtp", mp.SMTP, "--listen", mp.API[len("http://"):],
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--smtp-disable-rdns", "--quiet",
	}, flags...)
	cmd := exec.Command(bin, args...)
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if res, err := http.Get(mp.API + "/api/v1/info"); err == nil {
			res.Body.Close()
			if c, err := net.Dial("tcp", mp.SMTP); err == nil {
				c.Close()
				if res.StatusCode == http.StatusOK {
					return mp
				}
			}
		}
		select {
		case <-exited:
			t.Fatalf("mailpit %v exited:\n%s", args, out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not answer within 15s:\n%s", out.String())
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (mailpit has no "port 0 and tell me").
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type mailpitAddress struct{ Name, Address string }

type mailpitSummary struct {
	ID      string
	To      []mailpitAddress
	Subject string
}

type mailpitMessage struct {
	ID, MessageID string
	From          mailpitAddress
	To            []mailpitAddress
	Subject       string
	Text, HTML    string
	Tags          []string
}

// messagesTo returns the summaries of the messages to addr, newest first,
// waiting up to 5 s for at least want of them.
func (mp mailpit) messagesTo(t *testing.T, addr string, want int) []mailpitSummary {
	t.Helper()
	var got []mailpitSummary
	for deadline := time.Now().Add(5 * time.Second); ; {
		var list struct{ Messages []mailpitSummary }
		mp.getJSON(t, "/api/v1/search?query="+url.QueryEscape("to:"+addr), &list)
		got = list.Messages
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(25 * time.Millisecond) // polling a server, not waiting out a clock
	}
	if len(got) < want {
		t.Fatalf("%d messages to %s arrived, want %d", len(got), addr, want)
	}
	return got
}

func (mp mailpit) message(t *testing.T, id string) mailpitMessage {
	t.Helper()
	var m mailpitMessage
	mp.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// raw returns the message as the server received it.
func (mp mailpit) raw(t *testing.T, id string) []byte {
	t.Helper()
	return mp.get(t, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

func (mp mailpit) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(mp.get(t, path), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (mp mailpit) get(t *testing.T, path string) []byte {
	t.Helper()
	res, err := http.Get(mp.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.300s", path, res.StatusCode, err, b)
	}
	return b
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a client TLS config that trusts it.
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
