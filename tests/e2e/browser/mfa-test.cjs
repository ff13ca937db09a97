// The browser example's second factor (TOTP) in headless Chromium against the local stack,
// run by `make test` (scripts/test.sh, stage "browser") after accounts-test.cjs: register,
// log in, "Set up" in the page (secret and a QR code drawn in the page), read the secret
// from the page as a person reads it into an app, compute the code here (Node's HMAC-SHA1,
// RFC 6238), confirm, see the ten recovery codes, log out; log in with the password, the
// page asks for a code, the next step's code logs in; /me and /hello (the authorizer) show
// amr with "mfa"; a wrong code is refused and a recovery code works.
//
// Also: the QR code decodes (jsQR, an independent reader) to the otpauth URI of the secret
// shown, no request leaves the page's origin and the API (no QR service, no CDN), and the
// secret is gone from the page once confirmed.
//
// Environment (set by scripts/test.sh):
//   WRISTBAND_PAGE_URL   the example page, e.g. http://localhost:P/
//   WRISTBAND_API_URL    the API (cargo lambda watch), e.g. http://localhost:Q
//   SCREENSHOT           e.g. <log dir>/browser-mfa.png: one PNG per step beside it,
//                        browser-mfa-NN-<step>.png
//   JSQR                 path of the jsqr package (.tools/node/node_modules/jsqr)
//   PLAYWRIGHT_CORE, CHROMIUM_PATH   as for browser-test.cjs
"use strict";

const assert = require("node:assert/strict");
const { env, main, logCount, logLine, nextLog, pass, screenshots, totp } = require("./lib.cjs");

const PAGE = env("WRISTBAND_PAGE_URL");
const PAGE_ORIGIN = new URL(PAGE).origin;
const API = env("WRISTBAND_API_URL").replace(/\/+$/, "");
const SCREENSHOT = env("SCREENSHOT");
const jsQR = require(env("JSQR"));

const PASSWORD = "correct horse battery staple";

const now = () => Date.now() / 1000;

const shot = screenshots(SCREENSHOT);

/** The QR code on the canvas, read by jsQR from the page's pixels. */
async function readQr(page) {
  const image = await page.evaluate(() => {
    const canvas = document.getElementById("mfa-qr");
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    return { width: data.width, height: data.height, pixels: Array.from(data.data) };
  });
  assert.ok(image.width > 0 && image.height > 0, "the QR code is drawn");
  const found = jsQR(Uint8ClampedArray.from(image.pixels), image.width, image.height);
  assert.ok(found, "jsQR finds a QR code on the canvas");
  return found.data;
}

