// Invite Many: the users view's dialog that invites a pasted list or a CSV
// file of emails (with optional roles) through POST /users/invitations/bulk.
// A preview (dry_run) marks the rows the server refuses and why, by their
// code and field; Send invites the others, whose mail the outbox delivers
// at the mail server's pace.
"use strict";

(function (ui) {
  const { $, el, call, announce, showError, clearErrors, busy, toast } = ui;

  // csvRows parses CSV (RFC 4180: quoted fields, "" inside quotes, CRLF or
  // LF line ends, a byte order mark) into rows of fields. The delimiter is
  // the first of comma, semicolon (spreadsheets in many languages) and tab
  // that the first line holds.
  function csvRows(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    text = text.replace(/^\uFEFF/, "");
    const head = text.split(/\r?\n/, 1)[0];
    const delim = [",", ";", "\t"].find((d) => head.includes(d)) || ",";
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c !== '"') field += c;
        else if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === delim) { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // csvToLines turns a CSV file with a header row (an email or e-mail
  // column and an optional roles column, roles split by ";" or ",") into
  // the dialog's lines, "email,role;role". It throws when there is no
  // email column.
  function csvToLines(text) {
    const rows = csvRows(text);
    const head = (rows[0] || []).map((h) => h.trim().toLowerCase());
    const at = head.findIndex((h) => h === "email" || h === "e-mail");
    const rolesAt = head.findIndex((h) => h === "roles" || h === "role");
    if (at < 0) {
      throw new Error("The file has no email column: its first row must name the columns, such as email,roles.");
    }
    return rows.slice(1).filter((r) => r.some((f) => f.trim())).map((r) => {
      const roles = rolesAt >= 0 ? splitRoles(r[rolesAt] || "") : [];
      return (r[at] || "").trim() + (roles.length ? "," + roles.join(";") : "");
    });
  }
  const splitRoles = (s) => s.split(/[;,]/).map((x) => x.trim()).filter(Boolean);

  // parseLines reads the dialog's text: one person a line, the email and
  // then, after a comma or a tab, roles split by ";" or ",". A role is
  // its name or display name, in any case; one the catalogue lacks goes
  // as typed, for the server to refuse. A first line naming the columns
  // (email,roles) is skipped.
  function parseLines(text, roles, fallback) {
    const byLabel = new Map();
    for (const r of roles) {
      byLabel.set(r.name.toLowerCase(), r.name); byLabel.set(r.display_name.toLowerCase(), r.name);
    }
    const rows = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (!t || (!rows.length && /^e-?mail\s*([,\t]|$)/i.test(t))) return;
      const cut = t.search(/[,\t]/);
      const email = (cut < 0 ? t : t.slice(0, cut)).trim();
      const named = cut < 0 ? [] : splitRoles(t.slice(cut + 1)).map((x) => byLabel.get(x.toLowerCase()) || x);
      rows.push({ line: i + 1, email, roles: named.length ? [...new Set(named)] : [fallback] });
    });
    return rows;
  }

  // bulkInvite wires the dialog. opts.roles is GET /roles, opts.defaultRole
  // the role a line without roles gets at first, and opts.done runs after
  // a send (the list and the mail notice reload).
  function bulkInvite(opts) {
    const d = $("bulk-dialog"), form = $("bulk-form");
    const label = (name) => (opts.roles.find((r) => r.name === name) || { display_name: name }).display_name;
    let rows = [], sendable = [];
    $("bulk-role").replaceChildren(...opts.roles.map((r) => el("option", { value: r.name, text: r.display_name })));
    ui.meta().then((m) => { // the cap is the server's (GET /meta); without it the server's refusal says it
      $("bulk-max").querySelector("[data-max-bulk]").textContent = m.max_bulk_invites.toLocaleString("en");
      $("bulk-max").hidden = false;
    }).catch(() => {});

    // step shows one of the dialog's steps: "edit" (the list), "preview"
    // (the rows and what the server says of them) or "done" (the outcome).
    function step(s) {
      $("bulk-input").hidden = s !== "edit"; $("bulk-preview").hidden = s === "edit";
      $("bulk-check").hidden = s !== "edit";
      $("bulk-back").hidden = $("bulk-send").hidden = s !== "preview";
      $("bulk-cancel").textContent = s === "done" ? "Close" : "Cancel";
    }
    $("bulk-open").addEventListener("click", () => {
      clearErrors(form); $("bulk-text").value = ""; $("bulk-file").value = "";
      $("bulk-role").value = opts.defaultRole() ? opts.defaultRole().name : "";
      step("edit"); d.showModal(); $("bulk-text").focus();
    });
    $("bulk-cancel").addEventListener("click", () => d.close());
    $("bulk-back").addEventListener("click", () => { clearErrors(form); step("edit"); $("bulk-text").focus(); });

    $("bulk-file").addEventListener("change", async () => {
      const file = $("bulk-file").files[0];
      clearErrors(form);
      if (!file) return;
      try {
        const lines = csvToLines(await file.text());
        $("bulk-text").value = lines.join("\n");
        announce("Read " + lines.length + (lines.length === 1 ? " person" : " people") + " from " + file.name + ".");
      } catch (e) { showError("bulk-file-error", e.message, $("bulk-file")); }
    });

    // Preview: the server checks every row and writes nothing.
    form.addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors(form);
      rows = parseLines($("bulk-text").value, opts.roles, $("bulk-role").value);
      if (!rows.length) {
        showError("bulk-text-error", "Enter at least one email address, or pick a CSV file.", $("bulk-text"));
        return;
      }
      const button = $("bulk-check"); busy(button, true);
      try {
        const res = await call("POST", "/users/invitations/bulk",
          { dry_run: true, invitations: rows.map((r) => ({ email: r.email, roles: r.roles })) });
        res.rows.forEach((a) => { rows[a.row].answer = a; });
        sendable = rows.filter((r) => !r.answer.error || r.answer.error.code === "mfa_required");
        render();
        step("preview"); $("bulk-summary").focus();
      } catch (err) {
        if (err.code === "invalid") showError("bulk-text-error", err.message, $("bulk-text")); // the list as a whole
        else showError("bulk-error", err.message);
      } finally { busy(button, false); }
    });

    // Send invites the rows the preview found good (and those asking for
    // sudo, after the code); the refused ones stay as they were.
    $("bulk-send").addEventListener("click", async () => {
      clearErrors(form);
      if (sendable.some((r) => r.answer.error) && !(await ui.confirmIdentity())) return;
      const button = $("bulk-send"); busy(button, true);
      try {
        const res = await call("POST", "/users/invitations/bulk",
          { invitations: sendable.map((r) => ({ email: r.email, roles: r.roles })) });
        res.rows.forEach((a) => { sendable[a.row].answer = a; sendable[a.row].sent = true; });
        render();
        const msg = res.invited + (res.invited === 1 ? " person invited." : " people invited.")
          + (res.invited ? " Their invitations go out at the pace the mail server allows." : "");
        $("bulk-summary").textContent = msg + (res.refused ? " " + res.refused + " refused: see the list." : "");
        step("done"); $("bulk-summary").focus();
        if (res.invited) toast(msg);
        await opts.done();
      } catch (err) { showError("bulk-error", err.message); }
      finally { busy(button, false); }
    });

    // render fills the table from each row's answer, the refused rows
    // first (in a long list they are what to look at). A refused row says
    // why, and the cell at fault (by the error's field) is marked; a row
    // asking for sudo mode says a code will be asked for.
    function render() {
      const ok = sendable.filter((r) => !r.sent || !r.answer.error).length, bad = rows.length - ok;
      const refused = (r) => !!r.answer.error && (r.sent || r.answer.error.code !== "mfa_required");
      const order = rows.filter(refused).concat(rows.filter((r) => !refused(r)));
      $("bulk-rows").replaceChildren(...order.map((r) => {
        const err = r.answer.error, at = err ? err.field : "";
        const result = !err ? (r.sent ? "Invited" : "Ready") : err.code === "mfa_required" && !r.sent
          ? "Ready: you will be asked for a code, as it grants tenant admin" : err.message;
        const cell = (name, text, mark) => el("td", { "data-label": name, class: mark ? "at-fault" : "" }, text,
          mark ? el("span", { class: "visually-hidden", text: " (at fault)" }) : null);
        return el("tr", { class: refused(r) ? "refused" : "",
          dataset: { line: r.line, code: err ? err.code : "", field: at } },
          el("td", { "data-label": "Line", text: String(r.line) }),
          cell("Email", r.answer.email, at === "email"),
          cell("Roles", r.roles.map(label).join(", "), at === "role"),
          el("td", { "data-label": "Result", class: "bulk-result" }, result));
      }));
      const parts = [ok + " ready to invite"];
      if (bad) parts.push(bad + (bad === 1 ? " row has a problem" : " rows have problems") + ", listed first");
      $("bulk-summary").textContent = parts.join("; ") + ".";
      $("bulk-send").textContent = "Send " + sendable.length + (sendable.length === 1 ? " Invitation" : " Invitations");
      $("bulk-send").disabled = !sendable.length;
    }
  }

  ui.bulkInvite = bulkInvite;
})(window.usermgmtUI);
