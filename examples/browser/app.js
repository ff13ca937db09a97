// wristband from a browser, in cookie mode (TOKEN_LOCATION=cookies or headers,cookies).
//
// The tokens never reach JavaScript: /login and /refresh set them as HttpOnly cookies
// (access_token_cookie, refresh_token_cookie on Path=/refresh). This page only reads the
// readable csrf_access_token / csrf_refresh_token cookies and echoes them in X-CSRF-TOKEN
// on POST/PUT/PATCH/DELETE (double submit). Every call uses credentials: 'include', so
// this page's origin must be listed in the API's CORS_ALLOW_ORIGINS.
//
// Cookies belong to a host, not to a port: with the page on http://localhost:P and the API
// on http://localhost:Q, the csrf_* cookies the API sets are readable here, and the
// SameSite=Lax token cookies are sent (same site, different origin). In production, serve
// the page and the API from the same site (e.g. example.com and api.example.com).
//
// Second factor (TOTP): "Set up" enrols (POST /mfa/totp, QR code drawn in the page) and
// confirms (POST /mfa/totp/confirm, ten recovery codes shown once); a login that answers
// 401 mfa_required asks for a code and posts it to /login/mfa with the mfa_token.
//
// Passkeys (WebAuthn, with the browser's JSON helpers: no library): "Add a passkey" asks
// the API for creation options, the browser's navigator.credentials.create() for a new
// discoverable credential, and posts its toJSON(); "Sign in with a passkey" does the same
// with request options and navigator.credentials.get(), no username needed. When a
// password login answers mfa_required with "passkey" among its methods, the passkey may
// answer that second step too.
"use strict";

// The API: ?api= (this page only), else config.js's (common.js).
const API = (new URLSearchParams(location.search).get("api") || CONFIGURED_API).replace(/\/+$/, "");

// A route of your own behind wristband's Lambda authorizer (template.yaml's sample
// `/hello`). Under `make run` the page's own server plays API Gateway for it; deployed,
// pass ?hello=https://your-api (the API's host, so that the cookies go along).
const HELLO = (new URLSearchParams(location.search).get("hello") || "").replace(/\/+$/, "");

/** One API call with the cookies (common.js's request, to this page's API). */
const call = (method, path, options) => request(API, method, path, options);

/**
 * A call that needs the access token: on 401 token_expired, POST /refresh (the refresh
 * cookie is sent only there) with the refresh CSRF value, then retry once.
 */
async function authed(method, path, options = {}) {
  const write = !["GET", "HEAD"].includes(method);
  const withCsrf = { ...options, csrf: write ? "csrf_access_token" : undefined };
  let r = await call(method, path, withCsrf);
  if (r.status === 401 && r.json && r.json.error === "token_expired") {
    log(`${method} ${path}: 401 token_expired, refreshing`, "warn");
    const refreshed = await call("POST", "/refresh", { csrf: "csrf_refresh_token" });
    if (refreshed.status !== 200) {
      log(`POST /refresh: ${refreshed.status} ${refreshed.json && refreshed.json.error}`, "error");
      setStatus(null);
      return r;
    }
    log("POST /refresh: 200, new cookies", "ok");
    r = await call(method, path, withCsrf);
  }
  return r;
}

function setStatus(username) {
  $("status").textContent = username ? `logged in as ${username}` : "logged out";
}

function credentials() {
  return { username: $("username").value, password: $("password").value };
}

/**
 * POST /register, with the optional address: the API mails a link to
 * <APP_URL>/verify-email#token=... (verify-email.html), which confirms it.
 */
async function register() {
  const body = credentials();
  const email = $("email").value.trim();
  if (email) body.email = email;
  const r = await call("POST", "/register", { body });
  if (r.status === 201) {
    const mailed = email ? `; a verification link is mailed to ${email}` : "";
    log(`POST /register: 201, user ${r.json.username}${mailed}`, "ok");
  } else {
    log(`POST /register: ${r.status} ${describe(r)}`, "error");
  }
}

// The `mfa_token` of a login waiting for its second step: in this page's memory only
// (never in storage, a cookie or the URL); it dies with the tab, after 5 minutes or one use.
let mfaToken = null;

