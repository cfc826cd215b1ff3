package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

type discardMailer struct {
	mu   sync.Mutex
	last map[string]string
}

func (d *discardMailer) Send(_ context.Context, m usermgmt.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil {
		d.last[m.To] = m.Link
	}
	return nil
}

// BenchmarkListUsersHTTP measures GET /users (the first page of 50 with
// the badge counts) through the whole API, as a tenant_admin with a bearer
// token, on the memory store holding a 100,000-user tenant. It reports
// requests per second across GOMAXPROCS goroutines and the p99 latency.
func BenchmarkListUsersHTTP(b *testing.B) {
	ctx := usermgmt.AsSystem(context.Background())
	mail := &discardMailer{last: map[string]string{}}
	now := time.Now()
	m, err := usermgmt.New(memory.New(), usermgmt.Options{Mailer: mail, SecretKey: bytes.Repeat([]byte{1}, 32),
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.InviteUser(ctx, "big", usermgmt.Invite{Email: "admin@big.test", Roles: []usermgmt.Role{usermgmt.RoleTenantAdmin}}); err != nil {
		b.Fatal(err)
	}
	enr, err := m.AcceptInvite(ctx, mailertest.TokenFromLink(mail.last["admin@big.test"]), password)
	if err != nil {
		b.Fatal(err)
	}
	code, _ := totp.GenerateCode(enr.Secret, now)
	s, err := m.CompleteMFAEnrollment(ctx, enr.Token, code)
	if err != nil {
		b.Fatal(err)
	}
	mail.mu.Lock()
	mail.last = nil
	mail.mu.Unlock()
	for i := range 99_999 {
		if _, err := m.InviteUser(ctx, "big", usermgmt.Invite{Email: fmt.Sprintf("user%06d@big.test", i), Roles: []usermgmt.Role{usermgmt.RoleAgent}}); err != nil {
			b.Fatal(err)
		}
	}
	h, err := httpapi.NewHandler(m, httpapi.Options{Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	auth := "Bearer " + s.Token
	check := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/users", nil)
	r.Header.Set("Authorization", auth)
	h.ServeHTTP(check, r)
	if check.Code != 200 || !bytes.Contains(check.Body.Bytes(), []byte(`"all":100000`)) {
		b.Fatalf("GET /users: %d %.300s", check.Code, check.Body)
	}

	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		r := httptest.NewRequest("GET", "/users", nil)
		r.Header.Set("Authorization", auth)
		w := &discardWriter{header: http.Header{}}
		for pb.Next() {
			clear(w.header)
			t0 := time.Now()
			h.ServeHTTP(w, r)
			local = append(local, time.Since(t0))
			if w.status != 200 {
				b.Errorf("status %d", w.status)
				return
			}
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the API and not a recorder's growing buffer.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
