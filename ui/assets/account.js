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
    $("account-sign-out").addEventListener("click", async () => { try { await call("POST", "/auth/logout"); } finally { go(cfg.login); } });
  }

  ui.views.account = initAccount;
})(window.usermgmtUI);
