// The browser example's passkeys in headless Chromium against the local stack, run by
// `make test` (scripts/test.sh, stage "browser") after mfa-test.cjs. The authenticator is
// Chromium's own virtual one (the DevTools Protocol's WebAuthn domain: CTAP2, internal,
// resident keys, user verification that succeeds), so the page runs the real
// navigator.credentials.create() / get() and WebAuthn's JSON forms, no library.
//
// Register, log in with the password, "Add a passkey"; the authenticator holds one
// resident credential for localhost, the one the page lists. Log out, "Sign in with a
// passkey" with no username typed: /me in the page shows amr hwk,mfa. With TOTP set up
// too, the password's mfa_required offers the passkey as the second step, which logs in
// and spends the mfa_token. "Remove": the authenticator still holds the credential, and
// signing in with it is refused (401 invalid_credentials shown in the page).
//
// Environment (set by scripts/test.sh):
//   WRISTBAND_PAGE_URL   the example page, e.g. http://localhost:P/ (localhost: WebAuthn
//                        needs a secure context, and 127.0.0.1 is no valid RP id)
//   WRISTBAND_API_URL    the API (cargo lambda watch), e.g. http://localhost:Q; its
//                        WEBAUTHN_RP_ID is localhost, WEBAUTHN_ORIGINS the page's origin
//   SCREENSHOT           e.g. <log dir>/browser-passkeys.png: one PNG per step beside it,
//                        browser-passkeys-NN-<step>.png
//   PLAYWRIGHT_CORE, CHROMIUM_PATH   as for browser-test.cjs
"use strict";

const assert = require("node:assert/strict");
const { env, main, logCount, logLine, nextLog, pass, screenshots, totp } = require("./lib.cjs");

const PAGE = env("WRISTBAND_PAGE_URL");
const PAGE_ORIGIN = new URL(PAGE).origin;
const API = env("WRISTBAND_API_URL").replace(/\/+$/, "");
const SCREENSHOT = env("SCREENSHOT");

const PASSWORD = "correct horse battery staple";
const PASSKEY_NAME = "test laptop";
const COOKIES = ["access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"];

const now = () => Date.now() / 1000;

/** Standard base64 (the DevTools Protocol's binary) as unpadded base64url (the API's ids). */
const base64url = (b64) => Buffer.from(b64, "base64").toString("base64url");

const shot = screenshots(SCREENSHOT);

/** The names of the API's cookies in the browser (the refresh one lives on /refresh). */
async function jar(context) {
  return (await context.cookies([API, `${API}/refresh`])).map((c) => c.name).sort();
}

