package smtp

// UseAuthMechanism makes m authenticate with mech ("PLAIN" or "LOGIN")
// whatever else the server offers: Mailpit offers both, and PLAIN, which
// the Mailer prefers, would always win.
func UseAuthMechanism(m *Mailer, mech string) { m.authMech = mech }
