// The account view: the signed-in person's own account. Who they are
// signed in as, change password, recovery codes. Each part is a section
// of account.html with its own init function here.
"use strict";

(function (ui) {
  const { cfg, $, el, call, showError, clearErrors, chosenPassword, busy, go } = ui;

  // signedOut sends the person to log in, back here afterwards.
  const signedOut = () => go(cfg.login + "?next=" + encodeURIComponent(location.pathname));
  const say = (msg) => { if (ui.toast) ui.toast(msg); else ui.announce(msg); };

  // wrongInput decides where an error of a form belongs. A 401 is either
  // the input (a wrong password or code) or a session that ended: the
  // error's field says which when the server names one; otherwise the
  // session is asked (GET /account refreshes it if it can).
  async function wrongInput(err, field) {
    if (err.status !== 401) return true;
    if (err.field) return err.field === field;
    try { await call("GET", "/account"); return true; } catch (e) { return false; }
  }

  // ---- Signed in as ---------------------------------------------------------
  function showWho(acc, roles) {
    $("account-email").textContent = acc.user.email;
    $("account-username").value = acc.user.email;
    $("account-tenant").textContent = acc.tenant_id;
    $("account-mfa").textContent = acc.mfa_enabled ? "On (authenticator app)" : "Not set up";
    const byName = new Map((roles || []).map((r) => [r.name, r]));
    const items = acc.user.roles.map((name) => {
      const r = byName.get(name) || { name };
      return el("li", { dataset: { role: name } },
        el("span", { class: "role-name", text: r.display_name || r.name }),
        r.description ? el("span", { class: "desc", text: r.description }) : null);
    });
    $("account-roles").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "No roles" })]));
    $("account-who").hidden = false;
  }

  // ---- Change password ------------------------------------------------------
  function initPassword() {
    const form = $("change-password-form"), current = $("current-password");
    form.addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors(form); $("password-changed").hidden = true;
      if (!current.value) { showError("current-password-error", "Enter your current password.", current); return; }
      const next = chosenPassword("account-new-password"); if (!next) return;
      const b = $("change-password-submit"); busy(b, true);
      try {
        await call("POST", "/auth/password", { current_password: current.value, new_password: next });
        form.reset();
        $("password-changed").hidden = false; $("password-changed").focus();
        say("Password changed. Your other sessions were signed out.");
      } catch (err) {
        if (err.code === "invalid" && (!err.field || err.field === "new_password")) {
          showError("account-new-password-error", err.message, $("account-new-password"));
        } else if (err.status === 401) {
          if (await wrongInput(err, "current_password")) showError("current-password-error", err.message, current);
          else signedOut();
        } else if (err.code === "rate_limited") {
          showError("current-password-error", err.message, current);
        } else showError("account-error", err.message);
      } finally { busy(b, false); }
    });
    $("account-password").hidden = false;
  }

  // ---- Recovery codes -------------------------------------------------------
  function showLeft(acc) {
    const n = acc.recovery_codes_left;
    $("recovery-left").textContent = n + " recovery code" + (n === 1 ? "" : "s") + " left"
      + (acc.mfa_enabled && n <= 3 ? ". Make new ones soon." : "");
    $("recovery-left").hidden = !acc.mfa_enabled;
    $("recovery-about").hidden = !acc.mfa_enabled;
    $("recovery-none").hidden = acc.mfa_enabled;
    $("regenerate-form").hidden = !acc.mfa_enabled;
  }
  function initRecovery(acc) {
    showLeft(acc);
    const form = $("regenerate-form"), input = $("regenerate-code");
    form.addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors(form);
      const code = input.value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(code)) { showError("regenerate-code-error", "Enter the 6 digits your app shows.", input); return; }
      const b = $("regenerate-submit"); busy(b, true);
      try {
        const res = await call("POST", "/account/recovery-codes", { code });
        showLeft(Object.assign(acc, { recovery_codes_left: res.recovery_codes.length }));
        input.value = ""; form.hidden = true; // until the new codes are put away
        ui.recoveryCodes($("new-codes-list"), res.recovery_codes,
          { account: acc.user.email, label: "Your new recovery codes" });
        $("new-codes").hidden = false; $("new-codes-title").focus();
        say("New recovery codes made. Your old codes no longer work.");
      } catch (err) {
        if (err.status === 401) {
          if (await wrongInput(err, "code")) showError("regenerate-code-error", err.message, input);
          else signedOut();
        } else if (err.code === "invalid" || err.code === "rate_limited") {
          showError("regenerate-code-error", err.message, input);
        } else showError("account-error", err.message);
      } finally { busy(b, false); }
    });
    $("new-codes-done").addEventListener("click", () => {
      $("new-codes").hidden = true; $("new-codes-list").replaceChildren(); // shown once
      form.hidden = false; $("recovery-left").focus();
    });
    $("recovery-left").tabIndex = -1;
    $("account-recovery").hidden = false;
  }

  async function initAccount() {
    $("account-sign-out").addEventListener("click", async () => { try { await call("POST", "/auth/logout"); } finally { go(cfg.login); } });
    let acc, roles;
    try {
      [acc, roles] = await Promise.all([call("GET", "/account"), call("GET", "/roles").then((r) => r.roles, () => [])]);
    } catch (e) {
      if (e.status === 401) { signedOut(); return; }
      $("account-loading").hidden = true; showError("account-error", e.message); return;
    }
    $("account-loading").hidden = true;
    showWho(acc, roles);
    initPassword();
    initRecovery(acc);
    ui.sessionsSection($("account-sessions-list"), {
      load: () => call("GET", "/account/sessions"),
      revokeSession: (s) => call("DELETE", "/account/sessions/" + s.id),
      revokeDevice: (d) => call("DELETE", "/account/devices/" + d.id),
      onSignedOut: () => go(cfg.login),
      headingLevel: 3,
    });
  }

  ui.views.account = initAccount;
})(window.usermgmtUI);
