// Headless Chromium for the browser tests (Debian's chromium driven by playwright-core), and the web client
// they load, built once when missing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { repoRoot } from "./peercable.mjs";

export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const webDir = join(repoRoot, "web");
export const distDir = join(webDir, "dist");

/** Launches headless Chromium with the flags every test uses, plus `extraArgs`. */
export function launchChromium(extraArgs = []) {
  assert.ok(existsSync(chromiumPath), `Chromium not found at ${chromiumPath} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", ...extraArgs],
  });
}

/** Builds web/dist (npm ci first if needed) unless it is there already. */
export function buildWebIfMissing() {
  if (existsSync(join(distDir, "index.html")) && existsSync(join(distDir, "app.js")) &&
      existsSync(join(distDir, "admin", "index.html"))) return;
  if (!existsSync(join(webDir, "node_modules"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: webDir, stdio: "inherit" });
  }
  execFileSync("npm", ["run", "build"], { cwd: webDir, stdio: "inherit" });
}

/** Where the browser tests leave their screenshots. */
export const artifactsDir = join(repoRoot, "tests", "e2e", "artifacts");

/** Saves a screenshot of `page` as <artifactsDir>/<name>.png (`options` as page.screenshot takes them). */
export function shot(page, name, options = {}) {
  return page.screenshot({ path: join(artifactsDir, `${name}.png`), ...options });
}

/**
 * Opens a page in a new context of `browser` (its own storage; `contextOptions` as browser.newContext takes
 * them) whose dialogs are dismissed and, with uncaught page errors, recorded in `surprises` (prefixed with
 * `label`), so that a test can assert at the end that there were none. `init` (with `initArg`) runs in the
 * page before its own scripts; `timeout` is each step's default.
 */
export async function openWatchedPage(browser, { surprises, timeout, init, initArg, label = "", ...contextOptions }) {
  const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC", ...contextOptions });
  if (init) await context.addInitScript(init, initArg);
  const page = await context.newPage();
  if (timeout) page.setDefaultTimeout(timeout);
  page.on("dialog", async (dialog) => {
    surprises.push(dialog.message());
    await dialog.dismiss();
  });
  page.on("pageerror", (error) => surprises.push(`${label}pageerror: ${error.message}`));
  return page;
}

/** Keeps every WebSocket frame `page` receives in page.framesReceived (deliveries, counted apart from the page). */
export function recordFramesReceived(page) {
  page.framesReceived = [];
  page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => page.framesReceived.push(String(payload))));
}

/** Resolves once the web client on `page` shows the connection status `text` ("Connected", …). */
export function waitForStatus(page, text, { timeout, polling } = {}) {
  return page.waitForFunction(
    (want) => document.querySelector("#chat .status__label")?.textContent === want, text, { timeout, polling });
}

/** Signs in to the web client at `url` as a guest `name` in `room`, and waits until it is connected. */
export async function signInAsGuest(page, url, name, room) {
  await page.goto(url);
  await page.fill("#sign-in-name", name);
  await page.fill("#sign-in-room", room);
  await page.click("#sign-in-submit");
  await waitForStatus(page, "Connected");
}
