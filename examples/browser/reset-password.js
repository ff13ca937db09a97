// The page a reset link opens: <APP_URL>/reset-password#token=<token>.
//
// The token sits in the fragment, which the browser never sends: not to this page's
// server, not in a Referer. common.js takes it out of the address bar at once, and it
// leaves this page only in the body of POST /password/reset, with the new password the
// person typed: opening the link spends nothing.
"use strict";

let token = null;

function setStatus(text) {
  $("status").textContent = text;
}

function enable(on) {
  $("new-password").disabled = !on;
  $("set-password").disabled = !on;
}

function ready(linkToken) {
  token = linkToken;
  enable(Boolean(token));
  setStatus(token ? "choose a new password" : "this link carries no token: open the link from the email");
}

async function reset(event) {
  event.preventDefault();
  if (!token) return;
  enable(false);
  setStatus("setting the new password…");
  const r = await request(CONFIGURED_API, "POST", "/password/reset", {
    body: { token, new_password: $("new-password").value },
    credentials: "omit",
  });
  $("output").textContent = JSON.stringify(r.json, null, 2);
  if (r.status === 200) {
    token = null; // spent
    $("new-password").value = "";
    setStatus(r.json.message); // "Password changed; all sessions ended"
    log(`POST /password/reset: 200, ${r.json.message}`, "ok");
  } else if (r.status === 400 && r.json && r.json.error === "invalid_code") {
    token = null; // unknown, expired or already used: only a new link helps
    setStatus(`${r.json.message}: ask for a new link`);
    log(`POST /password/reset: 400 ${describe(r)}`, "error");
  } else {
    // weak_password (the token stays unspent), 503, network: try again with this link.
    enable(true);
    setStatus(r.json ? r.json.message : `error ${r.status}`);
    log(`POST /password/reset: ${r.status} ${describe(r)}`, "error");
  }
}

$("api").textContent = CONFIGURED_API;
$("reset").addEventListener("submit", reset);
withLinkToken(ready);
