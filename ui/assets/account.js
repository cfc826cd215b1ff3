// The account view: the signed-in person's own account.
"use strict";

(function (ui) {
  const { cfg, $, call, showError, go } = ui;

  async function initAccount() {
    let me;
    try { me = await call("GET", "/me"); } catch (e) {
      if (e.status === 401) { go(cfg.login + "?next=" + encodeURIComponent(location.pathname)); return; }
      showError("account-error", e.message); return;
    }
    $("account-email").textContent = me.user.email;
    ui.sessionsSection($("account-sessions-list"), {
      load: () => call("GET", "/account/sessions"),
      revokeSession: (s) => call("DELETE", "/account/sessions/" + s.id),
      revokeDevice: (d) => call("DELETE", "/account/devices/" + d.id),
      onSignedOut: () => go(cfg.login),
      headingLevel: 3,
    });
    $("account-sign-out").addEventListener("click", async () => { try { await call("POST", "/auth/logout"); } finally { go(cfg.login); } });
  }

  ui.views.account = initAccount;
})(window.usermgmtUI);
