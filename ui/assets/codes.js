// Recovery codes as a person sees them, once: at enrolment (person.js)
// and after making new ones on the account page (account.js). One list,
// with Copy and Download buttons, so both pages offer the same.
"use strict";

(function (ui) {
  const { el } = ui;

  // codesFile is the text of the downloaded file: what the codes are, for
  // whom, and one code a line.
  function codesFile(codes, account) {
    const head = ["Recovery codes" + (account ? " for " + account : ""),
      "Each code works once, in place of a code from your authenticator app.",
      "Made " + new Date().toISOString().slice(0, 10) + ". Keep them somewhere safe.", ""];
    return head.concat(codes).join("\n") + "\n";
  }

  // recoveryCodes fills container with the codes, a Copy button (the
  // clipboard; when the browser refuses, the codes are selected and the
  // person is told to copy them), a Download button (a text file made in
  // the page from a Blob) and a status line that screen readers announce.
  // opts.account names the account in the file; opts.label names the list.
  function recoveryCodes(container, codes, opts) {
    opts = opts || {};
    const file = codesFile(codes, opts.account);
    const list = el("ul", { class: "codes", "aria-label": opts.label || "Recovery codes" },
      ...codes.map((c) => el("li", { text: c })));
    const status = el("p", { class: "codes-status small", role: "status" });
    const say = (msg) => { status.textContent = ""; setTimeout(() => { status.textContent = msg; }, 30); };
    const copy = el("button", { type: "button", class: "secondary", "data-codes": "copy", text: "Copy",
      onclick: async () => {
        if (await ui.copy(codes.join("\n") + "\n", list)) say("Copied. Paste them somewhere safe, such as a password manager.");
        else say("Your browser did not let the page copy. The codes are selected: copy them with your keyboard, or download them.");
      } });
    const download = el("button", { type: "button", class: "secondary", "data-codes": "download", text: "Download",
      onclick: () => {
        const url = URL.createObjectURL(new Blob([file], { type: "text/plain;charset=utf-8" }));
        const a = el("a", { href: url, download: opts.filename || "recovery-codes.txt", hidden: true });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        say("Downloaded as " + a.download + ".");
      } });
    container.replaceChildren(list, el("div", { class: "actions codes-actions" }, copy, download), status);
  }

  ui.recoveryCodes = recoveryCodes;
})(window.usermgmtUI);
