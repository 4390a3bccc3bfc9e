// The operators' live view in headless Chromium: a wrong admin key is refused in the page (no figures
// shown); with the right one, while real Action Cable clients subscribe and broadcasts flow, the figures on
// the page move (connections, deliveries per second, the busiest stream). Then two nodes on a real Redis:
// the page on one node shows both, with their total, and the other node's figures move with its traffic.
// Screenshots on a desktop and a phone: tests/e2e/artifacts/admin-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { launchChromium, buildWebIfMissing, artifactsDir as artifacts } from "../lib/browser.mjs";
import { startPeercable, signToken } from "../lib/peercable.mjs";
import { startRedis, startNodes, redisMissing } from "../lib/redis.mjs";

const ADMIN_KEY = "e2e-admin-key-0123456789abcdef";
const BROADCAST_KEY = "e2e-broadcast-key-0123456789";
const STREAM = "e2e:orders";
const SUBSCRIBERS = 12;
let server, browser;
const sockets = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  buildWebIfMissing();
  server = await startPeercable(["--admin-key", ADMIN_KEY, "--broadcast-key", BROADCAST_KEY, "--public-streams",
    "--node-id", "e2e-node"]);
  browser = await launchChromium();
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await browser?.close();
  await server?.stop();
});

/** A real Action Cable client subscribed to `stream` (on `node`); resolves once the subscription is confirmed. */
function subscribe(stream, n, node = server) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${node.wsUrl}?token=${signToken({ sub: `viewer-${n}` })}`, "actioncable-v1-json");
    sockets.push(ws);
    const identifier = JSON.stringify({ channel: "$pubsub", stream_name: stream });
    ws.on("error", reject);
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier }));
      if (m.type === "confirm_subscription") resolve(ws);
    });
  });
}

async function broadcast(stream, data, node = server) {
  const r = await fetch(`${node.url}/broadcast`, {
    method: "POST",
    headers: { Authorization: `Bearer ${BROADCAST_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ stream, data }),
  });
  assert.equal(r.status, 202);
}

const text = (page, sel) => page.locator(sel).first().textContent();

test("a wrong key is refused; with traffic running the figures on the page move", { timeout: 90000 }, async () => {
  for (const [name, viewport] of [["desktop", { width: 1280, height: 860 }], ["phone", { width: 390, height: 844 }]]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: name === "phone" ? 2 : 1 });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    await page.locator("#admin-key").fill("not-the-key-at-all");
    await page.locator("#sign-in-button").click();
    await page.locator("#sign-in-error").waitFor({ state: "visible" });
    assert.match(await text(page, "#sign-in-error"), /refused/);
    assert.equal(await page.locator("#dashboard").isVisible(), false);
    assert.equal(await page.locator(".node").count(), 0);
    if (name === "desktop") await page.screenshot({ path: join(artifacts, "admin-refused.png") });

    await page.locator("#admin-key").fill(ADMIN_KEY);
    await page.locator("#sign-in-button").click();
    await page.locator(".node").waitFor({ state: "visible" });
    assert.equal(await text(page, '[data-f="id"]'), "e2e-node");
    const websocketsBefore = Number((await text(page, '[data-f="websockets"]')).replace(/,/g, ""));

    // Real clients join, then broadcasts flow (bounded) until the page shows them.
    const joined = await Promise.all(Array.from({ length: SUBSCRIBERS }, (_, i) => subscribe(STREAM, `${name}-${i}`)));
    assert.equal(joined.length, SUBSCRIBERS);
    await page.waitForFunction((n) => Number(document.querySelector('[data-f="websockets"]').textContent.replace(/,/g, "")) >= n,
      websocketsBefore + SUBSCRIBERS, { timeout: 10000 });
    let shown = false;
    for (let round = 0; round < 150 && !shown; round++) {
      await Promise.all([broadcast(STREAM, { round, a: 1 }), broadcast(STREAM, { round, b: 2 }), broadcast("e2e:quiet", { round })]);
      shown = await page.evaluate((stream) => {
        const perSecond = Number(document.querySelector('[data-f="deliveries_per_s"]').textContent.replace(/,/g, ""));
        const top = document.querySelector(".stream__name");
        return perSecond > 0 && top?.textContent === stream;
      }, STREAM);
      if (!shown) await page.waitForTimeout(40);
    }
    assert.ok(shown, "the page never showed the deliveries");
    assert.notEqual(await text(page, '[data-f="bytes_out_per_s"]'), "0 B");
    assert.match(await text(page, '[data-f="broker"]'), /local/);
    assert.equal(await page.locator("#cluster").isVisible(), false);  // one node: no cluster table
    await page.screenshot({ path: join(artifacts, `admin-${name}.png`), fullPage: true });

    // Signing out forgets the key: a reload asks for it again.
    await page.locator("#sign-out").click();
    await page.reload();
    await page.locator("#sign-in").waitFor({ state: "visible" });
    for (const ws of joined) ws.close();
    await context.close();
  }
});

