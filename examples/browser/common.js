// What every page of the browser example shares: the configured API, the page's log,
// the readable CSRF cookies, one fetch helper, and the token of an emailed link.
// Plain script (no build step): load config.js first, then this file, then the page's.
"use strict";

/**
 * The API that config.js names (`WRISTBAND_API`; the example's server writes it for
 * make run and make test), else the local default. The index page may also take
 * `?api=`; the pages that hold an emailed token post it to this address only, never to
 * one taken from their URL.
 */
const CONFIGURED_API = (window.WRISTBAND_API || "http://localhost:9000").replace(/\/+$/, "");

const $ = (id) => document.getElementById(id);

function log(text, kind = "") {
  const li = document.createElement("li");
  li.textContent = text;
  if (kind) li.className = kind;
  $("log").appendChild(li);
}

/** A cookie of this host that JavaScript may read (the csrf_* ones; never the tokens). */
function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/**
 * One call to `api`. `csrf` names the readable cookie to echo in X-CSRF-TOKEN
 * ("csrf_access_token" for writes, "csrf_refresh_token" for /refresh); `credentials`
 * is fetch's ('include' by default: the cookies go along).
 */
async function request(api, method, path, { body, csrf, credentials = "include" } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csrf) {
    const value = readCookie(csrf);
    if (value) headers["X-CSRF-TOKEN"] = value;
  }
  let response;
  try {
    response = await fetch(api + path, {
      method,
      headers,
      credentials,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    // Unreachable API or a CORS refusal: no answer to show but the reason.
    return { status: 0, json: { error: "network_error", message: String(err) } };
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { error: "not_json", message: text.slice(0, 200) };
  }
  return { status: response.status, json };
}

/** "error: message" of an error answer. */
function describe(r) {
  return r.json ? `${r.json.error}: ${r.json.message}` : "(no body)";
}

/**
 * The token of an emailed link (`<APP_URL>/verify-email#token=...`), taken out of the
 * address bar at once: after this, it is only in the caller's hands, never in the URL
 * (history, bookmarks, a screenshot of the address bar, a Referer). The fragment never
 * reached a server. Null when the URL carries none.
 */
function takeLinkToken() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  if (location.hash) {
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return token && /^[A-Za-z0-9_-]+$/.test(token) ? token : null;
}

/**
 * Runs `onToken(token)` with the link's token now, and again when another link is
 * pasted into this tab (only its fragment changes: no new page load).
 */
function withLinkToken(onToken) {
  onToken(takeLinkToken());
  window.addEventListener("hashchange", () => {
    const token = takeLinkToken();
    if (token) onToken(token);
  });
}
