// The Provisioning view, for tenant admins: the SCIM URL and the tokens an
// identity provider (Okta, Entra ID) needs to manage the tenant's users,
// and the roles each of its groups gives.
"use strict";

(function (ui) {
  const { cfg, $, el, call, showError, clearErrors, busy, focusFirst, toast, timeEl, copy, say } = ui;
  const groupLimit = 50;

  // scimURL is where the identity provider reaches the scim handler: an
  // absolute URL, on this page's origin unless the host gave a whole one.
  const scimURL = () => (/^[a-z][a-z0-9+.-]*:/i.test(cfg.scim) ? cfg.scim : location.origin + cfg.scim);

  async function initProvisioning() {
    const state = { roles: [], groups: [], total: 0, editing: null };
    if (!await ui.tenantAdminView("prov", "provisioning")) return;
    try { state.roles = (await call("GET", "/roles")).roles; } catch (e) { showError("prov-error", e.message); }
    const roleDef = (name) => state.roles.find((r) => r.name === name) || { name, display_name: name, description: "" };

    // ---- The SCIM URL ----
    $("scim-url").value = scimURL();
    $("scim-url-copy").addEventListener("click", async () => {
      say("scim-url-status", (await copy($("scim-url").value, $("scim-url"))) ? "Copied the SCIM base URL."
        : "Your browser did not let the page copy. The URL is selected: copy it with your keyboard.");
    });

    // ---- Tokens ----
    async function loadTokens() {
      showError("tokens-error", "");
      let list;
      try { list = (await call("GET", "/provisioning/tokens")).tokens; } catch (e) {
        showError("tokens-error", e.message); return;
      }
      $("token-rows").replaceChildren(...list.map(tokenRow));
      $("tokens-table").hidden = list.length === 0;
      $("tokens-empty").hidden = list.length > 0;
    }
    function tokenRow(t) {
      const err = el("span", { class: "error row-error", role: "alert", hidden: true });
      return el("tr", { dataset: { id: t.id, name: t.name } },
        el("td", { "data-label": "Name", class: "token-name", text: t.name }),
        el("td", { "data-label": "Created" }, timeEl(t.created_at)),
        el("td", { "data-label": "Last used" }, timeEl(t.last_used_at, "never")),
        el("td", { class: "row-actions" }, el("button", { type: "button", class: "danger", text: "Revoke",
          "aria-label": "Revoke the token " + t.name, onclick: (e) => revoke(t, e.currentTarget, err) }), err));
    }
    // revoke asks first; the provider holding the token is cut off at once.
    async function revoke(t, button, err) {
      const ok = await ui.confirmAction({ title: "Revoke the token " + t.name + "?", confirm: "Revoke token", danger: true,
        text: "The identity provider using it can no longer create, change or deactivate users here. The users it made "
          + "stay as they are. Give the provider a new token to start again." });
      if (!ok) return;
      busy(button, true); err.hidden = true;
      try {
        await call("DELETE", "/provisioning/tokens/" + t.id);
        toast("Token " + t.name + " revoked.");
        await loadTokens();
        focusFirst($("token-rows").querySelector("button"), $("token-name"));
      } catch (e) { err.textContent = e.message; err.hidden = false; busy(button, false); }
    }
    $("token-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("token-form"));
      const name = $("token-name").value.trim();
      if (!name) {
        showError("token-name-error", "Name the token, for example after your identity provider.", $("token-name"));
        return;
      }
      const b = $("token-create"); busy(b, true);
      try {
        const made = await call("POST", "/provisioning/tokens", { name });
        $("token-name").value = "";
        showSecret(made);
        loadTokens();
      } catch (err) {
        if (err.field === "name") showError("token-name-error", err.message, $("token-name"));
        else showError("token-error", err.message);
      } finally { busy(b, false); }
    });
    // The secret shows once, in a dialog; closing it forgets it.
    function showSecret(made) {
      $("secret-token-name").textContent = made.token.name;
      $("secret-value").value = made.secret;
      $("secret-status").textContent = "";
      $("secret-dialog").showModal();
      $("secret-value").focus(); $("secret-value").select();
    }
    $("secret-copy").addEventListener("click", async () => {
      say("secret-status", (await copy($("secret-value").value, $("secret-value")))
        ? "Copied. Paste it into your identity provider now." : "Your browser did not let the page copy. "
        + "The secret is selected: copy it with your keyboard.");
    });
    $("secret-dialog").addEventListener("close", () => {
      $("secret-value").value = ""; $("secret-status").textContent = "";
      const row = $("token-rows").lastElementChild;
      focusFirst(row && row.querySelector("button"), $("token-name"));
    });

    // ---- Groups ----
    async function loadGroups(more) {
      showError("groups-error", "");
      const offset = more ? state.groups.length : 0;
      const b = $("groups-more"); if (more) busy(b, true);
      let page;
      try { page = await call("GET", "/groups?offset=" + offset + "&limit=" + groupLimit); } catch (e) {
        showError("groups-error", e.message); return;
      } finally { if (more) busy(b, false); }
      state.groups = more ? state.groups.concat(page.groups) : page.groups;
      state.total = page.total;
      renderGroups();
      if (more) focusFirst($("group-rows").children[offset] && $("group-rows").children[offset].querySelector("button"));
    }
    function renderGroups() {
      $("group-rows").replaceChildren(...state.groups.map(groupRow));
      $("groups-table").hidden = state.groups.length === 0;
      $("groups-empty").hidden = state.groups.length > 0;
      $("groups-more").hidden = state.groups.length >= state.total;
    }
    function groupRow(g) {
      const roles = g.roles.length ? el("ul", { class: "chips", "aria-label": "Roles" },
        ...g.roles.map((r) => el("li", { class: "chip", title: roleDef(r).description, text: roleDef(r).display_name })))
        : el("span", { class: "muted", text: "No roles" });
      return el("tr", { dataset: { id: g.id, name: g.display_name } },
        el("td", { "data-label": "Group", class: "group-name", text: g.display_name }),
        el("td", { "data-label": "Members", text: String(g.members) }),
        el("td", { "data-label": "Roles" }, roles),
        el("td", { class: "row-actions" }, el("button", { type: "button", class: "secondary", text: "Edit roles",
          "aria-label": "Edit roles of " + g.display_name, onclick: () => editGroup(g) })));
    }
    $("groups-more").addEventListener("click", () => loadGroups(true));
    $("groups-reload").addEventListener("click", async () => {
      await loadGroups(false);
      focusFirst($("groups-reload"), $("group-rows").querySelector("button"));
      if (!state.groups.length) ui.announce("Still no groups.");
    });

    // editGroup opens the mapping dialog: a checkbox a role of the catalogue.
    function editGroup(g) {
      state.editing = g;
      clearErrors($("group-form"));
      $("group-dialog-name").textContent = g.display_name;
      $("group-role-list").replaceChildren(...state.roles.map((r) => {
        const id = "group-role-" + r.name;
        const box = el("input", { type: "checkbox", id, value: r.name, name: "group-role", checked: g.roles.includes(r.name),
          "aria-describedby": id + "-desc" });
        return el("li", {}, box, ui.roleLabel(r, id));
      }));
      $("group-dialog").showModal();
      focusFirst(document.querySelector('input[name="group-role"]'));
    }
    $("group-cancel").addEventListener("click", () => $("group-dialog").close());
    $("group-dialog").addEventListener("close", () => {
      const g = state.editing; state.editing = null;
      const row = g && document.querySelector('#group-rows tr[data-id="' + g.id + '"]');
      if (row) row.querySelector("button").focus();
    });
    // Saving tenant_admin outside sudo mode asks for a code (call), then saves.
    $("group-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("group-form"));
      const g = state.editing; if (!g) return;
      const roles = [...document.querySelectorAll('input[name="group-role"]:checked')].map((b) => b.value);
      const b = $("group-save"); busy(b, true);
      try {
        const ng = await call("PUT", "/groups/" + g.id + "/roles", { roles });
        state.groups = state.groups.map((x) => (x.id === ng.id ? ng : x));
        renderGroups();
        $("group-dialog").close();
        const names = ng.roles.map((r) => roleDef(r).display_name).join(", ");
        toast(ng.display_name + ": " + (names ? "members hold " + names : "no roles") + ".");
      } catch (err) {
        showError("group-error", err.message, err.field === "role" ? document.querySelector('input[name="group-role"]') : null);
      } finally { busy(b, false); }
    });

    await Promise.all([loadTokens(), loadGroups(false)]);
  }

  ui.views.provisioning = initProvisioning;
})(window.usermgmtUI);