async function login(event) {
  if (event) event.preventDefault();
  const r = await call("POST", "/login", { body: credentials() });
  if (r.status === 200) {
    // The body also carries the tokens (API.md); a cookie-mode page ignores them.
    log("POST /login: 200, cookies set", "ok");
    loggedIn(credentials().username.toLowerCase());
  } else if (r.status === 401 && r.json && r.json.error === "mfa_required") {
    // A right password for an account with a second factor: no tokens yet.
    mfaToken = r.json.mfa_token;
    // "passkey" among the methods: the account's passkey may answer this step instead.
    const passkey = r.json.methods.includes("passkey");
    const ask = passkey ? "enter a code or use a passkey" : "enter a code";
    log(`POST /login: 401 mfa_required, methods ${r.json.methods.join(", ")}: ${ask}`, "warn");
    $("mfa-login-passkey-offer").hidden = !passkey;
    $("mfa-login").hidden = false;
    $("mfa-login-code").value = "";
    $("mfa-login-code").focus();
  } else {
    log(`POST /login: ${r.status} ${r.json.error}: ${r.json.message}`, "error");
  }
}

/**
 * POST /login/mfa {mfa_token, code}: a TOTP code or a recovery code. It sets the same
 * cookies as /login. No CSRF value: like /login, it is not authenticated by a cookie.
 */
async function loginMfa(event) {
  event.preventDefault();
  const code = $("mfa-login-code").value.trim();
  const r = await call("POST", "/login/mfa", { body: { mfa_token: mfaToken || "", code } });
  if (r.status === 200) {
    log("POST /login/mfa: 200, cookies set", "ok");
    loggedIn(credentials().username.toLowerCase());
  } else {
    // mfa_failed: a wrong or spent code (try again: the mfa_token survives 4 of them), or
    // a dead mfa_token (log in again); 429: wait as the password would.
    log(`POST /login/mfa: ${r.status} ${describe(r)}`, "error");
  }
}

/** A login is done: the second step's form and its mfa_token are forgotten. */
function loggedIn(username) {
  mfaToken = null;
  $("mfa-login").hidden = true;
  $("mfa-login-passkey-offer").hidden = true;
  $("mfa-login-code").value = "";
  $("passkey-login-output").textContent = "";
  setStatus(username);
}

async function me() {
  const r = await authed("GET", "/me");
  if (r.status === 200) {
    $("me-output").textContent = JSON.stringify(r.json, null, 2);
    // amr (RFC 8176): ["pwd"] for a password alone, ["pwd", "otp", "mfa"] with a code,
    // ["hwk", "mfa"] for a passkey that verified its user (PIN, biometrics).
    const amr = (r.json.amr || []).join(",");
    $("amr").textContent = amr;
    log(`GET /me: 200, sub ${r.json.sub}, fresh ${r.json.fresh}, amr ${amr}`, "ok");
    setStatus(r.json.sub);
  } else {
    $("me-output").textContent = JSON.stringify(r.json, null, 2);
    log(`GET /me: ${r.status} ${r.json.error}`, "error");
    // Refused (logged out, revoked: a password reset ends every session): no session here.
    if (r.status === 401) setStatus(null);
  }
}

async function logout() {
  const r = await authed("DELETE", "/logout");
  if (r.status === 200) {
    log("DELETE /logout: 200, cookies cleared", "ok");
    setStatus(null);
    $("me-output").textContent = "(logged out)";
    $("amr").textContent = "(logged out)";
    closeMfaPanels();
    closePasskeyPanel();
  } else {
    log(`DELETE /logout: ${r.status} ${r.json.error}`, "error");
  }
}

/**
 * GET or POST /hello: the access cookie goes along (same site), and a POST echoes the
 * CSRF value as wristband's own endpoints ask; the authorizer applies the same rule.
 */
async function hello(method) {
  const headers = {};
  if (method !== "GET") {
    const value = readCookie("csrf_access_token");
    if (value) headers["X-CSRF-TOKEN"] = value;
  }
  const response = await fetch(`${HELLO}/hello`, { method, headers, credentials: "include" });
  const json = await response.json();
  $("hello-output").textContent = JSON.stringify(json, null, 2);
  if (response.status === 200) log(`${method} /hello: 200, ${json.message}`, "ok");
  else log(`${method} /hello: ${response.status} ${json.message}`, "error");
}

