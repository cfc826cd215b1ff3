// The Settings → Users view: the list, the detail panel and its dialogs.
"use strict";

(function (ui) {
  const { cfg, $, el, announce, call, showError, clearErrors, busy, focusFirst, keepInside, go } = ui;

  // ---- Settings → Users ---------------------------------------------------
  function statusBadge(s) { return el("span", { class: "status status-" + s, text: s }); }
  const eventLabels = {
    "user.created": "Account created", "user.invited": "Invitation sent", "invite.resent": "Invitation resent",
    "invite.accepted": "Invitation accepted", "login.succeeded": "Logged in", "login.failed": "Login failed",
    "login.locked": "Sign-in paused after failed attempts",
    "logout": "Logged out", "mfa.enrolled": "Enrolled in MFA", "mfa.verified": "MFA verified", "mfa.failed": "MFA code refused",
    "mfa.recovery_code_used": "Recovery code used", "mfa.reset": "MFA reset", "role.granted": "Role granted",
    "role.revoked": "Role revoked", "password.reset_requested": "Password reset requested",
    "password.reset_completed": "Password reset completed",
    "password.changed": "Password changed", "device.trusted": "Device trusted",
    "sessions.revoked": "Sessions and trusted devices revoked", "user.deactivated": "Deactivated", "user.activated": "Activated",
    "session.refreshed": "Session refreshed", "session.refresh_reused": "Reused refresh token: session revoked", "mail.failed": "Mail could not be delivered",
    "sudo.verified": "Confirmed identity for a sensitive action", "mfa.recovery_codes_regenerated": "Recovery codes replaced",
    "session.revoked": "Session revoked", "device.revoked": "Trusted device revoked",
  };

  const mailKinds = { invite: "Invitation", password_reset: "Password reset", password_changed: "Password changed notice", mfa_reset: "MFA reset notice",
    sign_in_paused: "Sign-in paused notice" };
  const mailLimit = 50; // the notice lists the newest mail only
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);

  async function initUsers() {
    const state = { roles: [], status: "", q: "", cursor: "", users: [], selected: null, activityCursor: "", pending: null, mailSeq: 0 };
    let me;
    try { me = await call("GET", "/me"); } catch (e) {
      if (e.status === 401) { go(cfg.login + "?next=" + encodeURIComponent(location.pathname)); return; }
      showError("list-error", e.message); return;
    }
    const can = (p) => me.permissions.includes(p);
    $("me-email").textContent = "Signed in as " + me.user.email;
    $("sign-out").addEventListener("click", async () => { try { await call("POST", "/auth/logout"); } finally { go(cfg.login); } });
    if (!can("users.list")) {
      $("users-ui").hidden = true; $("invite-open").hidden = true;
      const n = $("no-access"); n.hidden = false;
      n.textContent = "You are signed in as " + me.user.email + ". Your roles (" + me.user.roles.join(", ") + ") do not include managing users.";
      return;
    }
    $("invite-open").hidden = !can("users.invite");
    try { state.roles = (await call("GET", "/roles")).roles; } catch (e) { showError("list-error", e.message); }
    fillRoleSelect();

    // Badges filter the list; the search bar filters by email.
    document.querySelectorAll(".badge-filter").forEach((b) => b.addEventListener("click", () => {
      state.status = b.dataset.status;
      document.querySelectorAll(".badge-filter").forEach((o) => o.setAttribute("aria-pressed", o === b ? "true" : "false"));
      load(false);
    }));
    let timer = 0;
    $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.q = $("search").value.trim(); load(false); }, 200); });
    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); state.q = $("search").value.trim(); load(false); });
    $("users-more").addEventListener("click", () => load(true));
    $("list-warning-close").addEventListener("click", () => { $("list-warning").hidden = true; focusFirst($("mail-summary"), $("main-users")); });
    await Promise.all([load(false), refreshMail()]);

    async function load(more) {
      const params = new URLSearchParams();
      if (state.status) params.set("status", state.status);
      if (state.q) params.set("q", state.q);
      if (more && state.cursor) params.set("cursor", state.cursor);
      showError("list-error", "");
      let page;
      try { page = await call("GET", "/users?" + params.toString()); } catch (e) { showError("list-error", e.message); return; }
      const had = more ? state.users.length : 0;
      state.users = more ? state.users.concat(page.users) : page.users;
      state.cursor = page.next_cursor;
      setCounts(page.counts);
      renderRows();
      // The last Load more hides itself: focus goes to the first new row.
      if (more) focusFirst(document.querySelector("#user-rows tr:nth-child(" + (had + 1) + ") button.link"), $("main-users"));
    }
    function setCounts(c) {
      for (const k of ["active", "invited", "deactivated", "all"]) document.querySelector('[data-count="' + k + '"]').textContent = String(c[k]);
    }
    async function refreshCounts() {
      try { setCounts((await call("GET", "/users?limit=1")).counts); } catch (e) { /* the list shows errors */ }
    }

    function renderRows() {
      const tb = $("user-rows");
      tb.replaceChildren(...state.users.map(row));
      $("empty").hidden = state.users.length > 0;
      $("users-more").hidden = !state.cursor;
    }
    function row(u) {
      const actions = el("td", { class: "row-actions" });
      const err = el("span", { class: "error row-error", role: "alert", hidden: true });
      if (u.status === "invited" && can("users.invite")) actions.append(el("button", { type: "button", class: "secondary", text: "Resend Invite",
        "aria-label": "Resend invite to " + u.email, onclick: (e) => { e.stopPropagation(); resend(u, e.currentTarget, err); } }));
      if (can("users.deactivate") && u.id !== me.user.id) {
        if (u.status === "deactivated") actions.append(el("button", { type: "button", class: "primary", text: "Activate",
          "aria-label": "Activate " + u.email, onclick: (e) => { e.stopPropagation(); activate(u, e.currentTarget, err); } }));
        else actions.append(el("button", { type: "button", class: "danger", text: "Deactivate",
          "aria-label": "Deactivate " + u.email, onclick: (e) => { e.stopPropagation(); confirmDeactivate(u, e.currentTarget, err); } }));
      }
      actions.append(err);
      const tr = el("tr", { dataset: { id: u.id, email: u.email }, class: state.selected && state.selected.id === u.id ? "selected" : "" },
        el("td", { "data-label": "Email" }, el("button", { type: "button", class: "link", text: u.email, "aria-label": "Open details of " + u.email,
          onclick: (e) => { e.stopPropagation(); openPanel(u.id); } })),
        el("td", { "data-label": "Status" }, statusBadge(u.status)),
        el("td", { "data-label": "MFA", class: u.mfa_enabled ? "mfa-on" : "mfa-off", text: u.mfa }),
        el("td", { "data-label": "Last login", text: u.last_login, title: u.last_login_at ? new Date(u.last_login_at).toLocaleString() : "never logged in" }),
        actions);
      tr.addEventListener("click", () => openPanel(u.id));
      return tr;
    }
    function replaceUser(u) {
      state.users = state.users.map((x) => (x.id === u.id ? u : x));
      if (state.status && u.status !== state.status) state.users = state.users.filter((x) => x.id !== u.id);
      renderRows();
      if (state.selected && state.selected.id === u.id) renderPanel(u);
    }

    // report shows why an action failed, next to it. delivery_failed is
    // a warning, not a failure: the change was saved and its mail waits in
    // the outbox, so the mail notice is refreshed.
    function report(p, e) {
      p.textContent = e.message; p.hidden = false;
      p.classList.toggle("warn", e.code === "delivery_failed");
      if (e.code === "delivery_failed") refreshMail();
    }
    // resend is the one Resend Invite of the row, the panel and the mail
    // notice. It reports whether the invitation went.
    async function resend(u, button, err) {
      busy(button, true); err.hidden = true;
      try {
        await call("POST", "/users/" + u.id + "/invitation/resend");
        announce("Invitation resent to " + u.email);
        if (state.selected && state.selected.id === u.id) loadActivity(false);
        await refreshMail();
        return true;
      } catch (e) {
        report(err, e);
        if (e.code === "delivery_failed" && state.selected && state.selected.id === u.id) loadActivity(false);
        return false;
      } finally { busy(button, false); }
    }
    async function activate(u, button, err) {
      busy(button, true); if (err) err.hidden = true;
      try { replaceUser(await call("POST", "/users/" + u.id + "/activate")); announce(u.email + " was activated"); refreshCounts(); refreshMail(); if (state.selected && state.selected.id === u.id) loadActivity(false); }
      catch (e) { report(err || $("actions-error"), e); }
      finally { busy(button, false); refocusAfter(u, button); }
    }
    // After a change of u's status the button used may be gone (the rows
    // are drawn anew) or hidden (the panel shows the other of Deactivate
    // and Activate): focus goes to its successor, not to the body.
    function refocusAfter(u, button) {
      const row = document.querySelector('tr[data-id="' + u.id + '"]');
      const inRow = row ? [row.querySelector(".row-actions button"), row.querySelector("button.link")] : [];
      const inPanel = [$("panel-activate"), $("panel-deactivate"), $("panel")];
      const fromPanel = !!button && $("panel").contains(button);
      focusFirst(...(fromPanel ? inPanel.concat(inRow) : inRow.concat(inPanel)), $("main-users"));
    }
    // Deactivate asks first, in a modal <dialog>.
    function confirmDeactivate(u, button, err) {
      const d = $("confirm-dialog");
      $("confirm-text").textContent = u.email + " will not be able to log in, and every session of theirs ends now. Their data is kept for audit and compliance; you can activate them again later.";
      state.pending = { u, button, err };
      d.returnValue = "";
      d.showModal();
    }
    $("confirm-dialog").addEventListener("close", async () => {
      const p = state.pending; state.pending = null;
      if (!p || $("confirm-dialog").returnValue !== "confirm") { if (p && p.button) p.button.focus(); return; }
      busy(p.button, true);
      try {
        replaceUser(await call("POST", "/users/" + p.u.id + "/deactivate"));
        announce(p.u.email + " was deactivated"); refreshCounts(); refreshMail(); // deactivating cancels their mail
        if (state.selected && state.selected.id === p.u.id) loadActivity(false);
      } catch (e) {
        report(p.err || $("actions-error"), e);
      } finally { busy(p.button, false); refocusAfter(p.u, p.button); }
    });

    // ---- Invite User ----
    function fillRoleSelect() {
      const sel = $("invite-role");
      sel.replaceChildren(...state.roles.map((r) => el("option", { value: r.name, text: r.name })));
      const pick = state.roles.find((r) => r.name === "agent") || state.roles[0];
      if (pick) sel.value = pick.name;
      const desc = () => { const r = state.roles.find((x) => x.name === sel.value); $("invite-role-desc").textContent = r ? r.description : ""; };
      sel.addEventListener("change", desc); desc();
    }
    $("invite-open").addEventListener("click", () => {
      clearErrors($("invite-form")); $("invite-email").value = "";
      $("invite-dialog").showModal(); $("invite-email").focus();
    });
    $("invite-cancel").addEventListener("click", () => $("invite-dialog").close());
    $("invite-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = $("invite-form"); clearErrors(form);
      const email = $("invite-email").value.trim();
      if (!email) { showError("invite-email-error", "Enter the user's email address.", $("invite-email")); return; }
      const button = $("invite-send"); busy(button, true);
      try {
        const u = await call("POST", "/users/invitations", { email, roles: [$("invite-role").value] });
        $("invite-dialog").close();
        announce("Invitation sent to " + u.email);
        await Promise.all([load(false), refreshMail()]);
      } catch (err) {
        const m = err.message.toLowerCase();
        if (err.code === "delivery_failed") {
          // The user was created and the mail waits in the outbox: there
          // is nothing left to send from the dialog.
          $("invite-dialog").close();
          const msg = "Invitation to " + email + ": " + err.message + ".";
          $("list-warning-text").textContent = msg; $("list-warning").hidden = false; announce(msg);
          await Promise.all([load(false), refreshMail()]);
        }
        else if (err.code === "conflict" || (err.code === "invalid" && m.includes("email"))) showError("invite-email-error", err.message, $("invite-email"));
        else if (m.includes("role") || err.code === "permission_denied") showError("invite-role-error", err.message, $("invite-role"));
        else showError("invite-error", err.message);
      } finally { busy(button, false); }
    });

    // ---- Mail not delivered yet ----
    // until says how far off an instant is, the way a person would.
    function until(iso) {
      const s = (Date.parse(iso) - Date.now()) / 1000;
      if (!(s > 0)) return "now";
      if (s < 60) return "in under a minute";
      if (s < 3600) return "in " + Math.ceil(s / 60) + " min";
      if (s < 48 * 3600) return "in " + Math.round(s / 3600) + " h";
      return "in " + Math.round(s / 86400) + " days";
    }
    // refreshMail shows the tenant's mail the outbox has not delivered yet,
    // above the list. Of overlapping calls, only the latest renders.
    async function refreshMail() {
      const seq = ++state.mailSeq;
      let page;
      try { page = await call("GET", "/mail/undelivered?limit=" + mailLimit); } catch (e) {
        if (seq === state.mailSeq && e.status === 403) $("mail-notice").hidden = true;
        return; // otherwise the notice keeps what it showed
      }
      if (seq !== state.mailSeq) return;
      renderMail(page);
    }
    function renderMail(page) {
      const mail = page.mail, more = !!page.next_cursor;
      $("mail-notice").hidden = mail.length === 0;
      if (!mail.length) { $("list-warning").hidden = true; $("mail-rows").replaceChildren(); return; } // all went: the warning is stale
      const failed = mail.filter((m) => m.failed).length;
      let sum = (more ? "More than " + mail.length + " mails" : plural(mail.length, "mail", "mails")) + " not delivered yet";
      if (failed) sum += " (" + (more ? "at least " : "") + failed + " failed)";
      $("mail-summary").textContent = sum;
      $("mail-more").textContent = more ? "Showing the newest " + mail.length + "." : "";
      $("mail-more").hidden = !more;
      $("mail-rows").replaceChildren(...mail.map(mailRow));
    }
    function mailRow(m) {
      const status = m.failed ? "failed after " + plural(m.attempts, "attempt", "attempts")
        : (m.last_error ? "retrying" : "queued") + ", next try " + until(m.next_attempt_at);
      const when = m.failed ? m.failed_at : m.next_attempt_at;
      const actions = el("td", { class: "row-actions" });
      // An invitation waits in the outbox only while its user is invited:
      // a newer link or a deactivation drops it.
      if (m.kind === "invite" && can("users.invite")) {
        const u = { id: m.user_id, email: m.to };
        const err = el("span", { class: "error row-error", role: "alert", hidden: true });
        actions.append(el("button", { type: "button", class: "secondary", text: "Resend Invite", "aria-label": "Resend invite to " + u.email,
          onclick: async (e) => {
            if (!(await resend(u, e.currentTarget, err))) return;
            await load(false);
            if (!document.activeElement || document.activeElement === document.body) ($("mail-notice").hidden ? $("main-users") : $("mail-summary")).focus();
          } }), err);
      }
      return el("tr", { dataset: { id: m.id, kind: m.kind, email: m.to } },
        el("td", { "data-label": "Recipient", text: m.to }),
        el("td", { "data-label": "Kind", text: mailKinds[m.kind] || m.kind }),
        el("td", { "data-label": "Status", class: m.failed ? "mail-failed" : "", text: status, title: when ? new Date(when).toLocaleString() : undefined }),
        el("td", { "data-label": "Last error", class: "mail-error", text: m.last_error || "—" }),
        actions);
    }

    // ---- Detail panel ----
    async function openPanel(id) {
      let u = state.users.find((x) => x.id === id);
      try { u = await call("GET", "/users/" + id); } catch (e) { if (!u) { showError("list-error", e.message); return; } }
      state.selected = u;
      renderRows();
      renderPanel(u);
      $("actions-done").hidden = true;
      $("panel").hidden = false;
      panelModal();
      $("panel").focus();
      loadActivity(false);
      showSessions(u);
    }
    // Sessions and devices: shown to whoever may force a logout (the
    // server says so per user in allowed_actions, when it does).
    let sessions = null;
    function showSessions(u) {
      const may = can("users.force_logout") && (!u.allowed_actions || u.allowed_actions.includes("list_sessions"));
      $("panel-sessions-section").hidden = !may;
      sessions = may ? ui.sessionsSection($("panel-sessions"), {
        load: () => call("GET", "/users/" + u.id + "/sessions"),
        revokeSession: (s) => call("DELETE", "/users/" + u.id + "/sessions/" + s.id),
        revokeDevice: (d) => call("DELETE", "/users/" + u.id + "/devices/" + d.id),
        onChange: () => loadActivity(false),
        onSignedOut: () => go(cfg.login),
      }) : null;
    }
    $("panel-close").addEventListener("click", closePanel);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("panel").hidden && !document.querySelector("dialog[open]")) closePanel(); });
    function closePanel() {
      const id = state.selected && state.selected.id;
      state.selected = null; $("panel").hidden = true; panelModal(); renderRows();
      const b = id && document.querySelector('tr[data-id="' + id + '"] button.link');
      focusFirst(b, $("main-users"));
    }
    // On a phone the panel covers the list: there it is a modal dialog, the
    // rest of the page inert and Tab cycling inside it (Escape closes it).
    // (function declarations: a row can be opened before this line runs)
    function onPhone() { return matchMedia("(max-width: 760px)").matches; }
    function panelModal() {
      const on = onPhone() && !$("panel").hidden;
      for (const e of [document.querySelector("a.skip"), document.querySelector("#view-users > .topbar"), $("main-users")]) {
        if (e) e.inert = on;
      }
      if (on) { $("panel").setAttribute("role", "dialog"); $("panel").setAttribute("aria-modal", "true"); }
      else { $("panel").removeAttribute("role"); $("panel").removeAttribute("aria-modal"); }
    }
    matchMedia("(max-width: 760px)").addEventListener("change", panelModal);
    keepInside($("panel"), onPhone);
    function renderPanel(u) {
      state.selected = u;
      clearErrors($("panel"));
      $("panel-title").replaceChildren(...ui.breakable(u.email));
      $("panel-status").replaceChildren(statusBadge(u.status));
      $("panel-mfa").textContent = u.mfa;
      $("panel-last-login").textContent = u.last_login;
      const mayRoles = can("users.roles");
      $("panel-roles").replaceChildren(...state.roles.map((r) => {
        const id = "role-" + r.name;
        const box = el("input", { type: "checkbox", id, role: "switch", checked: u.roles.includes(r.name), disabled: !mayRoles,
          "aria-describedby": id + "-desc" });
        box.addEventListener("change", () => toggleRole(u, r.name, box));
        return el("li", {}, box, el("label", { for: id }, el("code", { text: r.name }), el("span", { class: "desc", id: id + "-desc", text: r.description })));
      }));
      $("panel-resend").hidden = u.status !== "invited" || !can("users.invite");
      $("panel-reset").hidden = !can("users.reset_password");
      $("panel-reset").disabled = u.status !== "active";
      $("panel-logout").hidden = !can("users.force_logout");
      // Resetting one's own MFA would end one's own session: not offered here.
      $("panel-mfa-reset").hidden = !u.mfa_enabled || !can("users.reset_mfa") || u.id === me.user.id;
      $("panel-deactivate").hidden = u.status === "deactivated" || !can("users.deactivate");
      $("panel-activate").hidden = u.status !== "deactivated" || !can("users.deactivate");
    }
    async function toggleRole(u, role, box) {
      const on = box.checked; box.disabled = true; showError("roles-error", "");
      try {
        const nu = await call(on ? "PUT" : "DELETE", "/users/" + u.id + "/roles/" + encodeURIComponent(role));
        replaceUser(nu);
        announce((on ? "Granted " : "Revoked ") + role + (on ? " to " : " from ") + u.email);
        loadActivity(false);
      } catch (e) { box.checked = !on; showError("roles-error", e.message); }
      finally { const b = $("role-" + role); if (b) { b.disabled = !can("users.roles"); b.focus(); } }
    }
    const panelAction = (id, f) => $(id).addEventListener("click", async (e) => {
      const u = state.selected; const b = e.currentTarget; if (!u) return;
      showError("actions-error", ""); $("actions-done").hidden = true; busy(b, true);
      try { await f(u, b); } catch (err) {
        report($("actions-error"), err);
        if (err.code === "delivery_failed") loadActivity(false);
      } finally { busy(b, false); }
    });
    $("panel-resend").addEventListener("click", (e) => { if (state.selected) resend(state.selected, e.currentTarget, $("actions-error")); });
    panelAction("panel-reset", async (u) => { await call("POST", "/users/" + u.id + "/password-reset"); announce("Password reset email sent to " + u.email); loadActivity(false); });
    panelAction("panel-logout", async (u) => { await call("POST", "/users/" + u.id + "/logout"); announce("All sessions and trusted devices of " + u.email + " were revoked"); loadActivity(false);
      if (sessions) sessions.reload(); });
    $("panel-deactivate").addEventListener("click", (e) => { if (state.selected) confirmDeactivate(state.selected, e.currentTarget, null); });
    // Reset MFA asks first, in a modal <dialog>; outside sudo mode call()
    // asks for a code (confirmIdentity) and retries. The user's MFA then
    // shows "not enrolled" and a notice under the actions says it is done.
    $("panel-mfa-reset").addEventListener("click", () => {
      const u = state.selected; if (!u) return;
      $("mfa-reset-text").textContent = u.email
        + " will have to set up their authenticator app again at next sign-in; all their sessions end.";
      const d = $("mfa-reset-dialog"); d.returnValue = ""; d.showModal();
    });
    $("mfa-reset-dialog").addEventListener("close", async () => {
      const u = state.selected, b = $("panel-mfa-reset");
      if (!u || $("mfa-reset-dialog").returnValue !== "confirm") { b.focus(); return; }
      showError("actions-error", ""); $("actions-done").hidden = true; busy(b, true);
      try {
        await call("POST", "/users/" + u.id + "/mfa-reset");
        let nu = { ...u, mfa_enabled: false, mfa: "not enrolled" };
        try { nu = await call("GET", "/users/" + u.id); } catch (e) { /* the reset stands; show it */ }
        replaceUser(nu);
        const msg = "MFA reset: " + u.email + " will set up their authenticator app again at next sign-in.";
        if (state.selected && state.selected.id === u.id) {
          $("actions-done").textContent = msg; $("actions-done").hidden = false; $("actions-done").focus();
          loadActivity(false);
        }
        announce(msg);
      } catch (e) {
        report($("actions-error"), e);
        if (!b.hidden) b.focus();
      } finally { busy(b, false); }
    });
    $("panel-activate").addEventListener("click", (e) => { if (state.selected) activate(state.selected, e.currentTarget, null); });

    // ---- Activity ----
    $("activity-more").addEventListener("click", () => loadActivity(true));
    async function loadActivity(more) {
      const u = state.selected; if (!u) return;
      if (!can("users.activity")) { $("activity").replaceChildren(el("li", { text: "Your roles do not include reading activity." })); return; }
      const params = new URLSearchParams({ limit: "10" });
      if (more && state.activityCursor) params.set("cursor", state.activityCursor);
      showError("activity-error", "");
      let page;
      try { page = await call("GET", "/users/" + u.id + "/activity?" + params.toString()); } catch (e) { showError("activity-error", e.message); return; }
      if (!state.selected || state.selected.id !== u.id) return;
      const items = page.events.map((ev) => {
        let what = eventLabels[ev.type] || ev.type;
        if (ev.detail) what += ": " + ev.detail;
        const by = ev.actor_email ? "by " + ev.actor_email : (ev.actor_id ? "by another user" : "");
        const meta = [new Date(ev.created_at).toLocaleString(), by, ev.ip ? "from " + ev.ip : ""].filter(Boolean).join(" · ");
        return el("li", { dataset: { type: ev.type } }, el("span", { class: "what", text: what }), el("span", { class: "meta", text: meta }));
      });
      if (more) $("activity").append(...items); else $("activity").replaceChildren(...items);
      state.activityCursor = page.next_cursor;
      $("activity-more").hidden = !page.next_cursor;
      // The last Load more hides itself: focus goes to the first new event.
      if (more && items.length) { items[0].tabIndex = -1; focusFirst(items[0]); }
      if (more && items.length) announce(items.length + " older events loaded");
    }
  }

  ui.views.users = initUsers;
})(window.usermgmtUI);
