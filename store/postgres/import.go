package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/usermgmt/usermgmt"
)

// importRow is one users row as CreateUsers sends it: the batch travels as
// one JSON array, which jsonb_to_recordset turns back into typed rows, so
// that any number of users is one parameter and one statement (nullable
// times and per-row role arrays included, which parallel arrays cannot
// carry). []byte fields are base64 in JSON, decoded by the statement.
type importRow struct {
	ID              string     `json:"id"`
	TenantID        string     `json:"tenant_id"`
	Email           string     `json:"email"`
	Status          string     `json:"status"`
	Roles           []string   `json:"roles"`
	MFAEnabled      bool       `json:"mfa_enabled"`
	LastLoginAt     *time.Time `json:"last_login_at"`
	ActivatedAt     *time.Time `json:"activated_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	InviteExpiresAt *time.Time `json:"invite_expires_at"`
	DirectRoles     []string   `json:"direct_roles"`
	DisplayName     string     `json:"display_name"`
	GivenName       string     `json:"given_name"`
	FamilyName      string     `json:"family_name"`
	ExternalID      string     `json:"external_id"`
	DeprovisionedAt *time.Time `json:"deprovisioned_at"`
	EmployeeNumber  string     `json:"employee_number"`
	Department      string     `json:"department"`
	ManagerID       string     `json:"manager_id"`
	PasswordHash    string     `json:"password_hash"`
	MFASecret       []byte     `json:"mfa_secret"`
	MFALastStep     int64      `json:"mfa_last_step"`
	RecoveryCodes   []byte     `json:"recovery_codes"`
	LastMailAt      *time.Time `json:"last_mail_at"`
}

// createUsers reads the JSON array of importRow; the users_count_status
// and users_sync_roles triggers follow each row as they follow CreateUser.
const createUsers = `INSERT INTO {s}.users (` + storedCols + `, ` + secretCols + `)
	SELECT x.id, x.tenant_id, x.email, x.status, coalesce(x.roles, '{}'), x.mfa_enabled, x.last_login_at,
		x.activated_at, x.created_at, x.updated_at, x.invite_expires_at, coalesce(x.direct_roles, '{}'),
		x.display_name, x.given_name, x.family_name, x.external_id, 1, x.deprovisioned_at,
		x.employee_number, x.department, x.manager_id,
		x.password_hash, decode(x.mfa_secret, 'base64'), x.mfa_last_step,
		coalesce(decode(x.recovery_codes, 'base64'), ''), x.last_mail_at
	FROM jsonb_to_recordset(?::jsonb) AS x(id uuid, tenant_id text, email text, status text, roles text[],
		mfa_enabled boolean, last_login_at timestamptz, activated_at timestamptz, created_at timestamptz,
		updated_at timestamptz, invite_expires_at timestamptz, direct_roles text[], display_name text,
		given_name text, family_name text, external_id text, deprovisioned_at timestamptz,
		employee_number text, department text, manager_id text, password_hash text, mfa_secret text,
		mfa_last_step bigint, recovery_codes text, last_mail_at timestamptz)`

// CreateUsers inserts the batch in one statement inside a savepoint: a
// duplicate fails the statement (inserting none), and rolling back to the
// savepoint leaves the caller's transaction usable, as CreateUser's ON
// CONFLICT DO NOTHING does for one row.
func (t *tx) CreateUsers(ctx context.Context, us []usermgmt.UserRecord) error {
	if len(us) == 0 {
		return nil
	}
	rows := make([]importRow, len(us))
	for i := range us {
		u := &us[i]
		// JSON would turn bytes that are not UTF-8 into U+FFFD: refuse
		// them first, as every other write does.
		if err := checkText(u.TenantID, u.Email, string(u.Status), u.DisplayName, u.GivenName, u.FamilyName,
			u.ExternalID, u.EmployeeNumber, u.Department, u.ManagerID, u.PasswordHash); err != nil {
			return err
		}
		for _, r := range append(append([]usermgmt.Role(nil), u.Roles...), u.DirectRoles...) {
			if err := checkText(string(r)); err != nil {
				return err
			}
		}
		var lastMail *time.Time
		if !u.LastMailAt.IsZero() {
			lastMail = &u.LastMailAt
		}
		rows[i] = importRow{ID: u.ID.String(), TenantID: u.TenantID, Email: u.Email, Status: string(u.Status),
			Roles: strs(u.Roles), MFAEnabled: u.MFAEnabled, LastLoginAt: u.LastLoginAt, ActivatedAt: u.ActivatedAt,
			CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, InviteExpiresAt: u.InviteExpiresAt,
			DirectRoles: strs(u.DirectRoles), DisplayName: u.DisplayName, GivenName: u.GivenName,
			FamilyName: u.FamilyName, ExternalID: u.ExternalID, DeprovisionedAt: u.DeprovisionedAt,
			EmployeeNumber: u.EmployeeNumber, Department: u.Department, ManagerID: u.ManagerID,
			PasswordHash: u.PasswordHash, MFASecret: u.MFASecret, MFALastStep: u.MFALastStep,
			RecoveryCodes: joinHashes(u.RecoveryCodes), LastMailAt: lastMail}
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if _, err := t.db.ExecContext(ctx, "SAVEPOINT usermgmt_create_users"); err != nil {
		return mapErr(err)
	}
	if _, err := t.db.ExecContext(ctx, t.q().createUsers, string(batch)); err != nil {
		if _, rerr := t.db.ExecContext(ctx, "ROLLBACK TO SAVEPOINT usermgmt_create_users"); rerr != nil {
			return mapErr(rerr)
		}
		return mapErr(err)
	}
	if _, err := t.db.ExecContext(ctx, "RELEASE SAVEPOINT usermgmt_create_users"); err != nil {
		return mapErr(err)
	}
	for i := range us {
		us[i].Version = 1
	}
	return nil
}

func strs[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func (t *tx) GetUsersByEmail(ctx context.Context, tenantID string, emails []string) ([]usermgmt.UserRecord, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	rows, err := t.db.QueryContext(ctx, t.q().getUsersByEmail, arrayArg(emails), tenantID)
	return collect(rows, err, scanUserRecord, len(emails))
}
