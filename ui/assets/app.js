// The Settings → Users page and the person pages, over the httpapi JSON
// API. Plain JavaScript, no build step. Every string from the server is
// put in the page with textContent, never as HTML.
//
// This file holds what every view shares (the API call, errors, dialogs)
// as window.usermgmtUI; each view's file (users.js, person.js, ...) adds
// its init function to usermgmtUI.views, and the page's view starts once
// every script has run.
"use strict";

(function () {
  const body = document.body;
  const cfg = {
    api: body.dataset.api,
    users: body.dataset.usersPath,
    login: body.dataset.loginPath,
    forgot: body.dataset.forgotPath,
    invite: body.dataset.invitePath,
    reset: body.dataset.resetPath,
    account: body.dataset.accountPath,
    provisioning: body.dataset.provisioningPath,
    webhooks: body.dataset.webhooksPath,
    scim: body.dataset.scimPath,
  };
  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  };
  const announce = (msg) => { const l = $("live"); l.textContent = ""; setTimeout(() => { l.textContent = msg; }, 30); };

  // ---- API ----------------------------------------------------------------
  // An APIError carries the answer's code and, when the error is about
  // one input, its field (email, password, current_password, code, role,
  // token): the page places a message by these, never by its text.
  class APIError extends Error {
    constructor(status, code, message, field) {
      super(message); this.status = status; this.code = code; this.field = field || "";
    }
  }
  // signedIn is set once a call of the signed-in API succeeded on this page:
  // losing the session then is news to tell on the login page.
  let signedIn = false;
  // A person route (sign in, links, the meta, and what acts on the caller's
  // own session) needs no session refresh: its 401 may be about what was
  // typed (a password, a code), an answer to show, not a lost session.
  const isPerson = (path) => /^\/(auth|invitations|password|meta)\b/.test(path) || path === "/account/recovery-codes";
  async function call(method, path, data, retried) {
    const init = { method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (data !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(data); }
    let res;
    try { res = await fetch(cfg.api + path, init); } catch (e) { throw new APIError(0, "network", "Could not reach the server. Check your connection and try again."); }
    if (res.status === 204) { if (!isPerson(path)) signedIn = true; return null; }
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    if (res.ok) { if (!isPerson(path)) signedIn = true; return json; }
    const err = (json && json.error) || { code: "internal", message: "Something went wrong (" + res.status + ")." };
    const person = isPerson(path);
    // A sensitive action outside sudo mode: confirm with a code, then the request again, once.
    if (err.code === "mfa_required" && !retried && !person && await confirmIdentity()) {
      return call(method, path, data, true);
    }
    // An expired or idle session: one refresh, then the request again.
    if (res.status === 401 && err.code !== "mfa_required" && !retried && !person) {
      try {
        await call("POST", "/auth/refresh", undefined, true);
        return await call(method, path, data, true);
      } catch (e) {
        // The session is gone (idle timeout, signed out here or elsewhere):
        // to the login page, which brings the person back here.
        if (e.status === 401) return sessionEnded(signedIn || err.code === "expired");
      }
    }
    throw new APIError(res.status, err.code, err.message, err.field);
  }

  // sessionEnded leaves for the login page with the way back (next) and,
  // when a session was lost rather than never there, a notice to show.
  // The caller's promise never settles: nothing renders stale data or an
  // error on a page that is going away.
  function sessionEnded(notice) {
    const next = location.pathname + location.search + location.hash;
    go(cfg.login + "?next=" + encodeURIComponent(next) + (notice ? "&ended=1" : ""));
    return new Promise(() => {});
  }

  // confirmIdentity is sudo mode: the server wants a fresh proof that the
  // person at the keyboard is the one signed in. A modal dialog asks for a
  // code from the authenticator app (or a recovery code) and sends it to
  // POST /auth/sudo. It resolves true once confirmed, false if cancelled;
  // actions that ask at the same time share one dialog.
  let identityAsked = null;
  function confirmIdentity() {
    if (identityAsked) return identityAsked;
    let d = $("sudo-dialog");
    if (!d) {
      d = el("dialog", { id: "sudo-dialog", "aria-labelledby": "sudo-title", "aria-describedby": "sudo-text" },
        el("form", { id: "sudo-form", method: "dialog", novalidate: true },
          el("h2", { id: "sudo-title", text: "Confirm it is you" }),
          el("p", { id: "sudo-text", text: "This action needs a recent confirmation. Enter the code from your "
            + "authenticator app, or one of your recovery codes." }),
          el("div", { class: "field" },
            el("label", { for: "sudo-code", text: "Code" }),
            el("input", { id: "sudo-code", autocomplete: "one-time-code", inputmode: "numeric",
              "aria-describedby": "sudo-error" }),
            el("p", { id: "sudo-error", class: "error", role: "alert", hidden: true })),
          el("div", { class: "dialog-buttons" },
            el("button", { type: "button", id: "sudo-cancel", class: "secondary", text: "Cancel" }),
            el("button", { type: "submit", id: "sudo-submit", class: "primary", text: "Confirm" }))));
      body.append(d);
    }
    const form = $("sudo-form"), input = $("sudo-code");
    identityAsked = new Promise((resolve) => {
      let confirmed = false; // Cancel, Escape and success all end in close
      d.onclose = () => { identityAsked = null; resolve(confirmed); };
      form.onsubmit = async (e) => {
        e.preventDefault(); clearErrors(form);
        const code = input.value.replace(/\s+/g, "");
        if (!code) { showError("sudo-error", "Enter the code from your app.", input); return; }
        const b = $("sudo-submit"); busy(b, true);
        try { await call("POST", "/auth/sudo", { code }); confirmed = true; d.close(); }
        catch (err) { showError("sudo-error", err.message, input); }
        finally { busy(b, false); }
      };
      $("sudo-cancel").onclick = () => d.close();
    });
    input.value = ""; clearErrors(form);
    d.showModal(); input.focus();
    return identityAsked;
  }

  // showError puts msg next to what caused it: under an input (marked
  // invalid and described by the message) or in a message area.
  function showError(id, msg, input) {
    const p = $(id);
    p.textContent = msg; p.hidden = !msg; p.classList.remove("warn");
    if (input) input.setAttribute("aria-invalid", msg ? "true" : "false");
    if (msg && input) input.focus();
  }
  function clearErrors(root) {
    root.querySelectorAll(".error").forEach((p) => { p.textContent = ""; p.hidden = true; });
    root.querySelectorAll("[aria-invalid]").forEach((i) => i.setAttribute("aria-invalid", "false"));
  }
  // chosenPassword reads a new password typed twice, in the inputs id and
  // id + "2". It shows why it is refused next to the field and returns ""
  // then; the server checks the rest of the policy.
  function chosenPassword(id) {
    const p1 = $(id).value, p2 = $(id + "2").value;
    const min = $(id).minLength; // set from GET /meta (passwordPolicy)
    if (p1.length < min) { showError(id + "-error", "Use at least " + min + " characters.", $(id)); return ""; }
    if (p1 !== p2) { showError(id + "2-error", "The two passwords differ.", $(id + "2")); return ""; }
    return p1;
  }
  // busy disables a button while its request runs. A disabled button loses
  // focus to the body, so a button that had it gets it back when done.
  function busy(button, on) {
    if (!button) return;
    if (on) button.dataset.hadFocus = document.activeElement === button ? "1" : "";
    button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false");
    if (!on && button.dataset.hadFocus === "1") { delete button.dataset.hadFocus; focusFirst(button); }
  }
  // shown tells whether e is in the page and laid out (not hidden).
  const shown = (e) => !!e && e.isConnected && e.getClientRects().length > 0;
  // focusFirst moves focus, if it fell to the body, to the first of els
  // that is shown and enabled: after a change re-rendered or hid the
  // control the person used, to its successor.
  function focusFirst(...els) {
    const a = document.activeElement;
    if (a && a !== body && shown(a)) return;
    const e = els.find((x) => shown(x) && !x.disabled);
    if (e) e.focus();
  }
  // breakable lays out an address, email or URL (a heading at phone width,
  // say), so that it wraps only after "@", ".", "/" and ":", never inside
  // a word.
  function breakable(text) {
    return text.split(/(?<=[@./:])/).flatMap((part, i) => [i ? el("wbr") : null, el("span", { class: "nowrap", text: part })])
      .filter(Boolean);
  }
  // keepInside keeps Tab and Shift+Tab cycling inside box while when()
  // holds, as in a modal dialog.
  function keepInside(box, when) {
    box.addEventListener("keydown", (e) => {
      if (e.key !== "Tab" || !when()) return;
      const all = [...box.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]")]
        .filter((x) => x.tabIndex >= 0 && !x.disabled && shown(x));
      if (!all.length) return;
      const first = all[0], last = all[all.length - 1], at = document.activeElement;
      if (e.shiftKey && (at === first || at === box)) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && at === last) { e.preventDefault(); first.focus(); }
    });
  }

  // ---- Times ----------------------------------------------------------------
  // One format for the times of the admin views (the list, activity,
  // provisioning tokens): how long ago, with the exact time on hover
  // (title) and for screen readers (a hidden text). tickTimes re-renders
  // them from their timestamps, so "2m ago" does not stay "2m ago".
  function ago(iso) {
    const d = (Date.now() - Date.parse(iso)) / 1000;
    if (d < 60) return "just now";
    if (d < 3600) return Math.floor(d / 60) + "m ago";
    if (d < 86400) return Math.floor(d / 3600) + "h ago";
    if (d < 7 * 86400) return Math.floor(d / 86400) + "d ago";
    return new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
  }
  const exact = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  function timeEl(iso, never) {
    if (!iso) return el("span", { class: "time", text: never || "never" });
    return el("time", { datetime: iso, title: exact(iso), class: "time" },
      el("span", { class: "rel", "aria-hidden": "true", text: ago(iso) }),
      el("span", { class: "visually-hidden", text: ago(iso) + ", " + exact(iso) }));
  }
  function tickTimes() {
    document.querySelectorAll("time.time[datetime]").forEach((t) => {
      const iso = t.getAttribute("datetime"), r = ago(iso);
      const rel = t.querySelector(".rel"); if (rel.textContent !== r) rel.textContent = r;
      t.lastChild.textContent = r + ", " + exact(iso);
    });
  }
  setInterval(tickTimes, 30000);

  // isTenantAdmin tells from GET /me whether the caller is a tenant admin,
  // the one role that manages provisioning and webhooks (the server checks
  // it too).
  const isTenantAdmin = (me) => me.user.roles.includes("tenant_admin");

  // tenantAdminView starts a view for tenant admins only (Provisioning,
  // Webhooks), whose elements are p + "-loading", "-error", "-sign-out",
  // "-no-access" and "-ui": it reads GET /me, wires Sign out, and shows the
  // view's UI, or why not (what names what the view manages). It resolves
  // true when the view goes on.
  async function tenantAdminView(p, what) {
    let me;
    try { me = await call("GET", "/me"); } catch (e) {
      $(p + "-loading").hidden = true; showError(p + "-error", e.message); return false;
    }
    $(p + "-sign-out").addEventListener("click", async () => {
      try { await call("POST", "/auth/logout"); } finally { go(cfg.login); }
    });
    $(p + "-loading").hidden = true;
    if (!isTenantAdmin(me)) {
      const n = $(p + "-no-access"); n.hidden = false;
      n.textContent = "You are signed in as " + me.user.email + ". Only a tenant admin manages " + what + ".";
      return false;
    }
    $(p + "-ui").hidden = false;
    return true;
  }

  // say puts msg in a status line, announced afresh even when it repeats.
  const say = (id, msg) => { const p = $(id); p.textContent = ""; setTimeout(() => { p.textContent = msg; }, 30); };

  // roleLabel labels the checkbox id with a role of GET /roles: its
  // display name, and its description (id + "-desc", for aria-describedby).
  function roleLabel(r, id) {
    return el("label", { for: id }, el("span", { class: "name", text: r.display_name }),
      el("span", { class: "desc", id: id + "-desc", text: r.description }));
  }

  // copy puts text on the clipboard and resolves true; when the browser
  // refuses, it selects what shows the text (an input, or any element) for
  // the person to copy with the keyboard, and resolves false.
  async function copy(text, shows) {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      if (shows && shows.select) { shows.focus(); shows.select(); } else if (shows) getSelection().selectAllChildren(shows);
      return false;
    }
  }

  // ---- Toasts ---------------------------------------------------------------
  // toast shows a short confirmation (or, with kind "error", a failure) in
  // the corner and says it to screen readers: polite for news, assertive
  // for errors. It goes after a few seconds; hovering or focusing it holds
  // it (WCAG 2.2.1), and its Dismiss button closes it at once. Errors stay
  // until dismissed.
  const toastMs = () => window.usermgmtUI.toastMs || 6000; // usermgmtUI.toastMs: tests shorten it
  function toast(message, opts) {
    const kind = (opts && opts.kind) || "info";
    let box = $("toasts");
    if (!box) {
      box = el("section", { id: "toasts", class: "toasts", "aria-label": "Notifications" },
        el("div", { id: "toasts-status", role: "status", "aria-live": "polite" }),
        el("div", { id: "toasts-alert", role: "alert", "aria-live": "assertive" }));
      body.append(box);
    }
    const close = el("button", { type: "button", class: "icon toast-close", "aria-label": "Dismiss", text: "×" });
    const t = el("div", { class: "toast toast-" + kind, dataset: { kind } },
      el("p", { class: "toast-text", text: message }), close);
    let timer = 0, held = false;
    const remove = () => {
      clearTimeout(timer);
      if (t.contains(document.activeElement)) document.activeElement.blur();
      t.remove();
    };
    const arm = () => { clearTimeout(timer); if (kind !== "error" && !held) timer = setTimeout(remove, toastMs()); };
    const hold = (on) => { held = on; if (on) clearTimeout(timer); else arm(); };
    close.addEventListener("click", remove);
    t.addEventListener("mouseenter", () => hold(true)); t.addEventListener("mouseleave", () => hold(false));
    t.addEventListener("focusin", () => hold(true)); t.addEventListener("focusout", () => hold(false));
    t.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); remove(); } });
    $(kind === "error" ? "toasts-alert" : "toasts-status").append(t);
    arm();
    return t;
  }

  // confirmAction asks before an action, in a modal dialog; it resolves
  // true when confirmed. Focus returns to what had it.
  function confirmAction({ title, text, confirm, danger }) {
    const back = document.activeElement;
    const d = el("dialog", { id: "ask-dialog", "aria-labelledby": "ask-title", "aria-describedby": "ask-text" },
      el("form", { method: "dialog" },
        el("h2", { id: "ask-title", text: title }),
        el("p", { id: "ask-text", text }),
        el("div", { class: "dialog-buttons" },
          el("button", { value: "cancel", class: "secondary", id: "ask-cancel", text: "Cancel" }),
          el("button", { value: "confirm", class: danger ? "danger" : "primary", id: "ask-confirm", text: confirm }))));
    body.append(d);
    return new Promise((resolve) => {
      d.addEventListener("close", () => {
        d.remove(); resolve(d.returnValue === "confirm");
        // After the caller's own clean-up (a busy button enabled again).
        setTimeout(() => { if (back && back.isConnected && !document.querySelector("dialog[open]")) back.focus(); }, 0);
      });
      d.showModal(); $("ask-cancel").focus();
    });
  }

  // meta is GET /meta, read once a page: the domain's lists (event types,
  // mail kinds and their labels, permissions) and the password policy.
  let metaAsked = null;
  function meta() {
    if (!metaAsked) metaAsked = call("GET", "/meta").catch((e) => { metaAsked = null; throw e; });
    return metaAsked;
  }
  // passwordPolicy puts the policy's minimum on the new-password inputs and
  // in the texts that name it (data-min-length).
  async function passwordPolicy(...ids) {
    let m;
    try { m = await meta(); } catch (e) { return; } // the server checks the policy anyway
    for (const id of ids) $(id).minLength = m.password_min_length;
    document.querySelectorAll("[data-min-length]").forEach((e) => { e.textContent = String(m.password_min_length); });
  }

  function takeToken() {
    // Read the link's token, then drop it from the address bar and history.
    const u = new URL(location.href);
    const t = u.searchParams.get("token") || "";
    if (t) { u.searchParams.delete("token"); history.replaceState(null, "", u.pathname + u.search); }
    return t;
  }
  function go(path) { location.assign(path); }

  const views = {};
  window.usermgmtUI = { cfg, $, el, announce, APIError, call, confirmIdentity, showError, clearErrors,
    chosenPassword, busy, focusFirst, keepInside, breakable, takeToken, go, views, toast, confirmAction, meta,
    passwordPolicy, sessionEnded, ago, exact, timeEl, copy, roleLabel, isTenantAdmin, tenantAdminView, say };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("a[data-href]").forEach((a) => { a.href = cfg[a.dataset.href]; });
    const view = body.dataset.view;
    $("view-" + view).hidden = false;
    views[view]();
  });
})();
