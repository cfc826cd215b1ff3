package usermgmt

import (
	"context"
	"errors"
)

// Pinger is a Store that can tell cheaply whether it reaches its
// database: store/postgres.Store sends one empty statement on a
// connection of its pool. A Store that is no Pinger is checked with an
// empty read-only transaction.
type Pinger interface {
	// Ping returns nil when the store answers, an error otherwise.
	Ping(ctx context.Context) error
}

// pingRetryAfter is the Retry-After of a failed Ping whose store did not
// say when to try again: about as long as a database restart or a
// standby's promotion takes.
const pingRetryAfter = 5 // seconds

// Ping checks that the Manager's store answers, for a health check: one
// round trip to the database on a Pinger (store/postgres), an empty
// read-only transaction on another store. It returns unavailable, with
// RetryAfter, when the store cannot be reached or does not answer before
// ctx ends; bound ctx with a timeout shorter than the checker's. It needs
// no actor.
func (m *Manager) Ping(ctx context.Context) error {
	var err error
	if p, ok := m.store.(Pinger); ok {
		err = p.Ping(ctx)
	} else {
		err = m.inTx(ctx, TxOptions{ReadOnly: true}, func(context.Context, Tx) error { return nil })
	}
	if err == nil {
		return nil
	}
	e := &Error{Code: CodeUnavailable, Message: "the store cannot be reached", RetryAfter: pingRetryAfter, Err: err}
	var se *Error
	if errors.As(err, &se) && se.Code == CodeUnavailable && se.RetryAfter > 0 {
		e.RetryAfter = se.RetryAfter // the store knows better
	}
	return e
}
