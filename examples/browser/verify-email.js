// The page a verification link opens: <APP_URL>/verify-email#token=<token>.
//
// The token sits in the fragment, which the browser never sends: not to this page's
// server, not in a Referer. common.js takes it out of the address bar at once, and it
// leaves this page only in the body of POST /email/verify, after a click: a mail
// scanner or a link preview that opens the link spends nothing.
"use strict";

let token = null;

function setStatus(text) {
  $("status").textContent = text;
}

function ready(linkToken) {
  token = linkToken;
  $("confirm").disabled = !token;
  setStatus(token ? "not confirmed yet" : "this link carries no token: open the link from the email");
}

async function confirmAddress() {
  if (!token) return;
  $("confirm").disabled = true;
  setStatus("confirming…");
  const r = await request(CONFIGURED_API, "POST", "/email/verify", {
    body: { token },
    credentials: "omit",
  });
  $("output").textContent = JSON.stringify(r.json, null, 2);
  if (r.status === 200 && r.json.email_verified === true) {
    token = null; // spent
    setStatus(`verified: ${r.json.email}`);
    log(`POST /email/verify: 200, ${r.json.email} verified`, "ok");
  } else if (r.status === 400 && r.json && r.json.error === "invalid_code") {
    token = null; // unknown, expired or already used: only a new link helps
    setStatus("this link no longer works: ask for a new one");
    log(`POST /email/verify: 400 ${describe(r)}`, "error");
  } else {
    // The API could not answer (503, network): the link may still work, try again.
    $("confirm").disabled = false;
    setStatus("not confirmed: try again");
    log(`POST /email/verify: ${r.status} ${describe(r)}`, "error");
  }
}

$("api").textContent = CONFIGURED_API;
$("confirm").addEventListener("click", confirmAddress);
withLinkToken(ready);
