// The seed's app end to end: examples/rails/run.sh starts Redis, peercable and the example Rails app (Debian's
// Rails 6.1); two people sign in through the app's own form in Chromium, the P2P interface partial connects to
// peercable signed in by the app's session cookie, they chat, and an announcement the Rails app broadcasts
// (Ruby, through Redis) appears on both pages. Screenshots: tests/e2e/artifacts/rails-app-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchChromium, artifactsDir as artifacts } from "../lib/browser.mjs";
import { repoRoot, freePort } from "../lib/peercable.mjs";

const STEP_MS = 15000;
let app, browser, url, output = "";

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const [port, cablePort, redisPort] = [await freePort(), await freePort(), await freePort()];
  app = spawn(join(repoRoot, "examples/rails/run.sh"), ["--no-build"], {
    env: { ...process.env, PORT: String(port), CABLE_PORT: String(cablePort), REDIS_PORT: String(redisPort),
      SECRET_KEY_BASE: "e2e-example-secret-key-base-0123456789abcdef0123456789abcdef0123456789" },
    stdio: ["ignore", "pipe", "pipe"], detached: true,
  });
  app.stdout.on("data", (d) => (output += d));
  app.stderr.on("data", (d) => (output += d));
  url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run.sh did not come up in 60 s:\n${output}`)), 60000);
    const check = () => {
      const m = output.match(/Open (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    app.stdout.on("data", check);
    app.on("exit", (code) => { clearTimeout(timer); reject(new Error(`run.sh exited ${code}:\n${output}`)); });
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (app && app.exitCode === null) {
    const exited = new Promise((resolve) => app.on("exit", resolve));
    process.kill(-app.pid, "SIGTERM");  // run.sh stops Redis, peercable and puma on SIGTERM
    await exited;
  }
});

async function signIn(name, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("pageerror", (e) => assert.fail(`page error: ${e.message}`));
  await page.goto(url);
  assert.match(page.url(), /\/sign_in$/, "signed-out visitors are sent to the sign-in form");
  await page.selectOption("#user_id", name.toLowerCase());
  await page.fill("#password", "p2p-demo");
  await page.click("#sign-in-submit");
  await page.waitForFunction(() => document.querySelector("#p2p-status")?.textContent === "Connected");
  assert.equal(await page.textContent("#current-user"), name);
  return page;
}

const bodies = (page) => page.locator(".p2p__messages .message__body").allTextContents();

test("two people sign in with the app's session, chat through peercable, and see the app's broadcast", { timeout: 90000 }, async () => {
  const alice = await signIn("Alice", { width: 1100, height: 760 });
  const bob = await signIn("Bob", { width: 390, height: 780 });
  // Presence comes from peercable: each sees the other.
  await alice.waitForFunction(() => [...document.querySelectorAll(".person__name")].some((n) => n.textContent.includes("bob")));

  await alice.fill("textarea[data-p2p-target=input]", "Hello Bob, via peercable");
  await alice.press("textarea[data-p2p-target=input]", "Enter");
  await bob.waitForFunction(() => [...document.querySelectorAll(".message__body")].some((b) => b.textContent === "Hello Bob, via peercable"));

  // Bob's announcement goes through the Rails app: a POST, ActionCable.server.broadcast, Redis, peercable.
  // Alice, connected all along, receives it live (Bob's page reloads after the form's redirect; an app
  // broadcast is not room history, so it is not replayed to him).
  await bob.fill("#announce-body", "Deploy at five");
  await bob.click("#announce-submit");
  await bob.waitForFunction(() => document.querySelector("#p2p-status")?.textContent === "Connected");
  await alice.waitForFunction(() => [...document.querySelectorAll(".message__body")].some((b) => b.textContent === "Deploy at five"));
  assert.ok((await bodies(alice)).includes("Hello Bob, via peercable"));
  assert.match(await alice.locator(".message", { hasText: "Deploy at five" }).locator(".message__from").textContent(),
    /Announcement from Bob/);
  await alice.screenshot({ path: join(artifacts, "rails-app-desktop.png") });
  await bob.screenshot({ path: join(artifacts, "rails-app-phone.png") });
});

test("the private room opens for invited people only", { timeout: 60000 }, async () => {
  const alice = await signIn("Alice", { width: 1100, height: 760 });
  await alice.click("text=#team");
  await alice.waitForFunction(() => document.querySelector("#p2p-status")?.textContent === "Connected");
  await alice.fill("textarea[data-p2p-target=input]", "Team only");
  await alice.press("textarea[data-p2p-target=input]", "Enter");
  await alice.waitForFunction(() => [...document.querySelectorAll(".message__body")].some((b) => b.textContent === "Team only"));
  const carol = await signIn("Carol", { width: 1100, height: 760 });
  await carol.goto(url.replace(/\/$/, "") + "/rooms/team");
  await carol.waitForFunction(() => document.querySelector("#p2p-status")?.textContent === "Rejected");
  assert.equal(await carol.locator(".message__body").count(), 0, "nothing of the private room reaches Carol");
  await carol.screenshot({ path: join(artifacts, "rails-app-private-refused.png") });
});