async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1600 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const origins = new Set();
  const passkeyLogins = []; // the bodies the page posts to /login/passkey*
  page.on("request", (req) => {
    const url = new URL(req.url());
    origins.add(url.origin);
    if (url.pathname.startsWith("/login/passkey") && req.method() === "POST") {
      passkeyLogins.push({ path: url.pathname, body: req.postData() });
    }
  });

  // Chromium's virtual authenticator for this page: a platform authenticator (internal)
  // with resident keys, whose user verification (PIN, biometrics) succeeds, and presence
  // simulated (no touch to wait for).
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const heldCredentials = async () =>
    (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;

  const username = `pk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  await page.goto(PAGE);
  assert.equal(await page.evaluate(() => window.isSecureContext), true, "http://localhost is a secure context");
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  let n = await logCount(page);
  await page.click("#register");
  assert.match(await logLine(page, n + 1), /^POST \/register: 201/);
  await shot(page, "registered");
  pass("register an account in the page");

  // Registration takes a fresh access token, and this stack's lives 4 s: log in and add
  // at once; should the token expire on the way (a slow machine), the page says "log in
  // again" and so does this test, at most three times.
  let passkeyId = null;
  for (let attempt = 1; !passkeyId; attempt++) {
    await page.fill("#passkey-name", PASSKEY_NAME);
    n = await logCount(page);
    await page.click("#login");
    assert.equal(await logLine(page, n + 1), "POST /login: 200, cookies set");
    await page.click("#passkey-add");
    let next = await nextLog(page, n + 1);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.equal(next.line, "POST /passkeys/registration/options: 200, asking the authenticator");
    next = await nextLog(page, next.count);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.equal(next.line, `POST /passkeys/registration: 201, passkey "${PASSKEY_NAME}" added`);
    assert.equal((await nextLog(page, next.count)).line, "GET /passkeys: 200, 1 passkey");
    const items = page.locator("#passkey-list li.passkey");
    assert.equal(await items.count(), 1);
    const text = await items.first().innerText();
    assert.ok(text.includes(PASSKEY_NAME) && text.includes("never used"), text);
    passkeyId = await items.first().getAttribute("data-id");
    if (attempt > 1) console.log(`# adding needed ${attempt} logins (the 4 s token expired on the way)`);
  }
  assert.match(passkeyId, /^[A-Za-z0-9_-]+$/);
  await shot(page, "passkey-added");
  pass("log in with the password, 'Add a passkey': create() through the virtual authenticator, 201, listed");

  let held = await heldCredentials();
  assert.equal(held.length, 1, "one credential on the authenticator");
  assert.equal(held[0].isResidentCredential, true, "a discoverable (resident) credential");
  assert.equal(held[0].rpId, "localhost");
  assert.equal(base64url(held[0].credentialId), passkeyId, "the credential the page lists");
  const handle = Buffer.from(held[0].userHandle, "base64");
  assert.ok(handle.length >= 16, "a user handle of random bytes");
  assert.ok(!handle.toString("latin1").includes(username), "the user handle is not the username");
  if (held[0].userName !== undefined) assert.equal(held[0].userName, username);
  pass("WebAuthn.getCredentials: one resident credential for localhost, the id the page lists");

  n = await logCount(page);
  await page.click("#logout");
  assert.equal((await nextLog(page, n)).line, "DELETE /logout: 200, cookies cleared");
  assert.deepEqual(await jar(context), []);
  assert.equal(await page.locator("#passkey-list li").count(), 0, "the list is gone with the session");
  await shot(page, "logged-out");
  pass("log out: no cookies, the list is gone");

  /**
   * "Sign in with a passkey" (or, with `button`, the second step's "Use a passkey"):
   * the options, then POST /login/passkey; on success the page asks /me by itself.
   * Returns the log line of POST /login/passkey and, on success, /me's.
   */
  async function passkeySignIn(button = "#passkey-login") {
    const before = await logCount(page);
    await page.click(button);
    const options = await nextLog(page, before);
    assert.equal(options.line, "POST /login/passkey/options: 200, asking the authenticator");
    const login = await nextLog(page, options.count);
    if (!/^POST \/login\/passkey: 200/.test(login.line)) return { login: login.line };
    return { login: login.line, me: (await nextLog(page, login.count)).line };
  }

  // No username typed: the passkey names its account.
  await page.fill("#username", "");
  await page.fill("#password", "");
  passkeyLogins.length = 0;
  let signIn = await passkeySignIn();
  assert.equal(signIn.login, "POST /login/passkey: 200, cookies set");
  assert.match(signIn.me, new RegExp(`^GET /me: 200, sub ${username}, fresh (true|false), amr hwk,mfa$`));
  assert.deepEqual(passkeyLogins.map((r) => r.path), ["/login/passkey/options", "/login/passkey"]);
  for (const { body } of passkeyLogins) assert.ok(!body.includes(username), `no username sent: ${body}`);
  assert.deepEqual(Object.keys(JSON.parse(passkeyLogins[1].body)).sort(), ["challenge_id", "credential"]);
  assert.deepEqual(await jar(context), COOKIES);
  await shot(page, "passkey-sign-in");
  pass("'Sign in with a passkey' with no username typed: POST /login/passkey 200, cookies set");

  assert.equal(await page.locator("#status").innerText(), `logged in as ${username}`);
  assert.equal(await page.locator("#amr").innerText(), "hwk,mfa");
  const me = JSON.parse(await page.locator("#me-output").innerText());
  assert.deepEqual(me.amr, ["hwk", "mfa"]);
  assert.equal(me.sub, username);
  n = await logCount(page);
  await page.click("#passkey-show");
  assert.equal((await nextLog(page, n)).line, "GET /passkeys: 200, 1 passkey");
  const usedText = await page.locator("#passkey-list li.passkey").first().innerText();
  assert.ok(usedText.includes("last used"), usedText);
  await shot(page, "me-amr-hwk-mfa");
  pass("/me in the page: the passkey's account, amr hwk,mfa; the list shows it used");

  // The second step: TOTP on (set up with the passkey's fresh login; again if it expired
  // on the way), then the password's mfa_required offers the passkey.
  let secret = null;
  for (let attempt = 1; !secret; attempt++) {
    if (attempt > 1) assert.equal((await passkeySignIn()).login, "POST /login/passkey: 200, cookies set");
    n = await logCount(page);
    await page.click("#mfa-setup");
    let next = await nextLog(page, n);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.equal(next.line, "POST /mfa/totp: 200, secret and QR code shown; confirm with a code");
    const shown = (await page.locator("#mfa-secret").innerText()).trim();
    await page.fill("#mfa-confirm-code", totp(shown, now()));
    await page.click("#mfa-confirm");
    next = await nextLog(page, next.count);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.match(next.line, /^POST \/mfa\/totp\/confirm: 200, two-factor authentication on/);
    secret = shown;
  }
  n = await logCount(page);
  await page.click("#logout");
  assert.equal((await nextLog(page, n)).line, "DELETE /logout: 200, cookies cleared");
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  n = await logCount(page);
  await page.click("#login");
  assert.equal(
    await logLine(page, n + 1),
    "POST /login: 401 mfa_required, methods totp, recovery_code, passkey: enter a code or use a passkey",
  );
  assert.equal(await page.locator("#mfa-login-passkey").isVisible(), true, "the passkey is offered");
  // app.js's `mfaToken`, a global binding of the page's script: in its memory only.
  const pending = await page.evaluate("mfaToken");
  assert.ok(pending, "the page holds the mfa_token");
  await shot(page, "second-step-offers-passkey");
  passkeyLogins.length = 0;
  signIn = await passkeySignIn("#mfa-login-passkey");
  assert.equal(signIn.login, "POST /login/passkey: 200, cookies set");
  assert.match(signIn.me, new RegExp(`^GET /me: 200, sub ${username}, fresh (true|false), amr hwk,mfa$`));
  assert.equal(JSON.parse(passkeyLogins[1].body).mfa_token, pending, "the step's mfa_token went along");
  assert.equal(await page.locator("#mfa-login").isHidden(), true);
  assert.deepEqual(await jar(context), COOKIES);
  // The mfa_token was spent with the passkey login: a right code with it is refused now.
  // (Node's own request, to 127.0.0.1: the API listens there.)
  const spent = await fetch(`${API.replace("//localhost", "//127.0.0.1")}/login/mfa`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ mfa_token: pending, code: totp(secret, now() + 30) }),
  });
  assert.equal(spent.status, 401);
  assert.equal((await spent.json()).error, "mfa_failed");
  await shot(page, "second-step-with-passkey");
  pass("with TOTP on, the password's mfa_required offers the passkey: it logs in (amr hwk,mfa), mfa_token spent");

  // Remove (a fresh token: the passkey login just now, else once more).
  for (let attempt = 1; ; attempt++) {
    n = await logCount(page);
    await page.click("#passkey-show");
    let next = await nextLog(page, n);
    assert.equal(next.line, "GET /passkeys: 200, 1 passkey");
    await page.click("#passkey-list li.passkey button.passkey-remove");
    next = await nextLog(page, next.count);
    if (/fresh_token_required/.test(next.line) && attempt < 3) {
      assert.equal((await passkeySignIn()).login, "POST /login/passkey: 200, cookies set");
      continue;
    }
    assert.equal(next.line, `DELETE /passkeys/{id}: 204, passkey "${PASSKEY_NAME}" removed`);
    assert.equal((await nextLog(page, next.count)).line, "GET /passkeys: 200, 0 passkeys");
    break;
  }
  assert.equal(await page.locator("#passkey-list li.passkey").count(), 0);
  assert.equal(await page.locator("#passkey-list li").innerText(), "(no passkeys)");
  held = await heldCredentials();
  assert.equal(held.length, 1, "the authenticator still holds the credential");
  assert.equal(base64url(held[0].credentialId), passkeyId);
  await shot(page, "passkey-removed");
  pass("'Remove': 204, the page lists none; the authenticator still holds the credential");

  n = await logCount(page);
  await page.click("#logout");
  assert.equal((await nextLog(page, n)).line, "DELETE /logout: 200, cookies cleared");
  await page.fill("#username", "");
  await page.fill("#password", "");
  signIn = await passkeySignIn();
  assert.equal(signIn.login, "POST /login/passkey: 401 invalid_credentials: Bad username or password");
  assert.equal(
    await page.locator("#passkey-login-output").innerText(),
    "invalid_credentials: Bad username or password",
  );
  assert.equal(await page.locator("#status").innerText(), "logged out");
  assert.deepEqual(await jar(context), [], "no cookies");
  await shot(page, "removed-passkey-refused");
  pass("'Sign in with a passkey' with the removed one: 401 invalid_credentials shown, no cookies");

  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  n = await logCount(page);
  await page.click("#login");
  assert.equal(
    await logLine(page, n + 1),
    "POST /login: 401 mfa_required, methods totp, recovery_code: enter a code",
  );
  assert.equal(await page.locator("#mfa-login-passkey").isHidden(), true, "no passkey offered");
  await shot(page, "second-step-without-passkey");
  pass("the password's mfa_required offers no passkey any more");

  const foreign = [...origins].filter((o) => o !== PAGE_ORIGIN && o !== new URL(API).origin);
  assert.deepEqual(foreign, [], "requests only to the page's origin and the API");
  pass("no request leaves the page's origin and the API (no WebAuthn library or CDN)");
  console.log(`screenshots: ${SCREENSHOT.replace(/\.png$/, "")}-NN-<step>.png (${shot.count()})`);
}

main(run);
