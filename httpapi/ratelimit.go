package httpapi

import "time"

// Limit allows Burst requests at once and Burst more every Per: a token
// bucket that refills continuously. A zero Limit takes the default of the
// field it is in; a negative Burst turns the limit off.
type Limit struct {
	Burst int
	Per   time.Duration
}

// RateLimits are the limits on the person routes that take a secret:
// login, MFA codes (challenge and enrolment), forgot-password and
// invitation accept. Each route group has its own buckets, one per client
// IP and one per account (tenant and email for login and forgot-password,
// the token for MFA and invitation accept). They come on top of the
// Manager's own lockout of an account after failed attempts.
type RateLimits struct {
	PerIP      Limit // default 30 per minute
	PerAccount Limit // default 10 per 5 minutes
}

func (l Limit) orDefault(def Limit) Limit {
	if l.Burst == 0 {
		return def
	}
	if l.Per <= 0 {
		l.Per = def.Per
	}
	return l
}
