// The person views: log in, accept an invitation (and enrol TOTP), forgot
// and reset password.
"use strict";

(function (ui) {
  const { cfg, $, el, call, showError, clearErrors, chosenPassword, busy, takeToken, go, passwordPolicy } = ui;

  // notice shows a sentence in a status paragraph, optionally followed by
  // a link (text, href).
  function notice(id, text, link) {
    const p = $(id);
    p.replaceChildren(text, ...(link ? [" ", el("a", { href: link[1], text: link[0] })] : []));
    p.hidden = false;
  }
  const loginLink = ["Sign in", cfg.login];

  // checkLink asks the API what the link can still do, spending nothing:
  // {state: valid|expired|used, email, product}, or null for a link that
  // is not one (the API says unauthenticated) after showing why.
  async function checkLink(path, token, errorId) {
    try { return await call("POST", path, { token }); } catch (err) {
      if (err.field === "token" || err.status === 401) {
        showError(errorId, "This link is not valid. Use the newest link you were sent, or ask for a new one.");
      }
      else showError(errorId, err.message);
      return null;
    }
  }
  // forAccount says which account of which product a page sets up, and
  // gives it to password managers (a hidden username field).
  function forAccount(whoId, userId, text, c) {
    $(userId).value = c.email;
    $(whoId).replaceChildren(text + " ", el("strong", { text: c.email }), " on ",
      el("strong", { text: c.product }), ".");
    $(whoId).hidden = false;
  }

  // ---- Log in -------------------------------------------------------------
  function initLogin() {
    let challenge = "";
    // next is where to go after signing in: only a URL of this origin, as
    // the browser's own parser reads it ("/\evil" and "/<tab>/evil" are
    // other hosts to it, whatever a prefix check says). The page goes to
    // the parsed URL whole: "/.//evil" has the pathname "//evil".
    const next = () => {
      const n = new URLSearchParams(location.search).get("next");
      let u = null;
      try { u = n ? new URL(n, location.origin) : null; } catch (e) { /* not a URL */ }
      return u && u.origin === location.origin ? u.href : cfg.users;
    };
    if (new URLSearchParams(location.search).get("ended")) notice("login-notice", "Your session ended. Sign in again.");
    $("login-email").focus();
    $("login-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("login-form"));
      const email = $("login-email").value.trim(), password = $("login-password").value;
      if (!email) { showError("login-email-error", "Enter your email.", $("login-email")); return; }
      if (!password) { showError("login-password-error", "Enter your password.", $("login-password")); return; }
      const b = $("login-submit"); busy(b, true);
      try {
        const res = await call("POST", "/auth/login", { email, password });
        if (res.status === "signed_in") { go(next()); return; }
        if (res.status === "enrollment_required") {
          sessionStorage.setItem("usermgmt-enrollment", JSON.stringify(res.enrollment));
          go(cfg.invite + "?enrol=1"); return;
        }
        challenge = res.challenge;
        $("login-form").hidden = true; $("code-form").hidden = false; $("code-input").focus();
      } catch (err) {
        showError("login-password-error", err.message, $("login-password"));
      } finally { busy(b, false); }
    });
    $("code-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("code-form"));
      const code = $("code-input").value.replace(/\s+/g, "");
      if (!code) { showError("code-error", "Enter the code from your app.", $("code-input")); return; }
      const b = $("code-submit"); busy(b, true);
      try {
        await call("POST", "/auth/mfa", { challenge, code, trust_device: $("trust-device").checked });
        go(next());
      } catch (err) {
        if (err.field === "token") { // the sign-in step itself expired or was spent
          $("code-form").hidden = true; $("login-form").hidden = false;
          showError("login-password-error", err.message, $("login-password"));
        } else showError("code-error", err.message, $("code-input"));
      } finally { busy(b, false); }
    });
  }

  // ---- Accept an invitation (and enrol TOTP) -------------------------------
  function initAccept() {
    const token = takeToken();
    let enrollment = null;
    const step = (name) => {
      const order = ["password", "qr", "recovery"];
      document.querySelectorAll(".steps li").forEach((li) => {
        const i = order.indexOf(li.dataset.step), cur = order.indexOf(name);
        if (i === cur) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
        li.classList.toggle("done", i < cur);
      });
    };
    const showEnrol = (enr) => {
      enrollment = enr;
      $("password-form").hidden = true; $("enrol-form").hidden = false;
      sessionStorage.setItem("usermgmt-enrolling", "1");
      $("qr").src = enr.qr_data_url; $("secret").textContent = enr.secret.replace(/(.{4})/g, "$1 ").trim();
      $("otpauth").href = enr.otpauth_uri;
      step("qr"); $("enrol-code").focus();
    };
    passwordPolicy("new-password");
    const stored = new URLSearchParams(location.search).get("enrol") && sessionStorage.getItem("usermgmt-enrollment");
    if (stored) {
      // Signed in before enrolment was finished: it continues here.
      sessionStorage.removeItem("usermgmt-enrollment");
      $("accept-title").textContent = "Set up two-factor authentication";
      notice("accept-notice", "Your password is set. Finish setting up your authenticator app to sign in.");
      showEnrol(JSON.parse(stored));
    } else if (token) {
      startAccept();
    } else if (sessionStorage.getItem("usermgmt-enrolling")) {
      // A reload on the QR step: the link is spent, and signing in
      // brings the person back to the step.
      notice("accept-notice", "Your password is set, but the authenticator app is not set up yet. "
        + "Sign in with your email and password to continue where you left off.", loginLink);
    } else {
      showError("accept-error", "This page needs the link from your invitation email. Ask your administrator to resend it.");
    }
    async function startAccept() {
      const c = await checkLink("/invitations/check", token, "accept-error");
      if (!c) return;
      if (c.state === "expired") {
        notice("accept-notice", "This invitation to " + c.product + " has expired. Ask your " + c.product
          + " administrator to send you a new one.");
      } else if (c.state === "used") {
        notice("accept-notice", "This invitation was already used: you are already set up. Sign in with " + c.email
          + " and your password; if you had not finished, signing in continues where you left off.", loginLink);
      } else {
        forAccount("accept-who", "accept-username", "You are setting up", c);
        $("password-form").hidden = false; step("password"); $("new-password").focus();
      }
    }

    $("password-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("password-form"));
      const p1 = chosenPassword("new-password"); if (!p1) return;
      const b = $("password-submit"); busy(b, true);
      try { showEnrol((await call("POST", "/invitations/accept", { token, password: p1 })).enrollment); }
      catch (err) {
        if (err.field === "password") showError("new-password-error", err.message, $("new-password"));
        else { showError("accept-error", err.message); }
      } finally { busy(b, false); }
    });
    $("enrol-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("enrol-form"));
      const code = $("enrol-code").value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(code)) { showError("enrol-code-error", "Enter the 6 digits your app shows.", $("enrol-code")); return; }
      const b = $("enrol-submit"); busy(b, true);
      try {
        const res = await call("POST", "/invitations/mfa", { token: enrollment.token, code });
        sessionStorage.removeItem("usermgmt-enrolling");
        const codes = enrollment.recovery_codes || [];
        $("enrol-form").hidden = true;
        if (codes.length) {
          ui.recoveryCodes($("recovery-codes"), codes);
          $("recovery").hidden = false; step("recovery"); $("recovery-done").focus();
        } else go(cfg.users);
      } catch (err) {
        if (err.field === "code") showError("enrol-code-error", err.message, $("enrol-code"));
        else showError("accept-error", err.message);
      } finally { busy(b, false); }
    });
    $("recovery-done").addEventListener("click", () => go(cfg.users));
  }

  // ---- Forgot / reset password ---------------------------------------------
  function initForgot() {
    $("forgot-email").focus();
    $("forgot-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("forgot-form"));
      const email = $("forgot-email").value.trim();
      if (!email) { showError("forgot-email-error", "Enter your email.", $("forgot-email")); return; }
      try { await call("POST", "/password/forgot", { email }); $("forgot-form").hidden = true; $("forgot-done").hidden = false; $("forgot-done").focus(); }
      catch (err) { showError("forgot-email-error", err.message, $("forgot-email")); }
    });
  }
  async function initReset() {
    const token = takeToken();
    passwordPolicy("reset-password");
    $("reset-form").addEventListener("submit", async (e) => {
      e.preventDefault(); clearErrors($("reset-form"));
      const p1 = chosenPassword("reset-password"); if (!p1) return;
      try {
        await call("POST", "/password/reset", { token, password: p1 });
        $("reset-form").hidden = true; $("reset-done").hidden = false; $("reset-done").focus();
      } catch (err) {
        if (err.field === "password") showError("reset-password-error", err.message, $("reset-password"));
        else { $("reset-form").hidden = true; showError("reset-error", err.message); }
      }
    });
    if (!token) { showError("reset-error", "This page needs the link from your password reset email."); return; }
    const c = await checkLink("/password/check", token, "reset-error");
    if (!c) return;
    if (c.state === "expired") {
      notice("reset-notice", "This link has expired: reset links work for a short time only.",
        ["Ask for a new one", cfg.forgot]);
    } else if (c.state === "used") {
      notice("reset-notice", "This link was already used, and your password was changed then. Sign in with it.",
        loginLink);
    } else {
      forAccount("reset-who", "reset-username", "You are choosing a new password for", c);
      $("reset-form").hidden = false; $("reset-password").focus();
    }
  }

  Object.assign(ui.views, { login: initLogin, accept: initAccept, forgot: initForgot, reset: initReset });
})(window.usermgmtUI);
