package scim_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/scim"
	"github.com/usermgmt/usermgmt/store/memory"
)

// A host mounts SCIM under /scim/v2; the tenant's admin creates a
// provisioning token and pastes it, with the URL, into Okta or Entra ID,
// which then creates and finds the tenant's people.
func ExampleNew() {
	m, err := usermgmt.New(memory.New(), usermgmt.Options{
		Mailer:    mailertest.New(),
		SecretKey: bytes.Repeat([]byte{1}, 32), // use 32 random bytes from your secret store
		Links:     usermgmt.Links{BaseURL: "https://hr.acme.example"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scim.New(m, scim.Options{NoInviteMail: true})))

	// On the admin page (here as trusted code): the secret is shown once.
	_, secret, err := m.CreateProvisioningToken(usermgmt.AsSystem(context.Background()), "acme", "Okta")
	if err != nil {
		panic(err)
	}

	// What the identity provider sends.
	send := func(method, path, body string) {
		req := httptest.NewRequest(method, "https://hr.acme.example/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/scim+json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(method, path, w.Code)
	}
	send("GET", "/Users?filter=userName%20eq%20%22ana%40acme.example%22", "")
	send("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"Ana@Acme.example","name":{"givenName":"Ana","familyName":"Sousa"},"active":true}`)
	send("POST", "/Users", `{"userName":"ana@acme.example"}`)
	// Output:
	// GET /Users?filter=userName%20eq%20%22ana%40acme.example%22 200
	// POST /Users 201
	// POST /Users 409
}
