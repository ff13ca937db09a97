// What the browser tests share: their environment (set by scripts/test.sh), Chromium as
// playwright-core drives it here, the example page's log, and TAP-like `ok N - ...` lines
// that the stage counts.
"use strict";

const crypto = require("node:crypto");

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

/** The number of lines in the page's `#log`. */
const logCount = (page) => page.locator("#log li").count();

/** The page's next log line (after the `n` it had) that is not a refresh notice. */
async function nextLog(page, n) {
  for (let i = n + 1; ; i++) {
    const line = await logLine(page, i);
    if (!/token_expired, refreshing$|^POST \/refresh: 200/.test(line)) return { line, count: i };
  }
}

/**
 * One screenshot per step beside `base` (e.g. browser-mfa.png): browser-mfa-NN-<name>.png.
 * `shot.count()` says how many were taken.
 */
function screenshots(base) {
  let taken = 0;
  const shot = async (page, name) => {
    const path = base.replace(/\.png$/, "") + `-${String(++taken).padStart(2, "0")}-${name}.png`;
    await page.screenshot({ path, fullPage: true });
  };
  shot.count = () => taken;
  return shot;
}

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) of a base32 secret at `seconds`. */
function totp(base32, seconds) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const key = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of base32.replace(/=+$/, "")) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Error(`not base32: ${base32}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      key.push((buffer >> bits) & 0xff);
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = crypto.createHmac("sha1", Buffer.from(key)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

module.exports = { env, launch, main, logCount, logLine, nextLog, pass, screenshots, sleep, totp };
