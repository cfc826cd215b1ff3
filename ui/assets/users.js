// The Settings → Users view: the list, the detail panel and its dialogs.
"use strict";

(function (ui) {
  const { cfg, $, el, announce, call, showError, clearErrors, busy, focusFirst, keepInside, go, toast, exact, timeEl } = ui;

  // ---- Settings → Users ---------------------------------------------------
  function statusBadge(s) { return el("span", { class: "status status-" + s, text: s }); }
  // The labels of event types and mail kinds come from GET /meta (Go owns
  // them); an unknown value shows as itself.
  let eventLabels = {}, mailKinds = {};
  const labels = (list) => Object.fromEntries((list || []).map((l) => [l.value, l.label]));
  const mailLimit = 50; // the notice lists the newest mail only
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);


  // The actions of a user the panel and the row offer, by the server's
  // allowed_actions and action_reasons: allowed, offered but refused with
  // the reason beside it, or not offered.
  const offer = (u, a) => (u.allowed_actions || []).includes(a) ? "yes" : ((u.action_reasons || {})[a] ? "why" : "no");
  const lockedText = (u) => "Sign-in paused until " + exact(u.locked_until);
  // personName is the name the identity provider gave, "" without one; an
  // erased user (whose email is a placeholder) is "Erased user".
  const personName = (u) => u.erased ? "Erased user"
    : u.display_name || [u.given_name, u.family_name].filter(Boolean).join(" ");
  // Where a user's role comes from: the groups that give it (group_roles),
  // and whether it was granted directly too.
  const groupsGiving = (u, role) => (u.group_roles || []).filter((g) => g.role === role).map((g) => g.group);
  const direct = (u, role) => (u.direct_roles || u.roles).includes(role);
  const viaText = (groups) => "via " + groups.join(", ");
  // lacksSources tells a user whose roles come from groups that an answer
  // did not name (the answers of role changes and actions may leave
  // group_roles out; GET /users/{id} fills it).
  const lacksSources = (u) => !(u.group_roles || []).length && u.roles.some((r) => !direct(u, r));
  const theGroups = (groups) => (groups.length > 1 ? "the groups " : "the group ") + groups.join(", ");

  async function initUsers() {
    const state = { roles: [], status: "", role: "", q: "", cursor: "", users: [], selected: null, activityCursor: "",
      pending: null, mailSeq: 0, listSeq: 0, loaded: false };
    let me;
    try { me = await call("GET", "/me"); } catch (e) {
      if (e.status === 401) { go(cfg.login + "?next=" + encodeURIComponent(location.pathname)); return; }
      showError("list-error", e.message); return;
    }
    const can = (p) => me.permissions.includes(p);
    $("me-email").textContent = "Signed in as " + me.user.email;
    $("nav-provisioning").hidden = !ui.isTenantAdmin(me);
    $("sign-out").addEventListener("click", async () => { try { await call("POST", "/auth/logout"); } finally { go(cfg.login); } });
    if (!can("users.list")) {
      $("users-ui").hidden = true; $("invite-open").hidden = true;
      const n = $("no-access"); n.hidden = false;
      n.textContent = "You are signed in as " + me.user.email + ". Your roles (" + me.user.roles.join(", ") + ") do not include managing users.";
      return;
    }
    $("invite-open").hidden = !can("users.invite");
    ui.initExports(can, () => ({ status: state.status, role: state.role, q: state.q }));
    try {
      const m = await ui.meta();
      eventLabels = labels(m.event_types); mailKinds = labels(m.mail_kinds);
    } catch (e) { /* values show as they are */ }
    try { state.roles = (await call("GET", "/roles")).roles; } catch (e) { showError("list-error", e.message); }
    const roleDef = (name) => state.roles.find((r) => r.name === name) || { name, display_name: name, description: "" };
    fillRoleFilter();
    fillInviteRoles();

    // ---- URL state ----
    // The status badge, the role filter, the search and the open user live
    // in the address (?status=&role=&q=&user=), so back, forward, reload
    // and a shared link show the same list.
    function readURL() {
      const p = new URLSearchParams(location.search);
      state.status = ["active", "invited", "deactivated"].includes(p.get("status")) ? p.get("status") : "";
      state.role = state.roles.some((r) => r.name === p.get("role")) ? p.get("role") : "";
      state.q = (p.get("q") || "").trim();
      return p.get("user") || "";
    }
    function writeURL(push) {
      const p = new URLSearchParams();
      if (state.status) p.set("status", state.status);
      if (state.role) p.set("role", state.role);
      if (state.q) p.set("q", state.q);
      if (state.selected) p.set("user", state.selected.id);
      const url = location.pathname + (p.toString() ? "?" + p.toString() : "");
      if (url === location.pathname + location.search) return;
      if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
    }
    function showFilters() {
      document.querySelectorAll(".badge-filter").forEach((o) => o.setAttribute("aria-pressed", o.dataset.status === state.status ? "true" : "false"));
      $("role-filter").value = state.role;
      if ($("search").value.trim() !== state.q) $("search").value = state.q;
    }
    window.addEventListener("popstate", async () => {
      const id = readURL(); showFilters();
      await load(false);
      if (id && (!state.selected || state.selected.id !== id)) openPanel(id, false);
      else if (!id && state.selected) closePanel(false);
    });

    // Badges and the role filter filter the list; the search bar filters by email.
    document.querySelectorAll(".badge-filter").forEach((b) => b.addEventListener("click", () => {
      state.status = b.dataset.status; showFilters(); writeURL(true); load(false);
    }));
    $("role-filter").addEventListener("change", () => { state.role = $("role-filter").value; writeURL(true); load(false); });
    let timer = 0;
    const search = () => { const q = $("search").value.trim(); if (q === state.q) return; state.q = q; writeURL(true); load(false); };
    $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(timer); search(); });
    $("empty-clear-search").addEventListener("click", () => {
      $("search").value = ""; state.q = ""; writeURL(true); load(false); $("search").focus();
    });
    $("empty-clear-filters").addEventListener("click", () => {
      state.status = ""; state.role = ""; showFilters(); writeURL(true); load(false);
      document.querySelector('.badge-filter[data-status=""]').focus();
    });
    $("users-more").addEventListener("click", () => load(true));
    $("list-warning-close").addEventListener("click", () => { $("list-warning").hidden = true; focusFirst($("mail-summary"), $("main-users")); });
    const first = readURL(); showFilters();
    await Promise.all([load(false), refreshMail()]);
    if (first) openPanel(first, false);

    // load reads a page of the list; of overlapping loads only the latest
    // renders.
    async function load(more) {
      const seq = ++state.listSeq;
      const params = new URLSearchParams();
      if (state.status) params.set("status", state.status);
      if (state.role) params.set("role", state.role);
      if (state.q) params.set("q", state.q);
      if (more && state.cursor) params.set("cursor", state.cursor);
      showError("list-error", "");
      document.querySelector("table.users").setAttribute("aria-busy", "true");
      const moreButton = $("users-more"); if (more) busy(moreButton, true);
      let page;
      try { page = await call("GET", "/users?" + params.toString()); } catch (e) {
        if (seq === state.listSeq) { showError("list-error", e.message); $("list-loading").hidden = true; }
        return;
      } finally { if (more) busy(moreButton, false); }
      if (seq !== state.listSeq) return;
      state.loaded = true;
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
      $("list-loading").hidden = state.loaded;
      document.querySelector("table.users").setAttribute("aria-busy", state.loaded ? "false" : "true");
      renderEmpty();
      $("users-more").hidden = !state.cursor;
    }
    // renderEmpty says why the list is empty, and the way back.
    function renderEmpty() {
      const empty = state.loaded && state.users.length === 0;
      $("empty").hidden = !empty;
      if (!empty) return;
      const filtered = state.status || state.role;
      let what = state.status ? state.status + " users" : "users";
      if (state.role) what += " with the role " + roleDef(state.role).display_name;
      let text;
      if (state.q) text = "No " + (filtered ? what : "users") + " match “" + state.q + "”.";
      else if (filtered) text = "No " + what + ".";
      else text = "No users yet. Invite someone to get started.";
      $("empty-text").textContent = text;
      $("empty-clear-search").hidden = !state.q;
      $("empty-clear-filters").hidden = !filtered;
    }
    // roleChips names each role; one a group gives says which ("via HR
    // Team"), in the chip and its title.
    function roleChips(u) {
      return el("ul", { class: "chips", "aria-label": "Roles" }, ...u.roles.map((r) => {
        const groups = groupsGiving(u, r), d = roleDef(r);
        const via = !groups.length ? "" : (direct(u, r) ? "also " : "") + viaText(groups);
        return el("li", { class: "chip" + (groups.length ? " chip-group" : ""), dataset: { role: r },
          title: d.description + (via ? " (" + (direct(u, r) ? "granted directly, and by " : "given by ")
            + theGroups(groups) + ")" : "") }, d.display_name, via ? el("span", { class: "via", text: " " + via }) : null);
      }));
    }
    // personCell is the name, where there is one, over the email.
    function personCell(u) {
      const name = personName(u);
      if (!name) return ui.breakable(u.email);
      if (u.erased) return [el("span", { class: "person-name", text: name })];
      return [el("span", { class: "person-name", text: name }), " ", el("span", { class: "person-email" }, ...ui.breakable(u.email))];
    }
    // markers are what the status alone does not say: a paused sign-in and
    // an expired invitation.
    function markers(u) {
      const out = [];
      if (u.locked_until) out.push(el("span", { class: "marker marker-locked", title: exact(u.locked_until), text: "Locked until " + exact(u.locked_until) }));
      if (u.invite_expired) out.push(el("span", { class: "marker marker-expired", title: "Expired " + exact(u.invite_expires_at), text: "Invitation expired" }));
      return out;
    }
    function row(u) {
      const actions = el("td", { class: "row-actions" });
      const err = el("span", { class: "error row-error", role: "alert", hidden: true });
      const rowButton = (a, text, cls, f) => {
        if (offer(u, a) !== "yes") return;
        actions.append(el("button", { type: "button", class: cls, text, dataset: { action: a }, "aria-label": text + " " + u.email,
          onclick: (e) => { e.stopPropagation(); f(u, e.currentTarget, err); } }));
      };
      rowButton("unlock", "Unlock", "primary", unlock);
      rowButton("resend_invite", "Resend Invite", "secondary", resend);
      rowButton("activate", "Activate", "primary", activate);
      rowButton("deactivate", "Deactivate", "danger", confirmDeactivate);
      actions.append(err);
      const tr = el("tr", { dataset: { id: u.id, email: u.email }, class: state.selected && state.selected.id === u.id ? "selected" : "" },
        el("td", { "data-label": "User" }, el("button", { type: "button", class: "link",
          "aria-label": "Open details of " + (u.erased ? "Erased user" : (personName(u) ? personName(u) + " " : "") + u.email),
          onclick: (e) => { e.stopPropagation(); openPanel(u.id); } }, ...personCell(u))),
        el("td", { "data-label": "Status" }, statusBadge(u.status), ...markers(u)),
        el("td", { "data-label": "Roles" }, roleChips(u)),
        el("td", { "data-label": "MFA", class: u.mfa_enabled ? "mfa-on" : "mfa-off", text: u.mfa }),
        el("td", { "data-label": "Last login" }, timeEl(u.last_login_at, "never")),
        actions);
      tr.addEventListener("click", () => openPanel(u.id));
      return tr;
    }
    // replaceUser puts a user the server returned everywhere it shows: the
    // row (or none, when it left the filtered list) and the panel.
    function replaceUser(u, read) {
      if (!read && lacksSources(u)) reread(u); // then again, with where its roles come from
      state.users = state.users.map((x) => (x.id === u.id ? u : x));
      if ((state.status && u.status !== state.status) || (state.role && !u.roles.includes(state.role))) {
        state.users = state.users.filter((x) => x.id !== u.id);
      }
      renderRows();
      if (state.selected && state.selected.id === u.id) renderPanel(u);
    }
    // reread fetches a user again after an action that returns nothing.
    async function reread(u) {
      try { replaceUser(await call("GET", "/users/" + u.id), true); } catch (e) { /* the action stands */ }
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
        toast("Invitation resent to " + u.email + ".");
        await reread(u);
        if (state.selected && state.selected.id === u.id) loadActivity(false);
        await refreshMail();
        return true;
      } catch (e) {
        report(err, e);
        if (e.code === "delivery_failed") await reread(u);
        if (e.code === "delivery_failed" && state.selected && state.selected.id === u.id) loadActivity(false);
        return false;
      } finally { busy(button, false); }
    }
    async function unlock(u, button, err) {
      busy(button, true); if (err) err.hidden = true;
      try {
        replaceUser(await call("POST", "/users/" + u.id + "/unlock"));
        toast("Sign-in unlocked for " + u.email + ".");
        if (state.selected && state.selected.id === u.id) { loadActivity(false); $("panel").focus(); }
      } catch (e) { report(err || $("actions-error"), e); }
      finally { busy(button, false); refocusAfter(u, button); }
    }
    async function activate(u, button, err) {
      busy(button, true); if (err) err.hidden = true;
      try { replaceUser(await call("POST", "/users/" + u.id + "/activate")); toast(u.email + " was activated."); refreshCounts(); refreshMail(); if (state.selected && state.selected.id === u.id) loadActivity(false); }
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
        toast(p.u.email + " was deactivated."); refreshCounts(); refreshMail(); // deactivating cancels their mail
        if (state.selected && state.selected.id === p.u.id) loadActivity(false);
      } catch (e) {
        report(p.err || $("actions-error"), e);
      } finally { busy(p.button, false); refocusAfter(p.u, p.button); }
    });

    // ---- Invite User ----
    // Roles are picked as checkboxes, each with its display name and
    // description; agent is checked by default.
    function fillInviteRoles() {
      $("invite-role-list").replaceChildren(...state.roles.map((r) => {
        const id = "invite-role-" + r.name;
        return el("li", {}, el("input", { type: "checkbox", id, value: r.name, name: "invite-role", "aria-describedby": id + "-desc" }),
          ui.roleLabel(r, id));
      }));
    }
    function resetInviteRoles() {
      const pick = state.roles.find((r) => r.name === "agent") || state.roles[0];
      document.querySelectorAll('input[name="invite-role"]').forEach((b) => { b.checked = !!pick && b.value === pick.name; });
    }
    function fillRoleFilter() {
      $("role-filter").replaceChildren(el("option", { value: "", text: "All roles" }),
        ...state.roles.map((r) => el("option", { value: r.name, text: r.display_name })));
    }
    $("invite-open").addEventListener("click", () => {
      clearErrors($("invite-form")); $("invite-email").value = ""; resetInviteRoles();
      $("invite-dialog").showModal(); $("invite-email").focus();
    });
    $("invite-cancel").addEventListener("click", () => $("invite-dialog").close());
    $("invite-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = $("invite-form"); clearErrors(form);
      const email = $("invite-email").value.trim();
      const roles = [...document.querySelectorAll('input[name="invite-role"]:checked')].map((b) => b.value);
      const firstRole = document.querySelector('input[name="invite-role"]');
      if (!email) { showError("invite-email-error", "Enter the user's email address.", $("invite-email")); return; }
      if (!roles.length) { showError("invite-role-error", "Pick at least one role.", firstRole); return; }
      const button = $("invite-send"); busy(button, true);
      try {
        const u = await call("POST", "/users/invitations", { email, roles });
        $("invite-dialog").close();
        toast("Invitation sent to " + u.email + ".");
        await Promise.all([load(false), refreshMail()]);
      } catch (err) {
        if (err.code === "delivery_failed") {
          // The user was created and the mail waits in the outbox: there
          // is nothing left to send from the dialog.
          $("invite-dialog").close();
          const msg = "Invitation to " + email + ": " + err.message;
          $("list-warning-text").textContent = msg; $("list-warning").hidden = false; announce(msg);
          await Promise.all([load(false), refreshMail()]);
        }
        else if (err.field === "email") showError("invite-email-error", err.message, $("invite-email"));
        else if (err.field === "role" || err.code === "permission_denied") showError("invite-role-error", err.message, firstRole);
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
    // While mail waits, the notice asks again every ui.mailPollMs, so a
    // retry that delivers clears it without a reload; it stops when
    // nothing waits.
    function pollMail(waiting) {
      clearTimeout(state.mailTimer);
      if (waiting) state.mailTimer = setTimeout(refreshMail, ui.mailPollMs || 15000);
    }
    function renderMail(page) {
      const mail = page.mail, more = !!page.next_cursor;
      pollMail(mail.some((m) => !m.failed));
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
    // openPanel shows a user; push says whether the open user goes into
    // the history (not when the address itself opened it).
    async function openPanel(id, push = true) {
      let u = state.users.find((x) => x.id === id);
      try { u = await call("GET", "/users/" + id); } catch (e) {
        if (!u) { showError("list-error", e.message); if (!push) writeURL(false); return; }
      }
      state.selected = u;
      renderRows();
      renderPanel(u);
      writeURL(push);
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
    $("panel-close").addEventListener("click", () => closePanel());
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("panel").hidden && !document.querySelector("dialog[open]")) closePanel(); });
    function closePanel(push = true) {
      const id = state.selected && state.selected.id;
      state.selected = null; $("panel").hidden = true; panelModal(); renderRows();
      writeURL(push);
      const b = id && document.querySelector('tr[data-id="' + id + '"] button.link');
      focusFirst(b, $("main-users"));
    }
    // panelButtons maps each action button of the panel to its action.
    const panelButtons = { "panel-resend": "resend_invite", "panel-unlock": "unlock", "panel-reset": "reset_password",
      "panel-logout": "force_logout", "panel-mfa-reset": "reset_mfa", "panel-deactivate": "deactivate",
      "panel-activate": "activate", "panel-erase": "erase" };
    const refused = (b) => b.getAttribute("aria-disabled") === "true";
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
      $("panel-title").replaceChildren(...(personName(u) ? [personName(u)] : ui.breakable(u.email)));
      $("panel-email").replaceChildren(...ui.breakable(u.email));
      $("panel-email").hidden = !personName(u) || u.erased;
      $("panel-status").replaceChildren(statusBadge(u.status));
      $("panel-mfa").textContent = u.mfa;
      $("panel-last-login").replaceChildren(timeEl(u.last_login_at, "never"));
      // What the identity provider's enterprise extension says, when it does.
      for (const [id, v] of [["department", u.department], ["employee", u.employee_number]]) {
        $("panel-" + id).textContent = v || "";
        $("panel-" + id + "-row").hidden = !v;
      }
      $("panel-locked-row").hidden = !u.locked_until;
      $("panel-locked").textContent = u.locked_until ? lockedText(u) + " after failed attempts." : "";
      $("panel-invite-row").hidden = u.status !== "invited" || !u.invite_expires_at;
      $("panel-invite").textContent = !u.invite_expires_at ? ""
        : u.invite_expired ? "Invitation expired " + exact(u.invite_expires_at) + ". Resend it to send a new link."
          : "Invitation link valid until " + exact(u.invite_expires_at) + ".";
      const roles = offer(u, "change_roles");
      const rolesWhy = (u.action_reasons || {}).change_roles || "";
      // A role a group gives cannot be turned off here: the toggle says
      // which group gives it. Held directly too, it can be revoked (the
      // group's grant stays).
      $("panel-roles").replaceChildren(...state.roles.map((r) => {
        const id = "role-" + r.name, groups = u.roles.includes(r.name) ? groupsGiving(u, r.name) : [];
        const onlyGroup = groups.length > 0 && !direct(u, r.name);
        const note = !groups.length ? null : el("span", { class: "via-note", id: id + "-via", text: onlyGroup
          ? "Given by " + theGroups(groups) + ": change it in your identity provider or on the Provisioning page."
          : "Also given by " + theGroups(groups) + ": turning it off here keeps it through the group." });
        const box = el("input", { type: "checkbox", id, role: "switch", checked: u.roles.includes(r.name),
          disabled: roles !== "yes" || onlyGroup,
          "aria-describedby": id + "-desc" + (note ? " " + id + "-via" : "") + (rolesWhy ? " roles-why" : "") });
        box.addEventListener("change", () => toggleRole(u, r.name, box));
        return el("li", { dataset: { role: r.name } }, box, el("label", { for: id },
          el("span", { class: "name", text: r.display_name }),
          el("span", { class: "desc", id: id + "-desc", text: r.description }), note));
      }));
      const rw = $("roles-why") || el("p", { id: "roles-why", class: "muted small" });
      if (!rw.isConnected) $("panel-roles").after(rw);
      rw.textContent = rolesWhy; rw.hidden = !rolesWhy;
      // Each action: offered, refused with its reason beside it (the
      // button stays focusable and is described by the reason), or absent.
      const why = [];
      for (const [id, a] of Object.entries(panelButtons)) {
        const b = $(id), o = offer(u, a);
        b.hidden = o === "no"; b.disabled = false;
        if (o === "why") {
          const wid = id + "-why";
          why.push(el("li", { id: wid, text: b.textContent + ": " + u.action_reasons[a] }));
          b.setAttribute("aria-disabled", "true"); b.setAttribute("aria-describedby", wid);
        } else { b.removeAttribute("aria-disabled"); b.removeAttribute("aria-describedby"); }
      }
      $("actions-why").replaceChildren(...why);
      $("actions-why").hidden = why.length === 0;
    }
    // toggleRole grants or revokes one role; revoking a user's last role
    // asks first.
    async function toggleRole(u, role, box) {
      const on = box.checked;
      if (!on && u.roles.length === 1 && u.roles[0] === role) {
        $("last-role-text").textContent = "Without " + roleDef(role).display_name + ", " + u.email
          + " will have no role at all and can do nothing in the product until given one.";
        const d = $("last-role-dialog"); d.returnValue = "";
        const answer = new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue), { once: true }));
        d.showModal();
        if ((await answer) !== "confirm") { box.checked = true; box.focus(); return; }
      }
      box.disabled = true; box.setAttribute("aria-busy", "true"); showError("roles-error", "");
      try {
        const nu = await call(on ? "PUT" : "DELETE", "/users/" + u.id + "/roles/" + encodeURIComponent(role));
        replaceUser(nu);
        const kept = !on && nu.roles.includes(role)
          ? " " + u.email + " still holds it " + viaText(groupsGiving(u, role)) + "." : "";
        toast((on ? "Granted " : "Revoked ") + roleDef(role).display_name + (on ? " to " : " from ") + u.email + "." + kept);
        loadActivity(false);
      } catch (e) { box.checked = !on; showError("roles-error", e.message); }
      finally {
        const b = $("role-" + role);
        const cur = state.selected || u;
        if (b) {
          b.disabled = offer(cur, "change_roles") !== "yes" || (cur.roles.includes(role) && !direct(cur, role));
          b.removeAttribute("aria-busy"); b.focus();
        }
      }
    }
    const panelAction = (id, f) => $(id).addEventListener("click", async (e) => {
      const u = state.selected; const b = e.currentTarget; if (!u || refused(b)) return;
      showError("actions-error", ""); $("actions-done").hidden = true; busy(b, true);
      try { await f(u, b); } catch (err) {
        report($("actions-error"), err);
        if (err.code === "delivery_failed") loadActivity(false);
      } finally { busy(b, false); }
    });
    $("panel-resend").addEventListener("click", (e) => { if (state.selected && !refused(e.currentTarget)) resend(state.selected, e.currentTarget, $("actions-error")); });
    $("panel-unlock").addEventListener("click", (e) => { if (state.selected && !refused(e.currentTarget)) unlock(state.selected, e.currentTarget, null); });
    panelAction("panel-reset", async (u) => {
      await call("POST", "/users/" + u.id + "/password-reset"); toast("Password reset email sent to " + u.email + ".");
      await reread(u); loadActivity(false);
    });
    // Force Logout of oneself ends this very session: it asks first, then
    // goes to the login page.
    panelAction("panel-logout", async (u) => {
      const self = u.id === me.user.id;
      const ask = { title: "Sign yourself out everywhere?", confirm: "Sign out everywhere", danger: true,
        text: "This ends every session of yours, this one included, and forgets your trusted devices. You will sign in again." };
      if (self && !(await ui.confirmAction(ask))) return;
      await call("POST", "/users/" + u.id + "/logout");
      if (self) { go(cfg.login); return; }
      toast("All sessions and trusted devices of " + u.email + " were revoked."); loadActivity(false);
      if (sessions) sessions.reload();
    });
    $("panel-deactivate").addEventListener("click", (e) => { if (state.selected && !refused(e.currentTarget)) confirmDeactivate(state.selected, e.currentTarget, null); });
    // Reset MFA asks first, in a modal <dialog>; outside sudo mode call()
    // asks for a code (confirmIdentity) and retries. The user's MFA then
    // shows "not enrolled" and a notice under the actions says it is done.
    $("panel-mfa-reset").addEventListener("click", (e) => {
      const u = state.selected; if (!u || refused(e.currentTarget)) return;
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
        toast(msg);
      } catch (e) {
        report($("actions-error"), e);
        if (!b.hidden) b.focus();
      } finally { busy(b, false); }
    });
    $("panel-activate").addEventListener("click", (e) => { if (state.selected && !refused(e.currentTarget)) activate(state.selected, e.currentTarget, null); });
    // Erase asks first, in a modal <dialog> that says what goes and that it
    // cannot be undone, and wants the user's email typed; outside sudo mode
    // call() asks for a code and retries. The panel then shows "Erased
    // user" with the activity that is left, and a notice says it is done.
    $("panel-erase").addEventListener("click", (e) => {
      const u = state.selected; if (!u || refused(e.currentTarget)) return;
      clearErrors($("erase-form")); $("erase-email").value = "";
      $("erase-text").textContent = "This deletes the email address, name and profile of " + u.email
        + ", their password, authenticator app and recovery codes, every session and trusted device, their links"
        + " and mail not yet delivered, and their group memberships. Their activity stays in the log as that of"
        + " “Erased user”, without email, IP address or browser.";
      $("erase-email-label").textContent = "Type " + u.email + " to confirm";
      $("erase-dialog").showModal(); $("erase-email").focus();
    });
    $("erase-cancel").addEventListener("click", () => $("erase-dialog").close());
    $("erase-dialog").addEventListener("close", () => { if (!$("panel-erase").hidden) $("panel-erase").focus(); });
    $("erase-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const u = state.selected, b = $("erase-ok"); if (!u) return;
      clearErrors($("erase-form"));
      if ($("erase-email").value.trim().toLowerCase() !== u.email) {
        const why = "Type " + u.email + " exactly: it confirms which user you erase.";
        showError("erase-email-error", why, $("erase-email"));
        return;
      }
      busy(b, true);
      try { await call("POST", "/users/" + u.id + "/erase"); } catch (err) {
        showError("erase-error", err.message); return;
      } finally { busy(b, false); }
      $("erase-dialog").close();
      let nu = { ...u, erased: true, status: "deactivated", allowed_actions: ["read_activity"], action_reasons: {} };
      try { nu = await call("GET", "/users/" + u.id); } catch (err) { /* the erasure stands; show it */ }
      replaceUser(nu, true); refreshCounts(); refreshMail();
      const msg = "Personal data erased: the user shows as “Erased user” from now on.";
      if (state.selected && state.selected.id === u.id) {
        $("actions-done").textContent = msg; $("actions-done").hidden = false; $("actions-done").focus();
        loadActivity(false);
      }
      toast(msg);
    });

    // ---- Activity ----
    $("activity-more").addEventListener("click", () => loadActivity(true));
    async function loadActivity(more) {
      const u = state.selected; if (!u) return;
      if (offer(u, "read_activity") !== "yes") { $("activity").replaceChildren(el("li", { text: "Your roles do not include reading activity." })); return; }
      const params = new URLSearchParams({ limit: "10" });
      if (more && state.activityCursor) params.set("cursor", state.activityCursor);
      showError("activity-error", "");
      let page;
      try { page = await call("GET", "/users/" + u.id + "/activity?" + params.toString()); } catch (e) { showError("activity-error", e.message); return; }
      if (!state.selected || state.selected.id !== u.id) return;
      const items = page.events.map((ev) => {
        let what = eventLabels[ev.type] || ev.type;
        if (ev.detail) what += ": " + ev.detail;
        const by = ev.actor_email ? "by " + ev.actor_email
          : ev.actor_name ? "by " + ev.actor_name : (ev.actor_id ? "by another user" : "");
        const meta = [by, ev.ip ? "from " + ev.ip : ""].filter(Boolean).join(" · ");
        return el("li", { dataset: { type: ev.type } }, el("span", { class: "what", text: what }),
          el("span", { class: "meta" }, timeEl(ev.created_at), meta ? " · " + meta : ""));
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