/**
 * POST /password/forgot: always the same 202 (it never tells whether the address has an
 * account); a verified address gets a <APP_URL>/reset-password#token=... link
 * (reset-password.html). No cookies: it needs none.
 */
async function forgot(event) {
  event.preventDefault();
  const email = $("forgot-email").value.trim();
  const r = await call("POST", "/password/forgot", { body: { email }, credentials: "omit" });
  if (r.status === 202) {
    $("forgot-output").textContent = r.json.message;
    log(`POST /password/forgot: 202, ${r.json.message}`, "ok");
  } else {
    $("forgot-output").textContent = describe(r);
    log(`POST /password/forgot: ${r.status} ${describe(r)}`, "error");
  }
}

/** Hides the set-up panels and forgets what they showed (the secret, the codes). */
function closeMfaPanels() {
  $("mfa-enrolment").hidden = true;
  $("mfa-secret").textContent = "";
  const canvas = $("mfa-qr");
  canvas.width = canvas.height = 0;
  $("mfa-confirm-code").value = "";
  $("mfa-recovery").hidden = true;
  $("mfa-recovery-codes").replaceChildren();
  $("mfa-output").textContent = "";
}

/**
 * `text` as a QR code on `canvas`, drawn here by the vendored encoder
 * (vendor/qrcode.js): the otpauth URI holds the secret, so it goes to no QR service.
 */
function drawQr(canvas, text) {
  const qr = qrcode(0, "M"); // the smallest version that holds the text
  qr.addData(text);
  qr.make();
  const cells = qr.getModuleCount();
  const scale = 4;
  const quiet = 4; // the quiet zone of the standard, in modules
  const size = (cells + 2 * quiet) * scale;
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = "#000";
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      if (qr.isDark(row, col)) ctx.fillRect((col + quiet) * scale, (row + quiet) * scale, scale, scale);
    }
  }
}

/**
 * "Set up": POST /mfa/totp (a fresh access token: the cookie of a login, not of a
 * refresh) gives a secret and its otpauth:// URI. Not active until confirmed with a code.
 */
async function setupMfa() {
  closeMfaPanels();
  const r = await authed("POST", "/mfa/totp");
  if (r.status !== 200) {
    const hint = r.json && r.json.error === "fresh_token_required" ? " (log in again first)" : "";
    $("mfa-output").textContent = describe(r) + hint;
    log(`POST /mfa/totp: ${r.status} ${describe(r)}${hint}`, "error");
    return;
  }
  $("mfa-secret").textContent = r.json.secret;
  drawQr($("mfa-qr"), r.json.otpauth_uri);
  $("mfa-enrolment").hidden = false;
  $("mfa-output").textContent = "Scan the code, then confirm with the app's current code.";
  log("POST /mfa/totp: 200, secret and QR code shown; confirm with a code", "ok");
  $("mfa-confirm-code").focus();
}

/** POST /mfa/totp/confirm {code}: the factor is on, and ten recovery codes come once. */
async function confirmMfa(event) {
  event.preventDefault();
  const code = $("mfa-confirm-code").value.trim();
  const r = await authed("POST", "/mfa/totp/confirm", { body: { code } });
  if (r.status !== 200) {
    $("mfa-output").textContent = describe(r);
    log(`POST /mfa/totp/confirm: ${r.status} ${describe(r)}`, "error");
    return;
  }
  closeMfaPanels();
  for (const recovery of r.json.recovery_codes) {
    const li = document.createElement("li");
    li.textContent = recovery;
    $("mfa-recovery-codes").appendChild(li);
  }
  $("mfa-recovery").hidden = false;
  $("mfa-output").textContent = "Two-factor authentication is on: the next login asks for a code.";
  log(`POST /mfa/totp/confirm: 200, two-factor authentication on; ${r.json.recovery_codes.length} recovery codes shown once`, "ok");
}

