package usermgmt

import (
	"errors"
	"fmt"
)

// Code classifies an error so a caller can act on it without reading text.
type Code string

// The error codes. httpapi maps each to one HTTP status.
const (
	CodeInvalid          Code = "invalid"
	CodeNotFound         Code = "not_found"
	CodeConflict         Code = "conflict"
	CodePermissionDenied Code = "permission_denied"
	CodeUnauthenticated  Code = "unauthenticated"
	CodeExpired          Code = "expired"
	CodeRateLimited      Code = "rate_limited"
	CodeMFARequired      Code = "mfa_required"
	CodeDeliveryFailed   Code = "delivery_failed"
	CodeInternal         Code = "internal"
)

// Error is the one error type of the library. Message is safe to show to
// the person who caused the error; Err, when set, is the underlying cause
// and is never shown.
type Error struct {
	Code    Code
	Message string
	// RetryAfter is set on rate_limited errors: how long until a retry may work.
	RetryAfter int64 // seconds
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("usermgmt: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("usermgmt: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil,
// and internal for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the message of err that is safe to show a user: the
// message of an *Error, or a generic text for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}

func internalf(err error, format string, args ...any) *Error {
	return &Error{Code: CodeInternal, Message: fmt.Sprintf(format, args...), Err: err}
}

// wrapInternal gives any error that is not yet an *Error the code internal.
func wrapInternal(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return internalf(err, "internal error")
}
