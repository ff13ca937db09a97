// The browser example's account pages in headless Chromium against the local stack, run
// by `make test` (scripts/test.sh, stage "browser") after browser-test.cjs: register with
// an address, confirm it from the emailed link (read from the SES emulator's store, as a
// person reads an inbox), log in with cookies, "forgot password", set a new one from the
// emailed link, see the old session's cookies refused and the new password work.
//
// Also what the pages promise (API.md "Accounts and email"): opening a link spends
// nothing (a mail scanner that opens it leaves it working), the token leaves the address
// bar at once and the page only ever sends it in a POST body, no request carries a
// Referer, and a link works once.
//
// Environment (set by scripts/test.sh):
//   WRISTBAND_PAGE_URL     the example page, e.g. http://localhost:P/ (its origin is APP_URL)
//   WRISTBAND_API_URL      the API (cargo lambda watch), e.g. http://localhost:Q; the page
//                          learns it from the server's /config.js, not from its URL
//   WRISTBAND_E2E_SES_URL  the SES emulator, whose GET /store lists every message sent
//   SCREENSHOT             e.g. <log dir>/browser-accounts.png: one PNG per step beside it,
//                          browser-accounts-NN-<step>.png
//   PLAYWRIGHT_CORE, CHROMIUM_PATH   as for browser-test.cjs
"use strict";

const assert = require("node:assert/strict");
const { env, main, logLine, pass, sleep } = require("./lib.cjs");

const PAGE = env("WRISTBAND_PAGE_URL");
const PAGE_ORIGIN = new URL(PAGE).origin;
const API = env("WRISTBAND_API_URL").replace(/\/+$/, "");
const SES = env("WRISTBAND_E2E_SES_URL").replace(/\/+$/, "");
const SCREENSHOT = env("SCREENSHOT");

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase, from the link";
const RESET_MESSAGE = "Password changed; all sessions ended";
const FORGOT_MESSAGE = "If an account has this verified address, a reset link has been sent";

let shots = 0;
/** One screenshot per step: browser-accounts-NN-<name>.png beside SCREENSHOT. */
async function shot(page, name) {
  const path = SCREENSHOT.replace(/\.png$/, "") + `-${String(++shots).padStart(2, "0")}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until a `#log` line after the first `after` ones matches `re`; all lines after them. */
async function waitLog(page, after, re) {
  await page.waitForFunction(
    ([n, source]) =>
      [...document.querySelectorAll("#log li")].slice(n).some((li) => new RegExp(source).test(li.textContent)),
    [after, re.source],
    { timeout: 60_000 },
  );
  return page.locator("#log li").allInnerTexts().then((lines) => lines.slice(after));
}

const logCount = (page) => page.locator("#log li").count();

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The newest `<APP_URL><path>#token=...` link mailed to `to`, from the emulator's store;
 * waits a little for it (the API sends before it answers, so it is normally there).
 */
async function mailedLink(to, path) {
  const re = new RegExp(`${escapeRegExp(PAGE_ORIGIN + path)}#token=[A-Za-z0-9_-]+`);
  for (let tries = 0; tries < 50; tries++) {
    const store = await (await fetch(`${SES}/store`)).json();
    const mine = store.emails.filter((m) => (m.destination.to || []).includes(to)).reverse();
    for (const message of mine) {
      const found = (message.body.text || "").match(re);
      if (found) return { link: found[0], subject: message.subject, token: found[0].split("#token=")[1] };
    }
    await sleep(200);
  }
  throw new Error(`no ${path} link mailed to ${to} in ${SES}/store`);
}

/**
 * Every request a page makes, with its headers and body, for the token checks: the
 * token in no URL, in no header, never in a Referer; only in the body of a POST.
 */
function recordRequests(page) {
  const seen = [];
  page.on("request", (req) => {
    seen.push({
      method: req.method(),
      url: req.url(),
      body: req.postData() || "",
      // Settled now, read later (a closed page must not leave a rejection unhandled).
      headers: req.allHeaders().catch((e) => ({ "x-unreadable": String(e) })),
    });
  });
  return seen;
}

async function assertTokenOnlyInPostBodies(requests, token, path) {
  assert.ok(requests.length > 0);
  for (const r of requests) {
    const headers = await r.headers;
    assert.equal(headers["x-unreadable"], undefined, `${r.method} ${r.url}: ${headers["x-unreadable"]}`);
    assert.ok(!r.url.includes(token), `token in a URL: ${r.method} ${r.url}`);
    assert.equal(headers.referer, undefined, `Referer sent with ${r.method} ${r.url}: ${headers.referer}`);
    for (const [name, value] of Object.entries(headers)) {
      assert.ok(!value.includes(token), `token in header ${name} of ${r.method} ${r.url}`);
    }
    if (r.body.includes(token)) {
      assert.equal(`${r.method} ${r.url}`, `POST ${API}${path}`, "the token goes to its endpoint only");
    }
  }
  assert.ok(
    requests.some((r) => r.method === "POST" && r.url === `${API}${path}` && JSON.parse(r.body).token === token),
    `the token was POSTed to ${path} in a JSON body`,
  );
}

/** Opens an emailed link in a new tab of `context`; checks the token left the address bar. */
async function openLink(context, { link, token }, statusText) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const requests = recordRequests(page);
  await page.goto(link);
  await page.waitForFunction((text) => document.getElementById("status").textContent === text, statusText);
  const shown = await page.evaluate(() => ({ href: location.href, html: document.documentElement.outerHTML }));
  assert.equal(shown.href, link.split("#")[0], "the fragment is gone from the address bar");
  assert.ok(!page.url().includes(token), page.url());
  assert.ok(!shown.html.includes(token), "the token is not written into the page");
  assert.equal(await page.locator("#api").innerText(), API, "the page posts to the configured API");
  return { page, requests };
}

