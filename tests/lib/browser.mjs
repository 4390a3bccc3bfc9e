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
