// Package webhooktest is a local receiver of webhooks for tests: an
// httptest server that records every request and answers with the status
// the test sets. The Manager under test needs Options.WebhookAllowPrivate
// and WebhookAllowHTTP to reach it. It is safe for concurrent use.
package webhooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one webhook as received.
type Request struct {
	ID, Timestamp, Signature string // the webhook-id, webhook-timestamp and webhook-signature headers
	ContentType              string
	Body                     []byte
}

// Receiver is a running receiver; its URL is the endpoint's.
type Receiver struct {
	URL string

	mu     sync.Mutex
	got    []Request
	status []int // answers for the next requests, in order; then 204
	body   string
}

// New starts a receiver, closed when the test ends.
func New(t testing.TB) *Receiver {
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hooks"
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, Request{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
		Signature: req.Header.Get("webhook-signature"), ContentType: req.Header.Get("Content-Type"), Body: body})
	status := http.StatusNoContent
	if len(r.status) > 0 {
		status, r.status = r.status[0], r.status[1:]
	}
	answer := r.body
	r.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// Answer makes the next requests answer with these statuses, in order;
// the ones after answer 204.
func (r *Receiver) Answer(status ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = append(r.status, status...)
}

// Body sets the body of every answer.
func (r *Receiver) Body(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body = s
}

// Requests returns what was received so far, in order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}
