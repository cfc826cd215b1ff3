package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPI is the OpenAPI 3.1 document of every route of routeTable,
// written by hand and served as is. A test holds the two together: every
// route is in the document, every path of the document is routed, and
// every answer of the API tests validates against it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API (GET /openapi.json),
// for a host that serves or publishes it elsewhere, or generates a client.
func OpenAPI() []byte {
	out := make([]byte, len(openAPI))
	copy(out, openAPI)
	return out
}

// openAPIDoc serves GET /openapi.json; it needs no session.
func (h *Handler) openAPIDoc(w http.ResponseWriter, _ *http.Request) error {
	setJSONHeaders(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
	return nil
}
