package postgres

import (
	"strconv"
	"strings"
)

// queries holds every statement of the Store with the schema filled in.
//
// Most run through database/sql with server-side parameters ($n): the text
// never changes, so the driver prepares each statement once per connection
// and every later call is one round trip. The two whose best plan depends on
// the value (a search pattern, a role matched against a partial index) keep
// bun's ? placeholders and are formatted by bun with the value inlined.
type queries struct {
	createUser, getUser, lockUser, getUserByEmail, updateUser, advanceMFA, userExists                string
	createUsers, getUsersByEmail                                                                     string // import.go
	listUsers, withLocks, lockedX, groupsX, listRole, listRoleInner, countUsers, countActiveWithRole string

	createToken, consumeToken, keepSpentToken, peekToken, deleteTokens string

	createSession, sessionByRefresh, rotateSession, revokeSession, revokeSessionByID, revokeUser string
	touchSession, bumpSession, sessionState, getSession, markSessionVerified, listSessions       string

	createDevice, getDevice, listDevices, deleteDevice string

	getAttempts, putAttempts, clearAttempts string

	deleteExpired string
	allow         string // ratelimit.go

	enqueueMail, claimMail, updateMail, deleteMail       string
	cancelMail, cancelMailKind, listMail, listMailBefore string

	appendEvent, listEvents, listEventsBefore string
	prepareEvents, dropEvents                 string
	listTenantEvents                          string

	g groupQueries
}

// storedCols are the users columns of a User; scanUser reads them and
// then locked_until, which is not a column: the lock of the user's
// sign-in key, read from login_attempts in the same statement (lockedOf).
const storedCols = `id, tenant_id, email, status, roles, mfa_enabled, last_login_at, activated_at, created_at, updated_at,
	invite_expires_at, direct_roles, display_name, given_name, family_name, external_id, version, deprovisioned_at,
	employee_number, department, manager_id`

const secretCols = `password_hash, mfa_secret, mfa_last_step, recovery_codes, last_mail_at`

// lockedOf reads the lock of the sign-in key of the users row aliased
// alias: one lookup on the login_attempts primary key (tenant_id, email).
func lockedOf(alias string) string {
	return `(SELECT a.locked_until FROM {s}.login_attempts a WHERE a.tenant_id = ` + alias + `.tenant_id
		AND a.email = ` + alias + `.email)`
}

// groupsOf reads the roles that the groups of the users row aliased alias
// give, as a JSON array (NULL for none: most users have none, and scan
// nothing): one probe of group_members_user (0009) and one of groups'
// primary key a group.
func groupsOf(alias string) string {
	return `(SELECT json_agg(json_build_object('role', r.role, 'id', g.id, 'name', g.display_name))
		FROM {s}.group_members m JOIN {s}.groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
		CROSS JOIN LATERAL unnest(g.roles) r(role)
		WHERE m.tenant_id = ` + alias + `.tenant_id AND m.user_id = ` + alias + `.id)`
}

// recordSelect is a UserRecord from users u: the User, its lock, its secrets.
var recordSelect = storedCols + `, ` + lockedOf("u") + `, ` + secretCols

const sessionCols = `id, tenant_id, user_id, token_hash, refresh_hash, roles, ip, user_agent, created_at, idle_expires_at, expires_at, verified_at, last_seen_at`

const deviceCols = `id, hash, tenant_id, user_id, ip, user_agent, created_at, expires_at`

const tokenCols = `hash, purpose, tenant_id, user_id, data, created_at, expires_at`

const mailCols = `id, tenant_id, user_id, kind, recipient, sealed, attempts, next_attempt_at, last_error, failed_at,
	created_at, deliver_by, expires_at`

const eventCols = `id, tenant_id, user_id, type, actor_id, ip, user_agent, detail, created_at, actor_name`