async function run(browser) {
  // RFC 6238 Appendix B (SHA-1 seed "12345678901234567890"): T=59 gives 94287082.
  assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59), "287082");
  pass("the test's own TOTP gives RFC 6238's code at T=59");

  const context = await browser.newContext({ viewport: { width: 900, height: 1400 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const origins = new Set();
  page.on("request", (req) => origins.add(new URL(req.url()).origin));
  const username = `mfa-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  await page.goto(PAGE);
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  let n = await logCount(page);
  await page.click("#register");
  assert.match(await logLine(page, n + 1), /^POST \/register: 201/);
  pass("register");

  // Enrolment takes a fresh access token, and this stack's lives 4 s: log in, set up and
  // confirm at once; should the token expire on the way (a slow machine), the page says
  // "log in again" and so does this test, at most three times.
  let secret = null;
  let recovery = [];
  for (let attempt = 1; !secret; attempt++) {
    n = await logCount(page);
    await page.click("#login");
    assert.equal(await logLine(page, n + 1), "POST /login: 200, cookies set");
    await page.click("#mfa-setup");
    let next = await nextLog(page, n + 1);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.equal(next.line, "POST /mfa/totp: 200, secret and QR code shown; confirm with a code");
    // What a person reads into an app: the secret as text, or the QR code, which an
    // independent decoder reads back here to the otpauth URI of that same secret.
    const shown = (await page.locator("#mfa-secret").innerText()).trim();
    const uri = await readQr(page);
    const parsed = new URL(uri);
    assert.equal(parsed.protocol, "otpauth:", uri);
    assert.equal(parsed.host, "totp", uri);
    assert.equal(parsed.searchParams.get("secret"), shown, uri);
    assert.ok(decodeURIComponent(parsed.pathname).endsWith(`:${username}`), uri);
    assert.ok(parsed.searchParams.get("issuer"), uri);
    await page.fill("#mfa-confirm-code", totp(shown, now()));
    await shot(page, `set-up-${attempt}`);
    await page.click("#mfa-confirm");
    next = await nextLog(page, next.count);
    if (/fresh_token_required/.test(next.line) && attempt < 3) continue;
    assert.match(next.line, /^POST \/mfa\/totp\/confirm: 200, two-factor authentication on; 10 recovery codes/);
    secret = shown;
    recovery = await page.locator("#mfa-recovery-codes li").allInnerTexts();
    if (attempt > 1) console.log(`# enrolment needed ${attempt} logins (the 4 s token expired on the way)`);
  }
  pass("log in, 'Set up': the secret and a QR code that decodes (jsQR) to its otpauth URI");

  assert.match(secret, /^[A-Z2-7]{32,}$/, "at least 160 bits of base32");
  assert.equal(recovery.length, 10);
  for (const code of recovery) assert.match(code, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
  assert.equal(await page.locator("#mfa-enrolment").isHidden(), true);
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  assert.ok(!html.includes(secret), "the secret is gone from the page once confirmed");
  await shot(page, "recovery-codes");
  pass("confirm with the code computed from the page's secret: ten recovery codes shown once");

  n = await logCount(page);
  await page.click("#me");
  let me = await nextLog(page, n);
  assert.match(me.line, new RegExp(`^GET /me: 200, sub ${username}, fresh (true|false), amr pwd$`));
  await page.click("#logout");
  assert.equal((await nextLog(page, me.count)).line, "DELETE /logout: 200, cookies cleared");
  assert.deepEqual((await context.cookies([API, `${API}/refresh`])).map((c) => c.name), []);
  pass("/me before: amr pwd; log out");

  // The password alone is not enough any more.
  n = await logCount(page);
  await page.click("#login");
  assert.equal(
    await logLine(page, n + 1),
    "POST /login: 401 mfa_required, methods totp, recovery_code: enter a code",
  );
  assert.equal(await page.locator("#mfa-login").isVisible(), true, "the page asks for a code");
  assert.deepEqual((await context.cookies([API, `${API}/refresh`])).map((c) => c.name), [], "no cookies yet");
  await shot(page, "code-asked");
  pass("log in with the password: 401 mfa_required, the page asks for a code, no cookies");

  // The confirmation spent the current step's code: an app shows the next one next.
  await page.fill("#mfa-login-code", totp(secret, now() + 30));
  await page.click("#mfa-login-submit");
  assert.equal(await logLine(page, n + 2), "POST /login/mfa: 200, cookies set");
  assert.equal(await page.locator("#status").innerText(), `logged in as ${username}`);
  assert.equal(await page.locator("#mfa-login").isHidden(), true);
  const jar = (await context.cookies([API, `${API}/refresh`])).map((c) => c.name).sort();
  assert.deepEqual(jar, ["access_token_cookie", "csrf_access_token", "csrf_refresh_token", "refresh_token_cookie"]);
  await page.click("#me");
  me = await nextLog(page, n + 2);
  assert.match(me.line, new RegExp(`^GET /me: 200, sub ${username}, fresh (true|false), amr pwd,otp,mfa$`));
  assert.equal(await page.locator("#amr").innerText(), "pwd,otp,mfa");
  assert.deepEqual(JSON.parse(await page.locator("#me-output").innerText()).amr, ["pwd", "otp", "mfa"]);
  pass("the next step's code: POST /login/mfa 200 sets the cookies; /me shows amr pwd,otp,mfa");

  // /hello does not refresh by itself: /me just before keeps the 4 s token alive.
  for (let attempt = 1; ; attempt++) {
    n = await logCount(page);
    await page.click("#me");
    const refreshed = await nextLog(page, n);
    assert.match(refreshed.line, /^GET \/me: 200, .*amr pwd,otp,mfa$/);
    await page.click("#hello-get");
    const hello = (await nextLog(page, refreshed.count)).line;
    if (/^GET \/hello: 403/.test(hello) && attempt < 3) continue;
    assert.match(hello, new RegExp(`^GET /hello: 200, Hello, ${username}!`));
    break;
  }
  assert.equal(JSON.parse(await page.locator("#hello-output").innerText()).authorizer.amr, "pwd,otp,mfa");
  await shot(page, "logged-in-with-code");
  pass("/hello behind the authorizer: its context has amr pwd,otp,mfa");

  // A wrong code is refused and the form stays; a recovery code then logs in.
  n = await logCount(page);
  await page.click("#logout");
  assert.equal((await nextLog(page, n)).line, "DELETE /logout: 200, cookies cleared");
  n = await logCount(page);
  await page.click("#login");
  assert.match(await logLine(page, n + 1), /^POST \/login: 401 mfa_required/);
  const wrong = ["000000", "111111", "222222"].find(
    (c) => ![-60, -30, 0, 30, 60].some((d) => totp(secret, now() + d) === c),
  );
  await page.fill("#mfa-login-code", wrong);
  await page.click("#mfa-login-submit");
  assert.equal(await logLine(page, n + 2), "POST /login/mfa: 401 mfa_failed: Invalid authentication code");
  assert.equal(await page.locator("#mfa-login").isVisible(), true);
  await shot(page, "wrong-code");
  await page.fill("#mfa-login-code", recovery[0]);
  await page.click("#mfa-login-submit");
  assert.equal(await logLine(page, n + 3), "POST /login/mfa: 200, cookies set");
  await shot(page, "recovery-code-login");
  pass("a wrong code: 401 mfa_failed shown, the form stays; a recovery code logs in");

  const foreign = [...origins].filter((o) => o !== PAGE_ORIGIN && o !== new URL(API).origin);
  assert.deepEqual(foreign, [], "requests only to the page's origin and the API");
  pass("no request leaves the page's origin and the API (the QR code is drawn in the page)");
  console.log(`screenshots: ${SCREENSHOT.replace(/\.png$/, "")}-NN-<step>.png (${shot.count()})`);
}

main(run);
