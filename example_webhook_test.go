package usermgmt_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// verifyWebhook is what a receiver runs on each request, with the
// endpoint's secret: the standard library is enough. It checks the
// timestamp (five minutes either way: a replay of an old message fails)
// and that one of the signatures is the HMAC-SHA256 of "id.timestamp.body"
// under the secret's key.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("bad secret")
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return errors.New("timestamp missing or too far from now")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) { // several during a secret's rotation
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

// A tenant_admin registers an endpoint; a change to a user posts a signed
// message to it, which the receiver verifies with the standard library.
func Example_receivingWebhooks() {
	var secret string // the endpoint's, shown once at its creation
	received := make(chan string, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := verifyWebhook(secret, r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p usermgmt.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		received <- fmt.Sprintf("%s %s (%s)", p.Type, p.Data.User.Email, p.Data.User.Status)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	m, _ := usermgmt.New(memory.New(), usermgmt.Options{
		Mailer: mailertest.New(), SecretKey: make([]byte, 32), Links: usermgmt.Links{BaseURL: "https://app.example.com"},
		// A receiver on this machine: for tests and development only.
		WebhookAllowPrivate: true, WebhookAllowHTTP: true,
	})
	ctx := usermgmt.AsSystem(context.Background())
	_, secret, _ = m.CreateWebhookEndpoint(ctx, "acme", usermgmt.WebhookEndpointInput{URL: receiver.URL + "/hooks",
		EventTypes: []usermgmt.EventType{usermgmt.EventDeactivated}})
	u, _ := m.InviteUser(ctx, "acme", usermgmt.Invite{Email: "ann@acme.example", Roles: []usermgmt.Role{usermgmt.RoleAgent}})
	_, _ = m.Deactivate(ctx, "acme", u.ID)

	n, _ := m.DeliverWebhooks(ctx) // Run does this in the background
	fmt.Println(n, "delivered:", <-received)
	// Output: 1 delivered: user.deactivated ann@acme.example (deactivated)
}
