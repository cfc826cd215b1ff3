package httpapi

import (
	"net/http"

	"github.com/usermgmt/usermgmt"
)

// Account is GET /account: the signed-in person's own account, for the
// account page. The role names are the catalogue's (GET /roles describes
// them); RecoveryCodesLeft is 0 without TOTP.
type Account struct {
	User              User   `json:"user"`
	TenantID          string `json:"tenant_id"`
	MFAEnabled        bool   `json:"mfa_enabled"`
	RecoveryCodesLeft int    `json:"recovery_codes_left"`
}

// account serves the caller's own account: a self route, so it reads as
// trusted code, and only the principal's own user.
func (h *Handler) account(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	u, err := h.m.GetUser(r.Context(), p.TenantID, p.UserID)
	if err != nil {
		if usermgmt.ErrorCode(err) == usermgmt.CodeNotFound {
			return errorf(usermgmt.CodeUnauthenticated, "not signed in")
		}
		return err
	}
	left, err := h.m.RecoveryCodesLeft(r.Context(), p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Account{User: h.user(u, h.now()), TenantID: p.TenantID, MFAEnabled: u.MFAEnabled,
		RecoveryCodesLeft: left})
	return nil
}

// RecoveryCodesRequest is the body of POST /account/recovery-codes: a
// TOTP code from the signed-in person's authenticator app.
type RecoveryCodesRequest struct {
	Code string `json:"code"`
}

// RecoveryCodes answers POST /account/recovery-codes: the new codes, shown
// only in this answer.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// regenerateRecoveryCodes replaces the recovery codes of the person whose
// library session makes the request. Like POST /auth/password it acts on
// that session itself: a host with sessions of its own calls
// Manager.RegenerateRecoveryCodes itself.
func (h *Handler) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	var req RecoveryCodesRequest
	if err := h.decode(w, r, &req, false); err != nil {
		return err
	}
	tok, err := h.ownSession(r, groupMFA)
	if err != nil {
		return err
	}
	codes, err := h.m.RegenerateRecoveryCodes(r.Context(), tok, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, RecoveryCodes{RecoveryCodes: codes})
	return nil
}