/**
 * Why this page cannot use passkeys here, or null when it can: WebAuthn needs a secure
 * context (https, or http://localhost), and this page uses WebAuthn Level 3's JSON forms
 * (parseCreationOptionsFromJSON, parseRequestOptionsFromJSON, toJSON) instead of a library.
 */
function passkeySupport() {
  if (!window.isSecureContext) return "passkeys need a secure context (https, or http://localhost)";
  if (!window.PublicKeyCredential) return "this browser has no WebAuthn";
  const pkc = window.PublicKeyCredential;
  if (
    typeof pkc.parseCreationOptionsFromJSON !== "function" ||
    typeof pkc.parseRequestOptionsFromJSON !== "function" ||
    typeof pkc.prototype.toJSON !== "function"
  ) {
    return "this browser lacks WebAuthn's JSON forms (parseCreationOptionsFromJSON, toJSON)";
  }
  return null;
}

/** "2025-01-31 12:34 UTC" of a Unix time in seconds. */
function when(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** An error answer of a call that needs a fresh token, with what to do about it. */
function freshHint(r) {
  return r.json && r.json.error === "fresh_token_required" ? " (log in again first)" : "";
}

/** Empties the passkey list and its note (logged out: nothing of the account stays). */
function closePasskeyPanel() {
  $("passkey-list").replaceChildren();
  $("passkey-output").textContent = "";
}

/** The account's passkeys, each with a Remove button (text only: no HTML from the API). */
function showPasskeys(passkeys) {
  const items = passkeys.map((p) => {
    const li = document.createElement("li");
    li.className = "passkey";
    li.dataset.id = p.id;
    const name = document.createElement("strong");
    name.textContent = p.name;
    const dates = document.createElement("small");
    const used = p.last_used_at ? `last used ${when(p.last_used_at)}` : "never used";
    dates.textContent = ` added ${when(p.created_at)}, ${used}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "passkey-remove";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => removePasskey(p));
    li.append(name, dates, remove);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "(no passkeys)";
    items.push(li);
  }
  $("passkey-list").replaceChildren(...items);
}

/** GET /passkeys: names and dates only (the public keys stay server-side). */
async function listPasskeys() {
  const r = await authed("GET", "/passkeys");
  if (r.status !== 200) {
    $("passkey-output").textContent = describe(r);
    log(`GET /passkeys: ${r.status} ${describe(r)}`, "error");
    if (r.status === 401) setStatus(null);
    return;
  }
  showPasskeys(r.json.passkeys);
  const n = r.json.passkeys.length;
  log(`GET /passkeys: 200, ${n} passkey${n === 1 ? "" : "s"}`, "ok");
}

/**
 * "Add a passkey": POST /passkeys/registration/options (a fresh access token) gives the
 * creation options (the challenge is kept server-side, for this account), the browser
 * asks the authenticator for a new discoverable credential, and POST
 * /passkeys/registration stores its public key. Nothing secret passes through the page.
 */
async function addPasskey() {
  $("passkey-output").textContent = "";
  const unsupported = passkeySupport();
  if (unsupported) {
    $("passkey-output").textContent = unsupported;
    log(`Add a passkey: ${unsupported}`, "error");
    return;
  }
  const options = await authed("POST", "/passkeys/registration/options");
  if (options.status !== 200) {
    const hint = freshHint(options);
    $("passkey-output").textContent = describe(options) + hint;
    log(`POST /passkeys/registration/options: ${options.status} ${describe(options)}${hint}`, "error");
    return;
  }
  log("POST /passkeys/registration/options: 200, asking the authenticator", "ok");
  let credential;
  try {
    credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.json.publicKey),
    });
  } catch (err) {
    // NotAllowedError: cancelled or timed out; InvalidStateError: this authenticator
    // already holds one of the account's passkeys (the options exclude them).
    $("passkey-output").textContent = `${err.name}: ${err.message}`;
    log(`navigator.credentials.create: ${err.name}: ${err.message}`, "error");
    return;
  }
  const body = { credential: credential.toJSON() };
  const name = $("passkey-name").value.trim();
  if (name) body.name = name;
  const r = await authed("POST", "/passkeys/registration", { body });
  if (r.status !== 201) {
    const hint = freshHint(r);
    $("passkey-output").textContent = describe(r) + hint;
    log(`POST /passkeys/registration: ${r.status} ${describe(r)}${hint}`, "error");
    return;
  }
  $("passkey-name").value = "";
  $("passkey-output").textContent = `Passkey "${r.json.name}" added: it signs you in without a password.`;
  log(`POST /passkeys/registration: 201, passkey "${r.json.name}" added`, "ok");
  await listPasskeys();
}

/**
 * DELETE /passkeys/{id} (a fresh access token). The authenticator keeps its credential
 * (a page cannot delete it); the API refuses it from now on.
 */
async function removePasskey(passkey) {
  $("passkey-output").textContent = "";
  const r = await authed("DELETE", `/passkeys/${encodeURIComponent(passkey.id)}`);
  if (r.status !== 204) {
    const hint = freshHint(r);
    $("passkey-output").textContent = describe(r) + hint;
    log(`DELETE /passkeys/{id}: ${r.status} ${describe(r)}${hint}`, "error");
    return;
  }
  $("passkey-output").textContent =
    `Passkey "${passkey.name}" removed; the device still holds it, but it signs in no more.`;
  log(`DELETE /passkeys/{id}: 204, passkey "${passkey.name}" removed`, "ok");
  await listPasskeys();
}

/**
 * "Sign in with a passkey" (no username: the passkey names its account), and "Use a
 * passkey" on the second step, which also sends the pending mfa_token (spent with this
 * login). POST /login/passkey/options gives request options and a challenge_id; the
 * browser lets the person pick one of this site's passkeys; POST /login/passkey sets the
 * same cookies as /login (no CSRF value: it is not cookie-authenticated).
 */
async function loginWithPasskey() {
  const output = $("passkey-login-output");
  output.textContent = "";
  const unsupported = passkeySupport();
  if (unsupported) {
    output.textContent = unsupported;
    log(`Sign in with a passkey: ${unsupported}`, "error");
    return;
  }
  // The options are the same for everyone: no username goes out.
  const options = await call("POST", "/login/passkey/options", { body: {}, credentials: "omit" });
  if (options.status !== 200) {
    output.textContent = describe(options);
    log(`POST /login/passkey/options: ${options.status} ${describe(options)}`, "error");
    return;
  }
  log("POST /login/passkey/options: 200, asking the authenticator", "ok");
  let credential;
  try {
    credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.json.publicKey),
    });
  } catch (err) {
    // NotAllowedError: cancelled, timed out, or no passkey of this site on the device.
    output.textContent = `${err.name}: ${err.message}`;
    log(`navigator.credentials.get: ${err.name}: ${err.message}`, "error");
    return;
  }
  const body = { challenge_id: options.json.challenge_id, credential: credential.toJSON() };
  if (mfaToken) body.mfa_token = mfaToken;
  const r = await call("POST", "/login/passkey", { body });
  if (r.status !== 200) {
    // invalid_credentials: a passkey the API does not know (never registered, or
    // removed), a bad signature, a spent challenge; 429: wait as the password would.
    output.textContent = describe(r);
    log(`POST /login/passkey: ${r.status} ${describe(r)}`, "error");
    return;
  }
  log("POST /login/passkey: 200, cookies set", "ok");
  loggedIn(null);
  $("status").textContent = "logged in with a passkey";
  // No username was typed: /me says whose passkey it was (and shows amr).
  await me();
}

$("api").textContent = API;
$("origin").textContent = location.origin;
$("register").addEventListener("click", register);
$("credentials").addEventListener("submit", login);
$("mfa-login").addEventListener("submit", loginMfa);
$("passkey-login").addEventListener("click", loginWithPasskey);
$("mfa-login-passkey").addEventListener("click", loginWithPasskey);
$("passkey-add").addEventListener("click", addPasskey);
$("passkey-show").addEventListener("click", listPasskeys);
$("mfa-setup").addEventListener("click", setupMfa);
$("mfa-confirm-form").addEventListener("submit", confirmMfa);
$("forgot").addEventListener("submit", forgot);
$("me").addEventListener("click", me);
$("logout").addEventListener("click", logout);
$("hello-get").addEventListener("click", () => hello("GET"));
$("hello-post").addEventListener("click", () => hello("POST"));
