package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usermgmt/usermgmt"
)

// EraseUser is four statements on the user's keys and one flag: the
// user's row (the old email comes back for the sign-in key), everything
// that belongs to the user (webhook deliveries go with their messages, ON
// DELETE CASCADE), and, with usermgmt.erasing on for just those
// two statements (0012), the events about the user and those the user
// acted in (events_tenant_actor).
func (t *tx) EraseUser(ctx context.Context, tenantID string, userID uuid.UUID, now time.Time) error {
	q := strings.NewReplacer("{s}", quoteIdent(t.s.schema)).Replace
	id := uuidArg(userID)
	var email string
	err := t.db.QueryRowContext(ctx, q(`UPDATE {s}.users u SET email = $3, status = 'deactivated',
			roles = '{}', direct_roles = '{}', mfa_enabled = false, password_hash = '', mfa_secret = NULL,
			mfa_last_step = 0, recovery_codes = '', last_mail_at = NULL, invite_expires_at = NULL,
			display_name = '', given_name = '', family_name = '', external_id = '', employee_number = '',
			department = '', manager_id = '', deprovisioned_at = COALESCE(u.deprovisioned_at, $4),
			updated_at = $4, version = u.version + 1
		FROM (SELECT email FROM {s}.users WHERE tenant_id = $1 AND id = $2 FOR UPDATE) old
		WHERE u.tenant_id = $1 AND u.id = $2 RETURNING old.email`),
		tenantID, id, usermgmt.ErasedEmail(userID), now).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(usermgmt.CodeNotFound, "user not found")
	}
	if err != nil {
		return mapErr(err)
	}
	// Refresh tokens go with their sessions (ON DELETE CASCADE).
	if _, err := t.db.ExecContext(ctx, q(`WITH
			s AS (DELETE FROM {s}.sessions WHERE tenant_id = $1 AND user_id = $2),
			d AS (DELETE FROM {s}.devices WHERE tenant_id = $1 AND user_id = $2),
			k AS (DELETE FROM {s}.tokens WHERE tenant_id = $1 AND user_id = $2),
			m AS (DELETE FROM {s}.outbox WHERE tenant_id = $1 AND user_id = $2),
			w AS (DELETE FROM {s}.webhook_messages WHERE tenant_id = $1 AND user_id = $2),
			a AS (DELETE FROM {s}.login_attempts WHERE tenant_id = $1 AND email = $3),
			g AS (DELETE FROM {s}.group_members WHERE tenant_id = $1 AND user_id = $2 RETURNING group_id)
		UPDATE {s}.groups SET members = members - 1, version = version + 1, updated_at = $4
		WHERE tenant_id = $1 AND id IN (SELECT group_id FROM g)`), tenantID, id, email, now); err != nil {
		return mapErr(err)
	}
	var kept []usermgmt.EventType
	for _, l := range usermgmt.EventLabels() {
		if usermgmt.ErasureKeepsDetail(l.Type) {
			kept = append(kept, l.Type)
		}
	}
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`SELECT set_config('usermgmt.erasing', pg_current_xact_id()::text, true)`, nil},
		{`UPDATE {s}.events SET ip = '', user_agent = '',
			detail = CASE WHEN type = ANY ($3::text::text[]) THEN detail ELSE '' END
			WHERE tenant_id = $1 AND user_id = $2`, []any{tenantID, id, arrayArg(kept)}},
		{`UPDATE {s}.events SET ip = '', user_agent = ''
			WHERE tenant_id = $1 AND actor_id = $2 AND actor_id <> user_id AND (ip <> '' OR user_agent <> '')`,
			[]any{tenantID, id}},
		{`SELECT set_config('usermgmt.erasing', '', true)`, nil},
	} {
		if _, err := t.db.ExecContext(ctx, q(stmt.sql), stmt.args...); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
