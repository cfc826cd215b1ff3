package scim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/usermgmt/usermgmt"
)

// The scimType values of RFC 7644 §3.12 that this service answers.
const (
	typeInvalidFilter = "invalidFilter"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeInvalidValue  = "invalidValue"
	typeMutability    = "mutability"
	typeNoTarget      = "noTarget"
	typeUniqueness    = "uniqueness"
	typeTooMany       = "tooMany"
)

// internalDetail is all a client learns of an internal error.
const internalDetail = "something went wrong on our side; try again in a moment"

// apiError is a SCIM error: an HTTP status, an RFC 7644 scimType (may be
// empty) and a detail a person can read.
type apiError struct {
	status     int
	scimType   string
	detail     string
	retryAfter int64 // seconds, for 429 and 503
	err        error // the cause, logged for a 500, never sent
}

func (e *apiError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("scim %d %s: %s: %v", e.status, e.scimType, e.detail, e.err)
	}
	return fmt.Sprintf("scim %d %s: %s", e.status, e.scimType, e.detail)
}

func (e *apiError) Unwrap() error { return e.err }

func errorf(status int, scimType, format string, args ...any) *apiError {
	return &apiError{status: status, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// statusOf is the one table from a Manager error code to a SCIM status.
// A conflict on IfVersion is 412 and a conflict on a unique field is
// 409 uniqueness; see asError.
var statusOf = map[usermgmt.Code]struct {
	status   int
	scimType string
}{
	usermgmt.CodeInvalid:          {http.StatusBadRequest, typeInvalidValue},
	usermgmt.CodeNotFound:         {http.StatusNotFound, ""},
	usermgmt.CodeConflict:         {http.StatusConflict, ""},
	usermgmt.CodePermissionDenied: {http.StatusForbidden, ""},
	usermgmt.CodeUnauthenticated:  {http.StatusUnauthorized, ""},
	usermgmt.CodeExpired:          {http.StatusUnauthorized, ""},
	usermgmt.CodeMFARequired:      {http.StatusForbidden, ""},
	usermgmt.CodeRateLimited:      {http.StatusTooManyRequests, ""},
	usermgmt.CodeUnavailable:      {http.StatusServiceUnavailable, ""},
}

// asError makes any error a SCIM error. Manager errors keep their message
// as the detail; anything else is a 500 with a generic detail.
func asError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var ue *usermgmt.Error
	if !errors.As(err, &ue) {
		return &apiError{status: http.StatusInternalServerError, detail: internalDetail, err: err}
	}
	s, ok := statusOf[ue.Code]
	if !ok {
		return &apiError{status: http.StatusInternalServerError, detail: internalDetail, err: err}
	}
	out := &apiError{status: s.status, scimType: s.scimType, detail: ue.Message, retryAfter: ue.RetryAfter, err: err}
	if ue.Code == usermgmt.CodeConflict {
		switch ue.Field {
		case usermgmt.FieldVersion:
			out.status = http.StatusPreconditionFailed
			out.detail = "the resource changed since the version given in If-Match; read it again"
		case usermgmt.FieldEmail, usermgmt.FieldName:
			out.scimType = typeUniqueness
		}
	}
	return out
}

// errorBody is the RFC 7644 §3.12 error response.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, errorBody{Schemas: []string{errorSchema}, Status: strconv.Itoa(e.status),
		ScimType: e.scimType, Detail: e.detail})
}
