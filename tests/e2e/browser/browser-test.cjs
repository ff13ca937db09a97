// The browser example (examples/browser/) in headless Chromium against the local stack,
// run by `make test` (scripts/test.sh, stage "browser"): register, login, /me shown,
// /hello behind the Lambda authorizer with the cookie (GET, POST with the CSRF value,
// POST without it refused), refresh after the access token expires, CSRF refusals, logout. Cookies, CORS with
// credentials and SameSite as a real browser applies them.
//
// Environment (set by scripts/test.sh):
//   WRISTBAND_PAGE_URL   the example page, e.g. http://localhost:P/
//   WRISTBAND_API_URL    the API (cargo lambda watch), e.g. http://localhost:Q
//   ACCESS_TTL_SECONDS   the API's access token lifetime (short in this run)
//   SCREENSHOT           where to keep the screenshot
//   PLAYWRIGHT_CORE      path of the playwright-core package (.tools/node/node_modules/...)
//   CHROMIUM_PATH        Debian's chromium
"use strict";

const assert = require("node:assert/strict");
const { env, main, logLine, pass, sleep } = require("./lib.cjs");

const PAGE = env("WRISTBAND_PAGE_URL");
const API = env("WRISTBAND_API_URL").replace(/\/+$/, "");
const TTL = Number(env("ACCESS_TTL_SECONDS"));
const SCREENSHOT = env("SCREENSHOT");

async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const calls = [];
  page.on("response", (r) => {
    if (r.url().startsWith(API)) calls.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));

  await page.goto(`${PAGE}?api=${encodeURIComponent(API)}`);
  const pageOrigin = new URL(PAGE).origin;
  assert.notEqual(pageOrigin, new URL(API).origin, "the page is on another origin than the API");
  const username = `browser-${Date.now()}`;
  await page.fill("#username", username);
  await page.fill("#password", "correct horse battery staple");

  await page.click("#register");
  assert.match(await logLine(page, 1), /POST \/register: 201/);
  pass("register from another origin (CORS)");

  await page.click("#login");
  assert.match(await logLine(page, 2), /POST \/login: 200/);
  const cookies = await context.cookies(API);
  const byName = Object.fromEntries(cookies.map((c) => [c.name, c]));
  for (const name of ["access_token_cookie", "csrf_access_token", "csrf_refresh_token"]) {
    assert.ok(byName[name], `${name} stored by Chromium: ${JSON.stringify(cookies)}`);
    assert.equal(byName[name].secure, true, `${name} is Secure (kept on http://localhost)`);
    assert.equal(byName[name].sameSite, "Lax", name);
  }
  assert.equal(byName.access_token_cookie.httpOnly, true);
  assert.equal(byName.csrf_access_token.httpOnly, false);
  const refreshCookie = (await context.cookies(`${API}/refresh`)).find((c) => c.name === "refresh_token_cookie");
  assert.ok(refreshCookie, "refresh_token_cookie stored");
  assert.equal(refreshCookie.path, "/refresh");
  assert.equal(refreshCookie.httpOnly, true);
  const visible = await page.evaluate(() => document.cookie);
  assert.match(visible, /csrf_access_token=/, "the page reads the CSRF cookie");
  assert.doesNotMatch(visible, /token_cookie=/, "the page never sees a token");
  pass("login sets HttpOnly Secure SameSite=Lax token cookies; JavaScript sees only csrf_*");

  await page.click("#me");
  assert.match(await logLine(page, 3), new RegExp(`GET /me: 200, sub ${username}, fresh true`));
  assert.match(await page.innerText("#me-output"), new RegExp(`"sub": "${username}"`));
  pass("/me shown, authenticated by the cookie alone");

  // A route of the team's own behind the Lambda authorizer (the page's server plays API
  // Gateway for /hello): the access cookie alone opens a GET; a POST needs the CSRF value.
  await page.click("#hello-get");
  assert.match(await logLine(page, 4), new RegExp(`GET /hello: 200, Hello, ${username}!`));
  await page.click("#hello-post");
  assert.match(await logLine(page, 5), new RegExp(`POST /hello: 200, Hello, ${username}!`));
  assert.match(await page.innerText("#hello-output"), /"method": "POST"/);
  const helloWrites = await page.evaluate(async () => {
    const post = async (headers) => {
      const r = await fetch("/hello", { method: "POST", headers, credentials: "include" });
      return { status: r.status, body: await r.json() };
    };
    return [await post({}), await post({ "X-CSRF-TOKEN": "not-the-value" })];
  });
  for (const answer of helloWrites) {
    assert.deepEqual(answer, { status: 403, body: { message: "Forbidden" } });
  }
  pass("/hello behind the authorizer: cookie GET 200, POST with X-CSRF-TOKEN 200, without or wrong 403");

  // A write from the page's origin without the CSRF header: the cookie is sent (same
  // site), the request is refused.
  const noCsrf = await page.evaluate(async (api) => {
    const r = await fetch(`${api}/logout/all`, { method: "POST", credentials: "include" });
    return { status: r.status, body: await r.json() };
  }, API);
  assert.deepEqual(noCsrf, {
    status: 403,
    body: { error: "csrf_failed", message: "Missing or invalid CSRF token" },
  });
  pass("fetch POST /logout/all with the cookie but no X-CSRF-TOKEN: 403 csrf_failed");

  // The classic CSRF: a plain HTML form posted across origins (no custom header possible).
  const attack = await context.newPage();
  await attack.goto(`${PAGE}?api=${encodeURIComponent(API)}`);
  await Promise.all([
    attack.waitForNavigation(),
    attack.evaluate((api) => {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = `${api}/logout/all`;
      document.body.appendChild(form);
      form.submit();
    }, API),
  ]);
  const attackAnswer = JSON.parse(await attack.innerText("body"));
  assert.equal(attackAnswer.error, "csrf_failed", JSON.stringify(attackAnswer));
  await attack.close();
  pass("cross-origin HTML form POST /logout/all: 403 csrf_failed");

  // The access token expires; the page refreshes by cookie and retries.
  await sleep((TTL + 1.5) * 1000);
  await page.click("#me");
  assert.match(await logLine(page, 6), /GET \/me: 401 token_expired, refreshing/);
  assert.match(await logLine(page, 7), /POST \/refresh: 200/);
  assert.match(await logLine(page, 8), new RegExp(`GET /me: 200, sub ${username}, fresh false`));
  assert.ok(calls.includes("POST /refresh 200"), calls.join("\n"));
  pass("after expiry: 401 token_expired, POST /refresh (cookie + csrf_refresh_token), retry 200");

  // The artefact: /me's data after the refresh, and the page's log of it all.
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await page.click("#logout");
  assert.match(await logLine(page, 9), /DELETE \/logout: 200/);
  const left = (await context.cookies([API, `${API}/refresh`])).map((c) => c.name);
  assert.deepEqual(left, [], "logout cleared every cookie");
  await page.click("#me");
  assert.match(await logLine(page, 10), /GET \/me: 401 missing_token/);
  await page.click("#hello-get");
  assert.match(await logLine(page, 11), /GET \/hello: 403 Forbidden/);
  await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-logged-out.png"), fullPage: true });
  pass("logout clears the four cookies; /me is 401 and /hello 403 afterwards");
  console.log(`screenshot: ${SCREENSHOT}`);
  console.log(`API calls seen by the browser:\n  ${calls.join("\n  ")}`);
}

main(run);