func newQueries(schema string) queries {
	inline := strings.NewReplacer("{s}", schema).Replace
	r := func(q string) string { return numbered(inline(q)) }
	return queries{
		// ON CONFLICT DO NOTHING: a duplicate email answers conflict without
		// aborting the caller's transaction.
		createUser: r(`INSERT INTO {s}.users (` + storedCols + `, ` + secretCols + `)
			VALUES (?, ?, ?, ?, ?::text::text[], ?, ?, ?, ?, ?, ?, ?::text::text[], ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`),
		getUser:        r(`SELECT ` + recordSelect + ` FROM {s}.users u WHERE tenant_id = ? AND id = ?`),
		lockUser:       r(`SELECT ` + recordSelect + ` FROM {s}.users u WHERE tenant_id = ? AND id = ? FOR UPDATE OF u`),
		getUserByEmail: r(`SELECT ` + recordSelect + ` FROM {s}.users u WHERE tenant_id = ? AND email = ?`),
		// One lookup of the (tenant_id, email) key an email: with
		// email = ANY (…) the planner took the trigram index, whose
		// equality costs grow with the tenant (a second an import batch
		// at 4,000 users).
		getUsersByEmail: r(`SELECT u.* FROM (SELECT DISTINCT unnest(?::text::text[]) COLLATE "C" AS email) e
			CROSS JOIN LATERAL (SELECT ` + recordSelect + ` FROM {s}.users u
				WHERE u.tenant_id = ? AND u.email = e.email OFFSET 0) u`),
		createUsers: r(createUsers),
		updateUser: r(`UPDATE {s}.users SET status = ?, roles = ?::text::text[], mfa_enabled = ?, last_login_at = ?,
			activated_at = ?, updated_at = ?, password_hash = ?, mfa_secret = ?, mfa_last_step = ?,
			recovery_codes = ?, last_mail_at = ?, invite_expires_at = ?, direct_roles = ?::text::text[],
			display_name = ?, given_name = ?, family_name = ?, external_id = ?, deprovisioned_at = ?,
			employee_number = ?, department = ?, manager_id = ?,
			version = version + 1
			WHERE tenant_id = ? AND id = ? RETURNING version`),
		advanceMFA: r(`UPDATE {s}.users SET mfa_last_step = ?
			WHERE tenant_id = ? AND id = ? AND mfa_last_step < ?`),
		userExists: r(`SELECT true FROM {s}.users WHERE tenant_id = ? AND id = ?`),
		// The WHERE clause is completed by ListUsers, and the page is read
		// through withLocks.
		listUsers: inline(`SELECT ` + storedCols + ` FROM {s}.users WHERE tenant_id = ?`),
		lockedX:   inline(lockedOf("x")),
		groupsX:   inline(groupsOf("x")),
		// A page of one role's holders: the walk of user_roles (0007) in
		// email order, limited first (listRoleInner, completed by
		// ListUsers), then each row's user by key: a lateral subquery the
		// planner may not flatten (OFFSET 0), so it cannot turn the page
		// into a hash join over the tenant or a walk of users in email
		// order, which a small or oddly spread role tempted it to.
		listRoleInner: inline(`SELECT r.tenant_id, r.email FROM {s}.user_roles r WHERE r.tenant_id = ? AND r.role = ?`),
		listRole: inline(`SELECT u.* FROM (%s) r CROSS JOIN LATERAL (SELECT ` + storedCols + ` FROM {s}.users u
			WHERE u.tenant_id = r.tenant_id AND u.email = r.email OFFSET 0) u`),
		// A page with each user's lock and group roles.
		withLocks:  inline(`SELECT ` + storedCols + `, ` + lockedOf("p") + `, ` + groupsOf("p") + ` FROM (%s) p ORDER BY email`),
		countUsers: r(`SELECT invited, active, deactivated FROM {s}.tenant_counts WHERE tenant_id = ?`),
		countActiveWithRole: inline(`SELECT count(*) FROM {s}.users
			WHERE tenant_id = ? AND status = 'active' AND roles @> ARRAY[?]::text[]`),

		createToken: r(`INSERT INTO {s}.tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING hash`),
		consumeToken: r(`DELETE FROM {s}.tokens WHERE hash = ? AND purpose = ? RETURNING ` + tokenCols),
		// A spent link token keeps its row under the purpose "<purpose>.spent"
		// until it expires: every query of live tokens names the purpose, so
		// none sees it, and DeleteExpired removes it as any other. Arguments:
		// spent purpose, hash, purpose.
		keepSpentToken: r(`UPDATE {s}.tokens SET purpose = ? WHERE hash = ? AND purpose = ? RETURNING ` + tokenCols),
		peekToken:      r(`SELECT ` + tokenCols + ` FROM {s}.tokens WHERE hash = ? AND purpose IN (?, ?)`),
		deleteTokens:   r(`DELETE FROM {s}.tokens WHERE tenant_id = ? AND user_id = ? AND purpose = ?`),

		createSession: r(`WITH s AS (
				INSERT INTO {s}.sessions (` + sessionCols + `) VALUES (?, ?, ?, ?, ?, ?::text::text[], ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING RETURNING id, refresh_hash)
			INSERT INTO {s}.refresh_tokens (hash, session_id) SELECT refresh_hash, id FROM s
			RETURNING session_id`),
		sessionByRefresh: r(`SELECT ` + prefixed("s.", sessionCols) + `, r.spent, r.spent_at, r.successor
			FROM {s}.refresh_tokens r JOIN {s}.sessions s ON s.id = r.session_id
			WHERE r.hash = ?`),
		// A compare-and-set on the current refresh hash: of two rotations
		// of one refresh token, the second finds refresh_hash changed and
		// updates nothing.
		rotateSession: r(`WITH s AS (
				UPDATE {s}.sessions SET token_hash = ?, refresh_hash = ?, roles = ?::text::text[], idle_expires_at = ?
				WHERE id = ? AND refresh_hash = ? RETURNING id, refresh_hash),
			spent AS (
				UPDATE {s}.refresh_tokens SET spent = true, spent_at = ?, successor = ?
				WHERE hash = ? AND session_id IN (SELECT id FROM s))
			INSERT INTO {s}.refresh_tokens (hash, session_id) SELECT refresh_hash, id FROM s
			RETURNING session_id`),
		revokeSession:     r(`DELETE FROM {s}.sessions WHERE token_hash = ? RETURNING ` + sessionCols),
		revokeSessionByID: r(`DELETE FROM {s}.sessions WHERE id = ?`),
		getSession:        r(`SELECT ` + sessionCols + ` FROM {s}.sessions WHERE tenant_id = ? AND id = ?`),
		// Through sessions_tenant_user (0001).
		listSessions: r(`SELECT ` + sessionCols + ` FROM {s}.sessions WHERE tenant_id = ? AND user_id = ?
			ORDER BY created_at DESC, id DESC`),
		markSessionVerified: r(`UPDATE {s}.sessions SET verified_at = ? WHERE tenant_id = ? AND id = ?
			RETURNING id`),
		revokeUser: r(`WITH s AS (DELETE FROM {s}.sessions WHERE tenant_id = ? AND user_id = ? AND id <> ? RETURNING 1),
			d AS (DELETE FROM {s}.devices WHERE tenant_id = ? AND user_id = ? RETURNING 1)
			SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM d)`),
		// A read: the session exists, its user is active, and both
		// expiries are in the future; the user, the lock of their sign-in
		// key and their group roles (JSON, NULL for none: most users have
		// none, and scan nothing) come in the same row.
		touchSession: r(`SELECT ` + prefixed("s.", sessionCols) + `, ` + prefixed("u.", storedCols) + `, ` + lockedOf("u") + `,
				` + groupsOf("u") + `
			FROM {s}.sessions s JOIN {s}.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
			WHERE s.token_hash = ? AND u.status = 'active' AND ? < s.expires_at AND ? < s.idle_expires_at`),
		// The idle expiry's move, once it lags a step behind, and only
		// forward. It commits asynchronously (set_config is local to this
		// statement's transaction): losing the last few of them in a crash
		// only makes a session look idle a little earlier, and it spares
		// the request a WAL flush. Revocations still commit synchronously,
		// and their flush carries any earlier move with it.
		bumpSession: r(`WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
			UPDATE {s}.sessions s SET idle_expires_at = ?, last_seen_at = ? FROM async
			WHERE s.id = ? AND s.idle_expires_at < ?
			RETURNING s.idle_expires_at, s.last_seen_at`),
		// Why TouchSession refused: read only when it did.
		sessionState: r(`SELECT u.status, s.expires_at, s.idle_expires_at
			FROM {s}.sessions s LEFT JOIN {s}.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
			WHERE s.token_hash = ?`),

		createDevice: r(`INSERT INTO {s}.devices (` + deviceCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING hash`),
		getDevice: r(`SELECT ` + deviceCols + ` FROM {s}.devices WHERE hash = ?`),
		// Both through devices_tenant_user (0001).
		listDevices: r(`SELECT ` + deviceCols + ` FROM {s}.devices WHERE tenant_id = ? AND user_id = ?
			ORDER BY created_at DESC, id DESC`),
		deleteDevice: r(`DELETE FROM {s}.devices WHERE tenant_id = ? AND user_id = ? AND id = ? RETURNING ` + deviceCols),

		// Read under the key's advisory lock (LockAttempts); the upsert
		// needs no lock of its own.
		getAttempts: r(`SELECT failures, locked_until, notified, expires_at FROM {s}.login_attempts
			WHERE tenant_id = ? AND email = ?`),
		putAttempts: r(`INSERT INTO {s}.login_attempts (tenant_id, email, failures, locked_until, notified, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, email) DO UPDATE SET failures = excluded.failures,
				locked_until = excluded.locked_until, notified = excluded.notified, expires_at = excluded.expires_at`),
		clearAttempts: r(`DELETE FROM {s}.login_attempts WHERE tenant_id = ? AND email = ?`),

		// One statement for the five tables; refresh tokens go with their
		// sessions (ON DELETE CASCADE). Tokens, devices, mails and login
		// attempts are found through their expires_at indexes (0002, 0003,
		// 0004). Sessions are read
		// whole: idle_expires_at moves on every request and is kept out of
		// every index so that those updates stay HOT.
		deleteExpired: r(`WITH t AS (DELETE FROM {s}.tokens WHERE expires_at <= ? RETURNING 1),
			s AS (DELETE FROM {s}.sessions WHERE expires_at <= ? OR idle_expires_at <= ? RETURNING 1),
			d AS (DELETE FROM {s}.devices WHERE expires_at <= ? RETURNING 1),
			m AS (DELETE FROM {s}.outbox WHERE expires_at <= ? RETURNING 1),
			a AS (DELETE FROM {s}.login_attempts WHERE expires_at <= ? RETURNING 1),
			r AS (DELETE FROM {s}.rate_limits WHERE full_at <= ? RETURNING 1)
			SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM s), (SELECT count(*) FROM d),
				(SELECT count(*) FROM m), (SELECT count(*) FROM a), (SELECT count(*) FROM r)`),
		allow: r(allowQuery),

		enqueueMail: r(`INSERT INTO {s}.outbox (` + mailCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`),
		// The subquery walks the outbox_claim index in claim order and
		// locks the first row no other transaction holds (SKIP LOCKED: a
		// held claim is passed over, not waited for); the UPDATE then
		// moves that row's next_attempt_at to the end of the claim. It is
		// one statement, so there is no window in which two transactions
		// can pick the same row. Arguments: until, now.
		claimMail: r(`UPDATE {s}.outbox SET attempts = attempts + 1, next_attempt_at = ?
			WHERE id = (SELECT id FROM {s}.outbox
				WHERE failed_at IS NULL AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING ` + mailCols),
		updateMail: r(`UPDATE {s}.outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, failed_at = ?
			WHERE id = ?`),
		deleteMail:     r(`DELETE FROM {s}.outbox WHERE id = ?`),
		cancelMail:     r(`DELETE FROM {s}.outbox WHERE tenant_id = ? AND user_id = ?`),
		cancelMailKind: r(`DELETE FROM {s}.outbox WHERE tenant_id = ? AND user_id = ? AND kind = ?`),
		listMail: r(`SELECT ` + mailCols + ` FROM {s}.outbox
			WHERE tenant_id = ? ORDER BY id DESC LIMIT ?`),
		listMailBefore: r(`SELECT ` + mailCols + ` FROM {s}.outbox
			WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),

		appendEvent: r(`INSERT INTO {s}.events (` + eventCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`),
		// The actor's email comes with each event: a LEFT JOIN on the
		// users primary key (tenant_id, id), so an actor of another tenant
		// is never named; the walk stays on the events primary key.
		listEvents: r(`SELECT ` + prefixed("e.", eventCols) + `, COALESCE(a.email, '') FROM {s}.events e
			LEFT JOIN {s}.users a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id
			WHERE e.tenant_id = ? AND e.user_id = ? ORDER BY e.id DESC LIMIT ?`),
		listEventsBefore: r(`SELECT ` + prefixed("e.", eventCols) + `, COALESCE(a.email, '') FROM {s}.events e
			LEFT JOIN {s}.users a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id
			WHERE e.tenant_id = ? AND e.user_id = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?`),
		// The tenant's log in id order: a range of the (tenant_id, id)
		// index of 0015 in each partition the range reaches, the
		// partitions read in order (no DEFAULT partition) and stopped at
		// the LIMIT. Arguments: tenant, after, before.
		listTenantEvents: r(`SELECT ` + prefixed("e.", eventCols) + `, COALESCE(a.email, '') FROM {s}.events e
			LEFT JOIN {s}.users a ON a.tenant_id = e.tenant_id AND a.id = e.actor_id
			WHERE e.tenant_id = ? AND e.id > ? AND e.id < ? ORDER BY e.id LIMIT ?`),
		prepareEvents: r(`SELECT {s}.events_prepare(?)`),
		dropEvents:    r(`SELECT {s}.events_drop(?)`),

		g: newGroupQueries(inline),
	}
}

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// numbered turns bun's ? placeholders into PostgreSQL's $1, $2, … The
// statements here have no other question marks.
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
