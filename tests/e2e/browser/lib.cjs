// What the browser tests share: their environment (set by scripts/test.sh), Chromium as
// playwright-core drives it here, the example page's log, and TAP-like `ok N - ...` lines
// that the stage counts.
"use strict";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through make test`);
  return value;
};

/** Debian's Chromium, headless; playwright's launch() gives it a fresh --user-data-dir. */
function launch() {
  const { chromium } = require(env("PLAYWRIGHT_CORE"));
  return chromium.launch({
    executablePath: env("CHROMIUM_PATH"),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Runs `run(browser)` in a fresh Chromium; a failure prints `not ok` and exits 1. */
function main(run) {
  (async () => {
    const browser = await launch();
    try {
      await run(browser);
    } finally {
      await browser.close();
    }
  })().catch((err) => {
    console.error(`not ok - ${err.stack || err}`);
    process.exit(1);
  });
}

/** The text of the page's `#log` line number `count`, once it has that many. */
async function logLine(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll("#log li").length >= n, count, {
    timeout: 60_000,
  });
  return page.locator("#log li").nth(count - 1).innerText();
}

let step = 0;
const pass = (what) => console.log(`ok ${++step} - ${what}`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { env, launch, main, logLine, pass, sleep };
