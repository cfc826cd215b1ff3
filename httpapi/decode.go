package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/usermgmt/usermgmt"
)

// decode reads a JSON body into v: application/json only (415), at most
// Options.MaxBodyBytes (413), one object, no unknown fields (400). An empty
// body decodes as {} when optional is set, and is invalid otherwise.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return errorf(CodeUnsupportedMedia, "the body must be application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errorf(CodeTooLarge, "the body is larger than "+strconv.FormatInt(h.opts.MaxBodyBytes, 10)+" bytes")
		}
		return errorf(usermgmt.CodeInvalid, "the body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errorf(usermgmt.CodeInvalid, "a JSON body is required")
	}
	if ct == "" {
		return errorf(CodeUnsupportedMedia, "the body must be application/json")
	}
	return decodeJSON(body, v)
}

// decodeJSON decodes exactly one JSON object with no unknown fields.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return errorf(usermgmt.CodeInvalid, "the body is not valid JSON")
		case errors.As(err, &typ):
			if typ.Field != "" {
				return errorf(usermgmt.CodeInvalid, "field "+strconv.Quote(typ.Field)+" has the wrong type")
			}
			return errorf(usermgmt.CodeInvalid, "the body must be a JSON object")
		}
		// DisallowUnknownFields reports `json: unknown field "x"`; the
		// message is safe to show, it only echoes the field's name.
		return errorf(usermgmt.CodeInvalid, "the body is not valid: "+trimJSONPrefix(err.Error()))
	}
	// Anything after the object, a second value or a stray delimiter, is
	// a token other than the end.
	if _, err := dec.Token(); err != io.EOF {
		return errorf(usermgmt.CodeInvalid, "the body must hold one JSON object")
	}
	return nil
}

func trimJSONPrefix(s string) string {
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// userID parses the {id} path value; anything but a UUID is invalid.
func userID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil || len(r.PathValue("id")) != 36 {
		return uuid.Nil, errorf(usermgmt.CodeInvalid, "the user id is not a valid UUID")
	}
	return id, nil
}

// pageQuery reads the query of a "Load more" list: limit and cursor, and
// nothing else.
func pageQuery(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "cursor"); err != nil {
		return 0, "", err
	}
	limit, err = queryInt(q, "limit")
	return limit, q.Get("cursor"), err
}

// onlyParams refuses a query with a parameter that is not in allowed, so
// a misspelt filter is an error and not a silently wider answer.
func onlyParams(q url.Values, allowed ...string) error {
	for k := range q {
		if !slices.Contains(allowed, k) {
			if len(k) > 64 {
				k = k[:64]
			}
			return errorf(usermgmt.CodeInvalid, "unknown query parameter "+strconv.Quote(k))
		}
	}
	return nil
}

// queryInt parses an optional integer query parameter.
func queryInt(q url.Values, name string) (int, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf(usermgmt.CodeInvalid, name+" must be an integer")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setJSONHeaders sets the headers of every JSON answer (ServeHTTP has
// set Cache-Control for every answer).
func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
}
