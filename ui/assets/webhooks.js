// The Webhooks view, for tenant admins: the endpoints that hear of the
// tenant's user events, their signing secrets (shown once), and the recent
// deliveries to each, with a Resend.
"use strict";

(function (ui) {
  const { $, el, call, showError, clearErrors, busy, focusFirst, toast, timeEl, copy, say } = ui;
  const deliveryLimit = 20;

  async function initWebhooks() {
    // types: the event types an endpoint may ask for, from GET /meta (the
    // one list, Go's); shown: the endpoint whose deliveries are listed.
    // editing: the endpoint the form changes, null when it adds one.
    const state = { types: [], endpoints: [], shown: null, deliveries: [], cursor: "", editing: null };
    if (!await ui.tenantAdminView("hooks", "webhooks")) return;
    try { state.types = (await ui.meta()).webhook_event_types; } catch (e) { showError("hooks-error", e.message); }
    const label = (type) => (state.types.find((t) => t.value === type) || { label: type }).label;

    // ---- Endpoints ----
    async function loadEndpoints() {
      showError("endpoints-error", "");
      try { state.endpoints = (await call("GET", "/webhooks")).endpoints; } catch (e) {
        showError("endpoints-error", e.message); return;
      }
      $("endpoint-rows").replaceChildren(...state.endpoints.map(endpointRow));
      $("endpoints-table").hidden = state.endpoints.length === 0;
      $("endpoints-empty").hidden = state.endpoints.length > 0;
      // The deliveries shown stay those of the same endpoint, else the first's.
      const same = state.shown && state.endpoints.find((x) => x.id === state.shown.id);
      if (same) state.shown = same;
      else if (state.endpoints.length) showDeliveries(state.endpoints[0], false);
      else { state.shown = null; $("deliveries").hidden = true; }
    }
    function events(e) {
      if (state.types.length && state.types.every((t) => e.event_types.includes(t.value))) {
        return el("span", { text: "All events" });
      }
      return el("ul", { class: "chips", "aria-label": "Events" },
        ...e.event_types.map((t) => el("li", { class: "chip", text: label(t) })));
    }
    function stateCell(e) {
      const td = el("td", { "data-label": "State" });
      if (e.disabled_at) {
        td.append(el("span", { class: "status status-deactivated", text: "disabled" }),
          el("span", { class: "small muted block", text: e.disabled_reason || "Disabled after failed deliveries." }));
      } else {
        td.append(el("span", { class: "status status-active", text: "enabled" }));
        if (e.failures > 0) {
          const n = e.failures + " failed attempts in a row";
          td.append(el("span", { class: "small marker-expired block", text: n }));
        }
      }
      if (e.previous_secret_until && Date.parse(e.previous_secret_until) > Date.now()) { // in the grace period
        const until = "Old secret valid until " + ui.exact(e.previous_secret_until);
        td.append(el("span", { class: "small muted block", text: until }));
      }
      return td;
    }
    function endpointRow(e) {
      const err = el("span", { class: "error row-error", role: "alert", hidden: true });
      const act = (text, cls, aria, f) => el("button", { type: "button", class: cls, text,
        "aria-label": aria + " " + e.url, onclick: (ev) => f(e, ev.currentTarget, err) });
      return el("tr", { dataset: { id: e.id, url: e.url } },
        el("td", { "data-label": "Endpoint" }, el("span", { class: "endpoint-url block" }, ...ui.breakable(e.url)),
          e.description ? el("span", { class: "small muted block", text: e.description }) : null),
        el("td", { "data-label": "Events" }, events(e)),
        stateCell(e),
        el("td", { class: "row-actions" },
          act("Deliveries", "secondary", "Deliveries to", (x) => showDeliveries(x, true)),
          act("Edit", "secondary", "Edit", edit),
          e.disabled_at ? act("Enable", "primary", "Enable", enable) : null,
          act("Rotate secret", "secondary", "Rotate secret of", rotate),
          act("Delete", "danger", "Delete the endpoint", remove), err));
    }
    // run does a row's action with its button busy and its error beside it.
    async function run(button, err, f) {
      busy(button, true); err.hidden = true;
      try { await f(); } catch (e) { err.textContent = e.message; err.hidden = false; } finally { busy(button, false); }
    }
    const rowButton = (e, text) => [...document.querySelectorAll('#endpoint-rows tr[data-id="' + e.id + '"] button')]
      .find((b) => b.textContent === text);
    function enable(e, button, err) {
      return run(button, err, async () => {
        await call("POST", "/webhooks/" + e.id + "/enable");
        toast("Webhooks to " + e.url + " are enabled again; what waited is sent now.");
        await loadEndpoints();
        if (state.shown && state.shown.id === e.id) loadDeliveries(false); // no longer waiting
        focusFirst(rowButton(e, "Deliveries"));
      });
    }
    async function rotate(e, button, err) {
      const ok = await ui.confirmAction({ title: "Rotate the signing secret of " + e.url + "?",
        confirm: "Rotate secret", text: "You get a new secret to give the receiver. Until then the old one still "
          + "verifies: messages are signed with both for a grace period." });
      if (!ok) return;
      await run(button, err, async () => {
        const made = await call("POST", "/webhooks/" + e.id + "/secret/rotate");
        showSecret(made, "Secret rotated");
        loadEndpoints();
      });
    }
    async function remove(e, button, err) {
      const ok = await ui.confirmAction({ title: "Delete the endpoint " + e.url + "?", confirm: "Delete endpoint",
        danger: true, text: "Nothing more is sent to it, and the messages still waiting for it are dropped. "
          + "This cannot be undone." });
      if (!ok) return;
      await run(button, err, async () => {
        await call("DELETE", "/webhooks/" + e.id);
        toast("Endpoint " + e.url + " deleted.");
        await loadEndpoints();
        if (state.editing && state.editing.id === e.id) resetForm();
        focusFirst($("endpoint-rows").querySelector("button"), $("hook-url"));
      });
    }

    // ---- The form adds an endpoint (every event type ticked to start
    // with) or, after Edit, changes one ----
    $("hook-event-list").replaceChildren(...state.types.map((t) => {
      const id = "hook-event-" + t.value.replace(/\W/g, "-");
      return el("li", {}, el("input", { type: "checkbox", id, value: t.value, name: "hook-event", checked: true }),
        el("label", { for: id }, el("span", { class: "name", text: t.label }),
          el("code", { class: "id", text: t.value })));
    }));
    function edit(e) {
      resetForm();
      state.editing = e;
      $("hook-form-title").textContent = "Change " + e.url;
      $("hook-create").textContent = "Save changes";
      $("hook-cancel").hidden = false;
      $("hook-url").value = e.url; $("hook-description").value = e.description;
      const boxes = document.querySelectorAll('input[name="hook-event"]');
      for (const b of boxes) b.checked = e.event_types.includes(b.value);
      $("hook-url").focus();
    }
    // resetForm makes the form the one that adds an endpoint again.
    function resetForm() {
      $("hook-form").reset(); clearErrors($("hook-form"));
      state.editing = null;
      $("hook-form-title").textContent = "Add an endpoint";
      $("hook-create").textContent = "Add endpoint";
      $("hook-cancel").hidden = true;
    }
    $("hook-cancel").addEventListener("click", () => {
      const e = state.editing; resetForm();
      focusFirst(e && rowButton(e, "Edit"), $("hook-url"));
    });
    $("hook-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("hook-form"));
      const url = $("hook-url").value.trim(), description = $("hook-description").value.trim();
      const types = [...document.querySelectorAll('input[name="hook-event"]:checked')].map((b) => b.value);
      if (!url) { showError("hook-url-error", "Enter the address that receives the events.", $("hook-url")); return; }
      if (!types.length) {
        showError("hook-events-error", "Tick at least one event.", document.querySelector('input[name="hook-event"]'));
        return;
      }
      const b = $("hook-create"); busy(b, true);
      try {
        const editing = state.editing;
        if (editing) { // sudo mode: a new URL or new events send the data elsewhere
          const changed = await call("PUT", "/webhooks/" + editing.id, { url, description, event_types: types });
          resetForm();
          toast("Endpoint " + changed.url + " saved.");
          await loadEndpoints();
          const shown = state.shown && state.shown.id === changed.id;
          if (shown) $("deliveries-url").replaceChildren(...ui.breakable(changed.url));
          focusFirst(rowButton(changed, "Edit"));
          return;
        }
        const made = await call("POST", "/webhooks", { url, description, event_types: types });
        resetForm();
        state.shown = null;
        showSecret(made, "Endpoint added");
        await loadEndpoints();
        showDeliveries(made.endpoint, false);
      } catch (err) {
        const at = { url: ["hook-url-error", $("hook-url")],
          description: ["hook-description-error", $("hook-description")],
          event_types: ["hook-events-error", document.querySelector('input[name="hook-event"]')] }[err.field];
        if (at) showError(at[0], err.message, at[1]); else showError("hook-error", err.message);
      } finally { busy(b, false); }
    });

    // The secret shows once, in a dialog.
    function showSecret(made, title) {
      $("hook-secret-title").textContent = title;
      $("hook-secret-url").replaceChildren(...ui.breakable(made.endpoint.url));
      const until = made.endpoint.previous_secret_until;
      $("hook-secret-grace").textContent = until ? "The old secret keeps working until " + ui.exact(until) + "." : "";
      $("hook-secret-value").value = made.secret;
      $("hook-secret-status").textContent = "";
      $("hook-secret-dialog").dataset.id = made.endpoint.id;
      $("hook-secret-dialog").showModal();
      $("hook-secret-value").focus(); $("hook-secret-value").select();
    }
    $("hook-secret-copy").addEventListener("click", async () => {
      say("hook-secret-status", (await copy($("hook-secret-value").value, $("hook-secret-value")))
        ? "Copied. Give it to the receiver now." : "Your browser did not let the page copy. "
        + "The secret is selected: copy it with your keyboard.");
    });
    // Closing it forgets the secret and goes to the endpoint's row, not
    // back to the button that made it.
    $("hook-secret-dialog").addEventListener("close", () => {
      $("hook-secret-value").value = ""; $("hook-secret-status").textContent = "";
      const row = $("endpoint-rows").querySelector('tr[data-id="' + $("hook-secret-dialog").dataset.id + '"]');
      (row ? row.querySelector("button") : $("hook-url")).focus();
    });

    // ---- Deliveries of one endpoint ----
    function showDeliveries(e, focus) {
      state.shown = e;
      $("deliveries").hidden = false;
      $("deliveries-url").replaceChildren(...ui.breakable(e.url));
      loadDeliveries(false).then(() => { if (focus) $("deliveries-title").focus(); });
    }
    async function loadDeliveries(more) {
      const e = state.shown; if (!e) return;
      showError("deliveries-error", "");
      const b = $(more ? "deliveries-more" : "deliveries-reload"); busy(b, true);
      let page;
      try {
        page = await call("GET", "/webhooks/" + e.id + "/deliveries?limit=" + deliveryLimit
          + (more ? "&cursor=" + encodeURIComponent(state.cursor) : ""));
      } catch (err) { showError("deliveries-error", err.message); return; } finally { busy(b, false); }
      if (state.shown !== e) return; // another endpoint was chosen meanwhile
      const from = more ? state.deliveries.length : 0;
      state.deliveries = more ? state.deliveries.concat(page.deliveries) : page.deliveries;
      state.cursor = page.next_cursor;
      $("delivery-rows").replaceChildren(...state.deliveries.map(deliveryRow));
      $("deliveries-table").hidden = state.deliveries.length === 0;
      $("deliveries-empty").hidden = state.deliveries.length > 0;
      $("deliveries-more").hidden = !state.cursor;
      const next = $("delivery-rows").children[from];
      if (more) focusFirst(next && next.querySelector("button"), $("deliveries-reload"));
    }
    function status(d) {
      const td = el("td", { "data-label": "Status" });
      if (d.status === "pending" && state.shown.disabled_at) {
        td.append(el("span", { class: "status status-deactivated", text: "waiting" }),
          el("span", { class: "small muted block", text: "until the endpoint is enabled" }));
      } else if (d.status === "pending") {
        td.append(el("span", { class: "status status-invited", text: d.attempts ? "retrying" : "queued" }));
        if (d.attempts && d.next_attempt_at) {
          td.append(el("span", { class: "small muted block", text: "next try " + ui.exact(d.next_attempt_at) }));
        }
      } else {
        const cls = d.status === "delivered" ? "status-active" : "status-failed";
        td.append(el("span", { class: "status " + cls, text: d.status }));
      }
      if (d.last_error && d.status !== "delivered") {
        td.append(el("span", { class: "small muted block", text: d.last_error }));
      }
      return td;
    }
    function deliveryRow(d) {
      const err = el("span", { class: "error row-error", role: "alert", hidden: true });
      const at = d.delivered_at || d.last_attempt_at || d.created_at;
      const resend = d.status === "pending" ? null : el("button", { type: "button", class: "secondary", text: "Resend",
        "aria-label": "Resend the " + label(d.event_type) + " message of " + ui.exact(d.created_at),
        onclick: (ev) => run(ev.currentTarget, err, async () => {
          await call("POST", "/webhooks/" + state.shown.id + "/deliveries/" + d.message_id + "/resend");
          toast("The " + label(d.event_type) + " message is queued again.");
          await loadDeliveries(false);
          const row = $("delivery-rows").querySelector('tr[data-id="' + d.message_id + '"]');
          focusFirst(row && row.querySelector("button"), $("deliveries-reload"));
        }) });
      return el("tr", { dataset: { id: d.message_id, type: d.event_type, status: d.status } },
        el("td", { "data-label": "Event" }, el("span", { class: "block", text: label(d.event_type) }),
          el("code", { class: "small muted", text: d.webhook_id })),
        status(d),
        el("td", { "data-label": "HTTP status", text: d.last_status_code ? String(d.last_status_code) : "—" }),
        el("td", { "data-label": "Attempts", text: String(d.attempts) }),
        el("td", { "data-label": "Time" }, timeEl(at)),
        el("td", { class: "row-actions" }, resend, err));
    }
    $("deliveries-reload").addEventListener("click", () => loadDeliveries(false));
    $("deliveries-more").addEventListener("click", () => loadDeliveries(true));

    await loadEndpoints();
  }

  ui.views.webhooks = initWebhooks;
})(window.usermgmtUI);