const number = (t) => Number(t.replace(/,/g, ""));

test("two nodes on Redis: the page on one shows both, their total, and the other's traffic", {
  skip: redisMissing() ?? false, timeout: 90000 }, async () => {
  const redis = await startRedis();
  const common = ["--admin-key", ADMIN_KEY, "--broadcast-key", BROADCAST_KEY, "--public-streams", "--threads", "1"];
  const [a, b] = await startNodes(redis, 2, (i) => [...common, "--node-id", ["edge-a", "edge-b"][i]], { db: 0 });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(`${a.url}/admin`);
    await page.locator("#admin-key").fill(ADMIN_KEY);
    await page.locator("#sign-in-button").click();
    await page.locator("#cluster").waitFor({ state: "visible" });
    await page.waitForFunction(() => document.querySelectorAll("#cluster-rows tr").length === 2, null, { timeout: 10000 });
    const ids = await page.locator("#cluster-rows .cluster-row__id").allTextContents();
    assert.deepEqual(ids, ["edge-a (this node)", "edge-b"]);
    assert.deepEqual(await page.locator('.node [data-f="id"]').allTextContents(), ["edge-a", "edge-b"]);

    // Clients on node B only; broadcasts into A reach them through Redis. A's page shows B's row move.
    const joined = await Promise.all(Array.from({ length: 6 }, (_, i) => subscribe(STREAM, `cluster-${i}`, b)));
    const rowB = page.locator("#cluster-rows tr").nth(1);
    await page.waitForFunction(() => {
      const cells = document.querySelectorAll("#cluster-rows tr")[1]?.querySelectorAll("td");
      return cells && Number(cells[2].textContent.replace(/,/g, "")) >= 6;
    }, null, { timeout: 10000 });
    // Traffic runs (bounded) until the page has shown it and been photographed.
    let done = false;
    const traffic = (async () => {
      for (let round = 0; round < 400 && !done; round++) {
        await Promise.all([broadcast(STREAM, { round, a: 1 }, a), broadcast(STREAM, { round, b: 2 }, a)]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await page.waitForFunction((stream) => {
        const cells = document.querySelectorAll("#cluster-rows tr")[1].querySelectorAll("td");
        const top = document.querySelector("#cluster-streams .stream__name");
        return Number(cells[4].textContent.replace(/,/g, "")) > 0 && top?.textContent === stream;
      }, STREAM, { timeout: 20000 });
      await page.screenshot({ path: join(artifacts, "admin-cluster.png"), fullPage: true });
      const total = await page.locator("#cluster-total td").allTextContents();
      assert.ok(number(total[1]) >= 6, `total WebSockets: ${total}`);
      assert.match(await text(page, "#cluster-summary"), /2 nodes · 2 reporting/);
      assert.equal(await rowB.locator("td").nth(1).textContent(), "live");
    } finally {
      done = true;
      await traffic;
    }
    for (const ws of joined) ws.close();

    // Node B crashes: A's page marks it stale and leaves its figures out of the total.
    await b.stop("SIGKILL");
    await page.waitForFunction(() => /stale/.test(document.querySelectorAll("#cluster-rows tr")[1]?.textContent ?? ""),
      null, { timeout: 10000 });
    assert.match(await text(page, "#cluster-summary"), /1 stale/);
    assert.equal(await page.locator(".node--stale").count(), 1);
    await page.screenshot({ path: join(artifacts, "admin-cluster-stale.png") });
  } finally {
    await context.close();
    await Promise.all([a.stop(), b.stop()]);
    await redis.kill();
  }
});
