package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/httpapi"
)

// contract is the API's OpenAPI document, loaded once for every test of
// the package: the fixture checks each request and answer against it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	// An export's JSON Lines are checked as text, as its CSV is.
	openapi3filter.RegisterBodyDecoder("application/jsonl", openapi3filter.FileBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("openapi.json does not load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	// The document names no server: its paths are relative to wherever
	// the host mounts the handler, which is "/" in these tests (OpenAPI's
	// default server).
	if len(doc.Servers) == 0 {
		doc.Servers = openapi3.Servers{{URL: "/"}}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// TestOpenAPIDocumentIsValid: the document loads as OpenAPI 3.1 and
// validates, and GET /openapi.json serves it as is, with the API's headers
// and no session.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if !c.doc.IsOpenAPI31OrLater() || c.doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi = %q, want 3.1.x", c.doc.OpenAPI)
	}
	f := newFixture(t, nil)
	w := f.do(t, req{method: "GET", path: "/openapi.json"})
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), httpapi.OpenAPI()) {
		t.Fatalf("GET /openapi.json: %d, %d bytes", w.Code, w.Body.Len())
	}
	for k, want := range map[string]string{"Content-Type": "application/json; charset=utf-8",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestOpenAPIDocumentsEveryRoute: every route of the table is an
// operation of the document, and every operation of the document is a
// route of the table; a signed-in route says how it is signed in, and the
// document's parameters are the route's wildcards.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]httpapi.Route{}
	for _, rt := range httpapi.Routes() {
		table[rt.Pattern()] = rt
	}
	documented := map[string]*openapi3.Operation{}
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	for p, rt := range table {
		op, ok := documented[p]
		if !ok {
			t.Errorf("route %s is served but not in openapi.json", p)
			continue
		}
		if signedIn := rt.Kind == "admin" || rt.Kind == "self"; signedIn && (op.Security == nil || len(*op.Security) == 0) {
			t.Errorf("%s needs a session, but its operation names no security requirement", p)
		}
		if rt.Permission != "" && (op.Description == "" || !strings.Contains(op.Description, string(rt.Permission))) {
			t.Errorf("%s needs permission %s, which its operation's description does not name", p, rt.Permission)
		}
		if rt.TenantAdmin && !strings.Contains(op.Description, "Only a tenant_admin may") {
			t.Errorf("%s is for tenant admins only, which its operation's description does not say", p)
		}
		var wild, params []string
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				wild = append(wild, strings.Trim(seg, "{}"))
			}
		}
		for _, pr := range op.Parameters {
			if pr.Value.In == openapi3.ParameterInPath {
				params = append(params, pr.Value.Name)
			}
		}
		if slices.Sort(wild); true {
			slices.Sort(params)
		}
		if !slices.Equal(wild, params) {
			t.Errorf("%s has wildcards %v, its operation path parameters %v", p, wild, params)
		}
	}
	for p := range documented {
		if _, ok := table[p]; !ok {
			t.Errorf("openapi.json describes %s, which the handler does not serve", p)
		}
	}
}

// TestOpenAPIErrorStatusesFollowTheTable: each error response of the
// document allows exactly the codes that StatusOf maps to its status.
func TestOpenAPIErrorStatusesFollowTheTable(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	codes := c.doc.Components.Schemas["ErrorBody"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	if len(codes) == 0 {
		t.Fatal("ErrorBody's code has no enum")
	}
	for _, code := range codes {
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code.(string), "message": "m"}})
		status := httpapi.StatusOf(usermgmt.Code(code.(string)))
		if code != string(usermgmt.CodeInternal) && status == 500 {
			t.Errorf("code %s of the document has no status in StatusOf", code)
		}
		for name, resp := range c.doc.Components.Responses {
			st, ok := errorStatus[name]
			if !ok {
				t.Fatalf("response %s has no status in errorStatus", name)
			}
			err := validateBody(resp.Value, body)
			if fits := st == status; fits != (err == nil) {
				t.Errorf("code %s (status %d) in response %s (status %d): validation error %v", code, status, name, st, err)
			}
		}
	}
}

// errorStatus is the status each error response of the document is used
// for.
var errorStatus = map[string]int{"Invalid": 400, "Unauthenticated": 401, "PermissionDenied": 403, "NotFound": 404,
	"Conflict": 409, "TooLarge": 413, "UnsupportedMediaType": 415, "RateLimited": 429, "Internal": 500, "DeliveryFailed": 502,
	"Unavailable": 503}

func validateBody(r *openapi3.Response, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return r.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// toldBroken holds the tests already told that the document does not load.
var toldBroken sync.Map

// checkExchange holds one request the tests sent and the API's answer to
// the document: the answer must be one the operation describes, for its
// status, with a body of its schema; a request the document refuses must
// not succeed. A request for no operation of the document must get the
// mux's 404 or 405, or a refusal of its origin, as an ErrorBody, or
// the mux's redirect of an unclean path.
func checkExchange(t testing.TB, r *http.Request, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	what := fmt.Sprintf("%s %s answered %d", r.Method, r.URL.RequestURI(), w.Code)
	c, err := loadContract()
	if err != nil {
		// Once a top-level test is enough: every exchange would say the same.
		top, _, _ := strings.Cut(t.Name(), "/")
		if _, told := toldBroken.LoadOrStore(top, true); !told {
			t.Errorf("openapi: %s was not checked: %v", what, err)
		}
		return
	}
	vr := r.Clone(context.Background())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(vr)
	if err != nil {
		if w.Code/100 == 3 && path.Clean(r.URL.Path) != r.URL.Path && w.Header().Get("Location") != "" {
			return // the mux's redirect to the cleaned path
		}
		if w.Code != 404 && w.Code != 405 && w.Code != 403 {
			t.Errorf("openapi: %s, but the document has no such operation (%v)", what, err)
			return
		}
		var v any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Errorf("openapi: %s with a body that is not JSON: %q", what, w.Body)
			return
		}
		if err := c.doc.Components.Schemas["ErrorBody"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("openapi: %s, not an ErrorBody: %v\nbody: %s", what, err, w.Body)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && w.Code < 400 {
		t.Errorf("openapi: %s to a request the document refuses (operation %s): %v\nrequest body: %q",
			what, route.Operation.OperationID, reqErr, body)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	opts.WithCustomSchemaErrorFunc(schemaError)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: w.Code, Header: w.Header(),
		Options: opts}
	out.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			err = me
		}
		t.Errorf("openapi: %s, which operation %s does not describe: %v\nbody: %s",
			what, route.Operation.OperationID, err, w.Body)
	}
}

// checked is the API as the tests call it: every exchange is held to the
// document (checkExchange), failing t.
type checked struct {
	t   testing.TB
	api http.Handler
}

func (c checked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	c.api.ServeHTTP(rec, r)
	checkExchange(c.t, r, body, rec)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// schemaError says where a value breaks the document and why, without
// the schema itself, which would bury the one line that matters.
func schemaError(err *openapi3.SchemaError) string {
	return "at /" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
}
