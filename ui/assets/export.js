// Exports from the users view: the users of the list's current filters,
// and the tenant's activity of a date range, as CSV or JSON Lines
// (GET /users/export, GET /activity/export). The file streams into the
// browser's downloads through a link: the page never holds it, however
// many users there are.
"use strict";

(function (ui) {
  const { cfg, $, call, showError, busy } = ui;

  // download has the browser save the answer of path as a file.
  function download(path) {
    const a = document.createElement("a");
    a.href = cfg.api + path; a.download = ""; a.hidden = true;
    document.body.append(a); a.click(); a.remove();
  }

  // A date input's day, local time, as RFC 3339: the start of that day,
  // or with next, the start of the day after (the end date is included).
  function dayStart(value, next) {
    const d = new Date(value + "T00:00:00");
    if (next) d.setDate(d.getDate() + 1);
    return d.toISOString();
  }
  const isoDay = (d) => [d.getFullYear(), String(d.getMonth() + 1).padStart(2, "0"),
    String(d.getDate()).padStart(2, "0")].join("-");

  // initExports shows the export buttons a caller may use. filters returns
  // the list's {status, role, q}. Before each download a request of the
  // same filters (or /me) refreshes an idle session and reports a refusal
  // on the page, so the download itself does not fail on those.
  function initExports(can, filters) {
    $("export-users-csv").hidden = $("export-users-jsonl").hidden = !can("users.list");
    $("export-activity-open").hidden = !can("users.activity");
    const usersExport = async (format, button) => {
      const p = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
      showError("export-error", "");
      busy(button, true);
      try {
        await call("GET", "/users?limit=1&" + p.toString());
        p.set("format", format);
        download("/users/export?" + p.toString());
      } catch (e) { showError("export-error", e.message); }
      finally { busy(button, false); }
    };
    $("export-users-csv").addEventListener("click", (e) => usersExport("csv", e.currentTarget));
    $("export-users-jsonl").addEventListener("click", (e) => usersExport("jsonl", e.currentTarget));

    const d = $("export-dialog");
    $("export-activity-open").addEventListener("click", () => {
      const today = new Date(), monthAgo = new Date();
      monthAgo.setDate(today.getDate() - 30);
      $("export-from").value = isoDay(monthAgo); $("export-to").value = isoDay(today);
      showError("export-range-error", "", $("export-to")); showError("export-dialog-error", "");
      d.showModal();
    });
    $("export-cancel").addEventListener("click", () => d.close());
    d.addEventListener("close", () => $("export-activity-open").focus());
    $("export-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const from = $("export-from").value, to = $("export-to").value;
      if (!from || !to || to < from) {
        const input = $(from ? "export-to" : "export-from");
        showError("export-range-error", "Choose a start date and an end date on or after it.", input);
        return;
      }
      showError("export-range-error", "", $("export-to")); showError("export-dialog-error", "");
      const button = $("export-download");
      busy(button, true);
      try {
        await call("GET", "/me");
        const p = new URLSearchParams({ format: $("export-format").value, from: dayStart(from),
          to: dayStart(to, true) });
        download("/activity/export?" + p.toString());
        d.close();
      } catch (err) { showError("export-dialog-error", err.message); }
      finally { busy(button, false); }
    });
  }

  ui.initExports = initExports;
})(window.usermgmtUI);
