// Turbo Streams in a real browser with no Ruby process on the socket: a page loads the unmodified
// @hotwired/turbo-rails bundle (npm) with <turbo-cable-stream-source> elements whose names Ruby signed
// (Debian's ActiveSupport MessageVerifier, as turbo-rails does), pointed at peercable; a <turbo-stream>
// broadcast by a Ruby process through Rails' redis adapter lands in the DOM, and a tampered name is rejected
// and receives nothing. Screenshot: tests/e2e/artifacts/turbo-stream.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, artifactsDir as artifacts } from "../lib/browser.mjs";
import { startPeercable, repoRoot, signToken, freePort } from "../lib/peercable.mjs";
import { startRedis } from "../lib/redis.mjs";

const SECRET = "turbo-e2e-secret-key-base-0123456789abcdef0123456789abcdef012";
const railsDir = join(repoRoot, "tests", "integration", "redis", "rails");
const turboBundle = join(repoRoot, "tests", "node_modules", "@hotwired", "turbo-rails", "app", "assets", "javascripts", "turbo.js");
let redis, server, browser, railsEnv;

function signedByRuby(names) {
  const r = spawnSync("ruby", [join(repoRoot, "tests/fixtures/signed_stream.rb"), "--secret-key-base", SECRET,
    ...names.flatMap((n) => ["--name", n])], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).turbo_sha1;
}

function rubyBroadcast(stream, html) {
  return new Promise((resolve, reject) => {
    const p = spawn("ruby", ["broadcast.rb", stream, JSON.stringify(html)], { cwd: railsDir, env: railsEnv,
      stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`broadcast.rb exited ${code}: ${out}`))));
  });
}

const escapeAttr = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;");

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), "peercable-turbo-e2e-"));
  const cableYml = join(dir, "cable.yml");
  writeFileSync(cableYml, ["test:", "  adapter: redis", `  url: redis://127.0.0.1:${redis.port}/3`, ""].join("\n"));
  railsEnv = { ...process.env, CABLE_CONFIG: cableYml, RAILS_ENV: "test" };
  const webRoot = join(dir, "www");
  mkdirSync(webRoot);
  copyFileSync(turboBundle, join(webRoot, "turbo.js"));
  const [good, other] = signedByRuby(["board:1", "board:2"]);
  const sep = other.indexOf("--");
  const tampered = other.slice(0, sep + 2) + (other[sep + 2] === "a" ? "b" : "a") + other.slice(sep + 3);
  // The page carries the cable URL, so the port is picked before the page is written and the server started.
  const port = await freePort();
  const token = signToken({ sub: "viewer", name: "Viewer" });
  writeFileSync(join(webRoot, "index.html"), `<!doctype html>
<html><head><meta charset="utf-8"><title>Turbo on peercable</title>
<meta name="action-cable-url" content="ws://127.0.0.1:${port}/cable?token=${token}">
<script type="module" src="/turbo.js"></script></head>
<body><h1>Board</h1>
<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="${escapeAttr(good)}"></turbo-cable-stream-source>
<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="${escapeAttr(tampered)}"></turbo-cable-stream-source>
<ul id="cards"></ul><ul id="forbidden"></ul></body></html>`);
  server = await startPeercable(["--config", cableYml, "--web-root", webRoot, "--rails-secret-key-base", SECRET,
    "--rails-key-digest", "sha1", "--log-level", "info"], { port, env: { RAILS_ENV: "test" } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  const code = await server?.stop();
  await redis?.kill();
  assert.equal(code, 0, server?.logs());
});

test("a <turbo-stream> broadcast from Ruby lands in the page; the tampered stream gets nothing", { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => frames.push(String(payload))));
  page.on("pageerror", (e) => assert.fail(`page error: ${e.message}`));
  await page.goto(server.url + "/");
  // Both subscriptions answered: one confirmed, one rejected.
  await page.waitForFunction(() => document.querySelectorAll("turbo-cable-stream-source[connected]").length === 1,
    null, { timeout: 10000 });
  const answers = () => frames.map((f) => JSON.parse(f)).filter((f) => /_subscription$/.test(f.type ?? "")).map((f) => f.type);
  for (let i = 0; i < 100 && answers().length < 2; i++) await page.waitForTimeout(50);
  assert.deepEqual(answers().sort(), ["confirm_subscription", "reject_subscription"]);

  // First on the tampered stream, then on the genuine one: through one Redis connection and one socket, a
  // delivery to the rejected subscription would arrive before the genuine one.
  await rubyBroadcast("board:2", '<turbo-stream action="append" target="forbidden"><template><li>leaked</li></template></turbo-stream>');
  await rubyBroadcast("board:1", '<turbo-stream action="append" target="cards"><template><li id="card-1">Card from Ruby</li></template></turbo-stream>');
  await page.waitForSelector("#card-1", { timeout: 10000 });
  assert.equal(await page.textContent("#card-1"), "Card from Ruby");
  assert.equal(await page.locator("#forbidden li").count(), 0);
  assert.ok(!frames.some((f) => f.includes("leaked")), "nothing of the tampered stream reached the socket");
  await page.screenshot({ path: join(artifacts, "turbo-stream.png") });
});
