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

async function login(event) {
  if (event) event.preventDefault();
  const r = await call("POST", "/login", { body: credentials() });
  if (r.status === 200) {
    // The body also carries the tokens (API.md); a cookie-mode page ignores them.
    log("POST /login: 200, cookies set", "ok");
    setStatus(credentials().username.toLowerCase());
  } else {
    log(`POST /login: ${r.status} ${r.json.error}: ${r.json.message}`, "error");
  }
}

async function me() {
  const r = await authed("GET", "/me");
  if (r.status === 200) {
    $("me-output").textContent = JSON.stringify(r.json, null, 2);
    log(`GET /me: 200, sub ${r.json.sub}, fresh ${r.json.fresh}`, "ok");
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

$("api").textContent = API;
$("origin").textContent = location.origin;
$("register").addEventListener("click", register);
$("credentials").addEventListener("submit", login);
$("forgot").addEventListener("submit", forgot);
$("me").addEventListener("click", me);
$("logout").addEventListener("click", logout);
$("hello-get").addEventListener("click", () => hello("GET"));
$("hello-post").addEventListener("click", () => hello("POST"));
