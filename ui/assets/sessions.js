// Sessions and trusted devices of one user: a section shared by the user
// panel (an admin's view of someone) and the account page (the person's
// own). The caller says where the list comes from and how to revoke:
//
//   const s = ui.sessionsSection(container, {
//     load,            // () => Promise of {sessions: [...], devices: [...]}
//     revokeSession,   // (session) => Promise
//     revokeDevice,    // (device) => Promise
//     onChange,        // optional () => void, after any revocation
//     onSignedOut,     // () => void, after revoking the session in use
//     headingLevel,    // optional, of the two lists' headings: 4 (under an h3)
//   });
//   s.reload();
"use strict";

(function (ui) {
  const { $, el, announce, busy, body } = { ...ui, body: document.body };
  const tell = (msg) => (ui.toast ? ui.toast(msg) : announce(msg));

  // relative renders a time the way the lists do ("5m ago", "in 3d"), the
  // exact time on hover; ticking keeps it current.
  function relative(iso, now, future) {
    let d = (now - new Date(iso).getTime()) / 1000;
    if (!future) d = Math.max(d, 0); // a server clock a little ahead of this one
    const a = Math.abs(d);
    if (a < 60) return "just now";
    const n = a < 3600 ? Math.floor(a / 60) + "m"
      : a < 86400 ? Math.floor(a / 3600) + "h" : Math.floor(a / 86400) + "d";
    return d >= 0 ? n + " ago" : "in " + n;
  }
  function time(iso, future) {
    return el("time", { datetime: iso, title: new Date(iso).toLocaleString(), dataset: { rel: iso, future: !!future },
      text: relative(iso, Date.now(), future) });
  }
  function tick(root) {
    const now = Date.now();
    root.querySelectorAll("time[data-rel]").forEach((t) => {
      t.textContent = relative(t.dataset.rel, now, t.dataset.future === "true");
    });
  }

  const name = (x) => x.browser && x.device ? x.browser + " on " + x.device
    : x.browser || x.device || "Unknown browser";

  // ask confirms a revocation in one shared modal dialog; it resolves true
  // for Revoke.
  function ask(title, text) {
    let d = $("revoke-dialog");
    if (!d) {
      d = el("dialog", { id: "revoke-dialog", "aria-labelledby": "revoke-title", "aria-describedby": "revoke-text" },
        el("form", { method: "dialog" },
          el("h2", { id: "revoke-title" }),
          el("p", { id: "revoke-text" }),
          el("div", { class: "dialog-buttons" },
            el("button", { type: "submit", value: "cancel", id: "revoke-cancel", class: "secondary", autofocus: true,
              text: "Cancel" }),
            el("button", { type: "submit", value: "confirm", id: "revoke-ok", class: "danger", text: "Revoke" }))));
      body.append(d);
    }
    $("revoke-title").textContent = title;
    $("revoke-text").textContent = text;
    // Settled by the buttons (and Escape), not by the close event, which
    // may come after the next dialog has opened.
    return new Promise((resolve) => {
      const done = (v) => { $("revoke-ok").onclick = $("revoke-cancel").onclick = d.oncancel = null; resolve(v); };
      $("revoke-ok").onclick = () => done(true);
      $("revoke-cancel").onclick = () => done(false);
      d.oncancel = () => done(false);
      d.showModal();
    });
  }

  let seq = 0;
  function sessionsSection(container, opts) {
    const id = "sessions-" + (++seq);
    const error = el("p", { id: id + "-error", class: "error", role: "alert", hidden: true });
    const sessionsList = el("ul", { class: "sessions", "aria-labelledby": id + "-s" });
    const devicesList = el("ul", { class: "sessions", "aria-labelledby": id + "-d" });
    const h = "h" + (opts.headingLevel || 4);
    container.replaceChildren(
      el(h, { id: id + "-s", tabindex: "-1", text: "Sessions" }), sessionsList,
      el(h, { id: id + "-d", tabindex: "-1", text: "Trusted devices" }),
      el("p", { class: "muted small", text: "A trusted device signs in without a code from the authenticator app." }),
      devicesList, error);
    const heading = container.querySelector(h);

    function showError(msg) { error.textContent = msg; error.hidden = !msg; }

    // revoke confirms, runs f and reloads; focus then goes to the item in
    // the same place, or the heading of a list left empty.
    async function revoke(button, title, text, f, done, signsOut) {
      if (!(await ask(title, text))) { button.focus(); return; }
      showError(""); busy(button, true);
      const li = button.closest("li"), list = li && li.parentElement, at = li ? [...list.children].indexOf(li) : 0;
      try { await f(); } catch (e) { showError(e.message); busy(button, false); button.focus(); return; }
      tell(done);
      if (signsOut) { opts.onSignedOut(); return; }
      if (opts.onChange) opts.onChange();
      await reload();
      const next = list && list.children[Math.min(at, list.children.length - 1)];
      const b = next && next.querySelector("button");
      (b || (list && $(list.getAttribute("aria-labelledby"))) || heading).focus();
    }

    function sessionItem(s) {
      const nameID = id + "-n-" + s.id;
      const b = el("button", { type: "button", class: "secondary", text: "Revoke", "aria-describedby": nameID });
      b.addEventListener("click", () => revoke(b, "Revoke this session?",
        s.current ? "This is the session you are using now: you will be signed out."
          : name(s) + " will be signed out at its next request.",
        () => opts.revokeSession(s), "Session revoked: " + name(s), s.current));
      return el("li", { dataset: { id: s.id, current: s.current ? "true" : "false" } },
        el("div", {},
          el("strong", { id: nameID, text: name(s) }),
          s.current ? el("span", { class: "this-device", text: "This device" }) : null,
          el("span", { class: "meta" }, "Signed in ", time(s.created_at), " · active ", time(s.last_seen_at),
            s.ip ? " · " + s.ip : "")),
        b);
    }
    function deviceItem(d) {
      const nameID = id + "-n-" + d.id;
      const b = el("button", { type: "button", class: "secondary", text: "Revoke", "aria-describedby": nameID });
      b.addEventListener("click", () => revoke(b, "Stop trusting this device?",
        name(d) + " will need a code from the authenticator app at its next sign-in.",
        () => opts.revokeDevice(d), "Device no longer trusted: " + name(d), false));
      return el("li", { dataset: { id: d.id } },
        el("div", {},
          el("strong", { id: nameID, text: name(d) }),
          el("span", { class: "meta" }, "Trusted ", time(d.created_at), " · expires ", time(d.expires_at, true),
            d.ip ? " · " + d.ip : "")),
        b);
    }
    const empty = (text) => el("li", { class: "empty muted", text });

    async function reload() {
      showError("");
      let got;
      try { got = await opts.load(); } catch (e) { showError(e.message); return; }
      const items = (xs, item, none) => (xs.length ? xs.map(item) : [empty(none)]);
      sessionsList.replaceChildren(...items(got.sessions, sessionItem, "No active sessions."));
      devicesList.replaceChildren(...items(got.devices, deviceItem, "No trusted devices."));
    }
    clearInterval(container.usermgmtTick);
    container.usermgmtTick = setInterval(() => tick(container), 30000);
    reload();
    return { reload };
  }

  ui.sessionsSection = sessionsSection;
})(window.usermgmtUI);
