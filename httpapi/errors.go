package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/usermgmt/usermgmt"
)

// Codes that only the HTTP layer produces: the request never reached the
// Manager. They share the error body and the status table with the
// Manager's codes.
const (
	CodeTooLarge         usermgmt.Code = "too_large"
	CodeUnsupportedMedia usermgmt.Code = "unsupported_media_type"
	CodeMethodNotAllowed usermgmt.Code = "method_not_allowed"
)

// statusOf is the one table from error code to HTTP status.
//
// expired is 401, not 410: whatever expired (a session, a link, an MFA
// challenge), the client's next step is the same as for unauthenticated —
// sign in again or ask for a new link — and the body's code tells the two
// apart for a client that wants to say "expired".
var statusOf = map[usermgmt.Code]int{
	usermgmt.CodeInvalid:          http.StatusBadRequest,
	usermgmt.CodeNotFound:         http.StatusNotFound,
	usermgmt.CodeConflict:         http.StatusConflict,
	usermgmt.CodePermissionDenied: http.StatusForbidden,
	usermgmt.CodeUnauthenticated:  http.StatusUnauthorized,
	usermgmt.CodeExpired:          http.StatusUnauthorized,
	usermgmt.CodeRateLimited:      http.StatusTooManyRequests,
	usermgmt.CodeMFARequired:      http.StatusUnauthorized,
	usermgmt.CodeDeliveryFailed:   http.StatusBadGateway,
	usermgmt.CodeInternal:         http.StatusInternalServerError,
	usermgmt.CodeUnavailable:      http.StatusServiceUnavailable,
	CodeTooLarge:                  http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:          http.StatusUnsupportedMediaType,
	CodeMethodNotAllowed:          http.StatusMethodNotAllowed,
}

// StatusOf returns the HTTP status the API answers for an error code.
func StatusOf(code usermgmt.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

// errorDetail is an error as the API answers it. Message is a sentence
// fit to show on a page (usermgmt.ErrorMessage); Field, when the error is
// about one input of the request (usermgmt.Error.Field), names it, so that
// a page puts the message beside that input without reading the text.
type errorDetail struct {
	Code    usermgmt.Code `json:"code"`
	Message string        `json:"message"`
	Field   string        `json:"field,omitempty"`
}

// writeError answers err with its status and {"error":{code,message,field}}.
// Internal errors are logged with their cause and answered with a generic
// message; no other error is logged (they are the caller's to fix).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := usermgmt.ErrorCode(err)
	msg, field := usermgmt.ErrorMessage(err), usermgmt.ErrorField(err)
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads the answer.
		code, msg, field = usermgmt.CodeInternal, usermgmt.ErrorMessage(nil), ""
	} else if code == usermgmt.CodeInternal {
		field = ""
		h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	var ue *usermgmt.Error
	if errors.As(err, &ue) && ue.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(ue.RetryAfter, 10))
	}
	writeJSON(w, StatusOf(code), errorBody{Error: errorDetail{Code: code, Message: msg, Field: field}})
}

// errorf is an *usermgmt.Error made by the HTTP layer.
func errorf(code usermgmt.Code, msg string) error {
	return &usermgmt.Error{Code: code, Message: msg}
}