async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const username = `walk-${tag}`;
  const email = `${username}@example.com`;

  // 1. Register with an address. No ?api=: the page takes the API from /config.js.
  await page.goto(PAGE);
  assert.equal(await page.locator("#api").innerText(), API);
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await page.fill("#email", email);
  await page.click("#register");
  assert.equal(
    await logLine(page, 1),
    `POST /register: 201, user ${username}; a verification link is mailed to ${email}`,
  );
  await shot(page, "registered");
  pass("register with an address from the page");

  // 2. The verification mail, as the inbox shows it.
  const verifyLink = await mailedLink(email, "/verify-email");
  assert.ok(verifyLink.link.startsWith(`${PAGE_ORIGIN}/verify-email#token=`), verifyLink.link);
  pass(`the verification mail ("${verifyLink.subject}") links to <APP_URL>/verify-email#token=...`);

  // 3. A mail scanner opens the link first (its own browser, scripts on): it spends nothing.
  const scanner = await browser.newContext();
  const scanned = await openLink(scanner, verifyLink, "not confirmed yet");
  await sleep(1000);
  for (const r of scanned.requests) {
    assert.equal(r.method, "GET", `${r.method} ${r.url}`);
    assert.equal(new URL(r.url).origin, PAGE_ORIGIN, `only the page's own files: ${r.url}`);
  }
  await shot(scanned.page, "verify-page-opened");
  await scanner.close();
  pass("opening the link (a scanner) sends nothing to the API; the token leaves the address bar");

  // 4. The person opens it, and confirms with the button.
  const verify = await openLink(context, verifyLink, "not confirmed yet");
  await verify.page.click("#confirm");
  await verify.page.waitForFunction(() => /^verified|no longer|try again/.test(document.getElementById("status").textContent));
  assert.equal(await verify.page.locator("#status").innerText(), `verified: ${email}`);
  assert.deepEqual(JSON.parse(await verify.page.locator("#output").innerText()), {
    email,
    email_verified: true,
  });
  assert.equal(await verify.page.locator("#confirm").isDisabled(), true);
  await assertTokenOnlyInPostBodies(verify.requests, verifyLink.token, "/email/verify");
  await shot(verify.page, "verified");
  await verify.page.close();
  pass("'Confirm my address': POST /email/verify {token} 200, verified; no token in a URL or Referer");

  // The link works once.
  const again = await openLink(context, verifyLink, "not confirmed yet");
  await again.page.click("#confirm");
  await again.page.waitForFunction(() => /no longer/.test(document.getElementById("status").textContent));
  assert.match(await logLine(again.page, 1), /^POST \/email\/verify: 400 invalid_code: Invalid or expired code$/);
  await shot(again.page, "verify-link-spent");
  await again.page.close();
  pass("the same link again: 400 invalid_code, shown");

  // 5. Log in with cookies; the session works.
  let n = await logCount(page);
  await page.click("#login");
  assert.equal(await logLine(page, n + 1), "POST /login: 200, cookies set");
  n = await logCount(page);
  await page.click("#me");
  await waitLog(page, n, new RegExp(`^GET /me: 200, sub ${escapeRegExp(username)}, fresh`));
  await shot(page, "logged-in");
  pass("log in (cookies); /me 200");

  // 6. Forgot password: the same answer for the address and for an unknown one.
  for (const address of [`nobody-${tag}@example.com`, email]) {
    n = await logCount(page);
    await page.fill("#forgot-email", address);
    await page.click("#forgot-send");
    assert.equal(await logLine(page, n + 1), `POST /password/forgot: 202, ${FORGOT_MESSAGE}`);
    assert.equal(await page.locator("#forgot-output").innerText(), FORGOT_MESSAGE);
  }
  await shot(page, "forgot-sent");
  pass("'Forgot password?': 202 and the same message for an unknown and a verified address");

  // 7. The reset link: a weak password is refused (the link stays good), then a new one.
  const resetLink = await mailedLink(email, "/reset-password");
  assert.ok(resetLink.link.startsWith(`${PAGE_ORIGIN}/reset-password#token=`), resetLink.link);
  const reset = await openLink(context, resetLink, "choose a new password");
  await reset.page.fill("#new-password", "password");
  await reset.page.click("#set-password");
  assert.match(await logLine(reset.page, 1), /^POST \/password\/reset: 400 weak_password: /);
  await shot(reset.page, "reset-weak-password");
  await reset.page.waitForFunction(() => !document.getElementById("set-password").disabled);
  await reset.page.fill("#new-password", NEW_PASSWORD);
  await reset.page.click("#set-password");
  assert.equal(await logLine(reset.page, 2), `POST /password/reset: 200, ${RESET_MESSAGE}`);
  assert.equal(await reset.page.locator("#status").innerText(), RESET_MESSAGE);
  await assertTokenOnlyInPostBodies(reset.requests, resetLink.token, "/password/reset");
  await shot(reset.page, "reset-done");
  await reset.page.close();
  pass("reset page: weak_password shown and the link still good, then 'Password changed; all sessions ended'");

  // 8. The old session's cookies are still in the browser, and refused.
  const jar = (await context.cookies([API, `${API}/refresh`])).map((c) => c.name).sort();
  assert.ok(jar.includes("access_token_cookie") && jar.includes("refresh_token_cookie"), jar.join());
  const refreshed = await page.evaluate(async (api) => {
    const csrf = document.cookie.match(/(?:^|; )csrf_refresh_token=([^;]*)/);
    const r = await fetch(`${api}/refresh`, {
      method: "POST",
      credentials: "include",
      headers: csrf ? { "X-CSRF-TOKEN": decodeURIComponent(csrf[1]) } : {},
    });
    return { status: r.status, error: (await r.json()).error };
  }, API);
  assert.deepEqual(refreshed, { status: 401, error: "token_revoked" });
  n = await logCount(page);
  await page.click("#me");
  // 401 token_revoked at once, or (the 4 s access token already expired) token_expired,
  // a refresh refused as token_revoked, and the call given up.
  const lines = await waitLog(page, n, /^GET \/me: 401 (token_revoked|token_expired)$/);
  assert.ok(lines.some((line) => /token_revoked/.test(line)), lines.join("\n"));
  await shot(page, "old-session-refused");
  pass("the old session's cookies are refused: POST /refresh and /me 401 token_revoked");

  // 9. The old password is gone; the new one logs in.
  await page.fill("#password", PASSWORD);
  n = await logCount(page);
  await page.click("#login");
  assert.equal(await logLine(page, n + 1), "POST /login: 401 invalid_credentials: Bad username or password");
  await page.fill("#password", NEW_PASSWORD);
  await page.click("#login");
  assert.equal(await logLine(page, n + 2), "POST /login: 200, cookies set");
  n = await logCount(page);
  await page.click("#me");
  await waitLog(page, n, new RegExp(`^GET /me: 200, sub ${escapeRegExp(username)}, fresh`));
  await shot(page, "new-password-login");
  pass("the old password is refused, the new one logs in; /me 200");

  console.log(`screenshots: ${SCREENSHOT.replace(/\.png$/, "")}-NN-<step>.png (${shots})`);
}

main(run);
