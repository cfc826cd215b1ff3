package usermgmt

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
	// CodeUnavailable: the store cannot be reached right now (a database
	// restarting or failing over). Nothing was done, unless the message
	// says the connection broke while saving (then the change may have
	// been kept); the same call may work in a few seconds (RetryAfter
	// says when to try).
	CodeUnavailable Code = "unavailable"
)

// Error is the one error type of the library. Message is safe to show to
// the person who caused the error (ErrorMessage makes it a sentence);
// Err, when set, is the underlying cause and is never shown.
type Error struct {
	Code    Code
	Message string
	// Field names the one input at fault, when there is one, so that a
	// page can show the message next to it without reading the text:
	// FieldEmail, FieldPassword, FieldCurrentPassword, FieldCode,
	// FieldRole or FieldToken (the link itself). "" otherwise.
	Field string
	// RetryAfter is set on rate_limited and unavailable errors: how long
	// until a retry may work.
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

// The inputs an Error's Field names.
const (
	FieldEmail           = "email"
	FieldPassword        = "password"
	FieldCurrentPassword = "current_password"
	FieldCode            = "code"
	FieldRole            = "role"
	FieldToken           = "token"
	// FieldVersion marks a conflict with an expected version (IfVersion):
	// the record changed since it was read.
	FieldVersion = "version"
	FieldName    = "name"
	// FieldURL, FieldEventTypes and FieldDescription are the inputs of a
	// webhook endpoint.
	FieldURL         = "url"
	FieldEventTypes  = "event_types"
	FieldDescription = "description"
)

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

// fieldErrorf is Errorf for an error about one input.
func fieldErrorf(field string, code Code, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Field = field
	return e
}

// ErrorField returns the input the first *Error in err's chain is about
// (its Field), or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// internalMessage is what a person is told of an internal error, whose
// cause is for the logs only.
const internalMessage = "Something went wrong on our side. Try again in a moment."

// ErrorMessage returns the message of err that is safe to show a user,
// as a sentence (a capital first letter, a full stop at the end): the
// message of an *Error, or a generic text for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal && strings.TrimSpace(e.Message) != "" {
		return sentence(e.Message)
	}
	return internalMessage
}

// sentence returns msg as a sentence to show on a page: trimmed, the
// first letter upper-case, ending in a full stop unless it ends in
// punctuation already. Messages are written as lower-case clauses (Go's
// convention for error strings); a page shows them as sentences.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	if unicode.IsLower(r) {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	if last, _ := utf8.DecodeLastRuneInString(msg); !strings.ContainsRune(".!?", last) {
		msg += "."
	}
	return msg
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
