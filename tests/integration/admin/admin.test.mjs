// The live view's HTTP side against the real binary: /admin is absent without a key, refuses a wrong key
// without saying anything, answers the figures with the right one (connections, subscriptions, deliveries,
// busiest streams, broker and history state); and /metrics' broadcast-to-socket latency histogram counts
// the broadcasts that real subscribers received.
//
// Run: node --test tests/integration/admin/   (PEERCABLE_BIN overrides the binary)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startPeercable, signToken, binary } from "../../lib/peercable.mjs";

const skip = existsSync(binary) ? false : `peercable binary not found at ${binary}`;
const ADMIN_KEY = "admin-key-for-tests-0123456789";
const BROADCAST_KEY = "broadcast-key-for-tests-0123";
const servers = [];
const sockets = [];

after(async () => {
  for (const ws of sockets) ws.terminate();
  for (const s of servers) await s.stop();
});

async function start(args) {
  const s = await startPeercable(args);
  servers.push(s);
  return s;
}

function stats(server, key) {
  const headers = key === undefined ? {} : { Authorization: `Bearer ${key}` };
  return fetch(`${server.url}/admin/api/stats`, { headers });
}

/** Opens an Action Cable connection subscribed to the public stream `stream`; resolves once confirmed. */
async function subscriber(server, stream) {
  const ws = new WebSocket(`${server.wsUrl}?token=${signToken({ sub: `u-${sockets.length}` })}`, "actioncable-v1-json");
  sockets.push(ws);
  const identifier = JSON.stringify({ channel: "$pubsub", stream_name: stream });
  ws.messages = [];
  let confirmed;
  const isConfirmed = new Promise((resolve) => (confirmed = resolve));
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString());
    if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier }));
    else if (m.type === "confirm_subscription") confirmed();
    else if (m.identifier && m.message !== undefined) ws.messages.push(m.message);
  });
  await isConfirmed;
  return ws;
}

async function broadcast(server, stream, data) {
  const r = await fetch(`${server.url}/broadcast`, {
    method: "POST",
    headers: { Authorization: `Bearer ${BROADCAST_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ stream, data }),
  });
  assert.equal(r.status, 202);
}

/** Polls the stats until `ok(node)` holds; the figures are sampled once a second. */
async function statsUntil(server, ok, what) {
  const until = Date.now() + 10000;
  let node;
  while (Date.now() < until) {
    const r = await stats(server, ADMIN_KEY);
    assert.equal(r.status, 200);
    node = (await r.json()).nodes[0];  // none before the first sample
    if (node && ok(node)) return node;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}; last figures: ${JSON.stringify(node)}`);
}

function histogram(metrics) {
  const buckets = [...metrics.matchAll(/^peercable_broadcast_latency_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)];
  const count = Number(/^peercable_broadcast_latency_seconds_count (\d+)$/m.exec(metrics)?.[1]);
  const sum = Number(/^peercable_broadcast_latency_seconds_sum (\S+)$/m.exec(metrics)?.[1]);
  return { buckets: buckets.map((m) => [m[1], Number(m[2])]), count, sum };
}

test("without an admin key nothing under /admin exists", { skip }, async () => {
  const server = await start([]);
  for (const path of ["/admin", "/admin/", "/admin/api/stats", "/admin/admin.js"]) {
    const r = await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(r.status, 404, path);
    await r.arrayBuffer();
  }
});

test("a short admin key is refused at start-up", { skip }, async () => {
  await assert.rejects(startPeercable(["--admin-key", "short"]), /at least 16 characters/);
});

test("a wrong or missing key is refused and reveals nothing; the key never reaches the logs", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "peercable-admin-"));
  const keyFile = join(dir, "admin_key");
  writeFileSync(keyFile, `${ADMIN_KEY}\n`, { mode: 0o600 });
  const server = await start(["--admin-key-file", keyFile, "--log-level", "debug"]);
  for (const key of [undefined, "", "wrong", ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}x`, ADMIN_KEY.toUpperCase()]) {
    const r = await stats(server, key);
    assert.equal(r.status, 401, `key ${key}`);
    const body = await r.json();
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.doesNotMatch(JSON.stringify(body), /nodes|connections|deliveries/);
  }
  const ok = await stats(server, ADMIN_KEY);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("cache-control"), "no-store");
  await ok.json();
  // The page itself is public (it holds no figures) and may not be framed.
  const page = await fetch(`${server.url}/admin`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  assert.match(page.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.match(await page.text(), /Admin key/);
  assert.equal((await fetch(`${server.url}/admin/api/stats`, { method: "POST" })).status, 405);
  assert.ok(!server.logs().includes(ADMIN_KEY), "the admin key appeared in the logs");
});

test("the right key gets live figures; the latency histogram counts real broadcasts", { skip, timeout: 30000 }, async () => {
  const server = await start(["--admin-key", ADMIN_KEY, "--broadcast-key", BROADCAST_KEY, "--public-streams",
    "--node-id", "node-under-test", "--threads", "2"]);
  const before = histogram(await (await fetch(`${server.url}/metrics`)).text());
  assert.equal(before.buckets.length, 16);
  assert.equal(before.buckets.at(-1)[0], "+Inf");

  const hot = await Promise.all([1, 2, 3, 4].map(() => subscriber(server, "hot-stream")));
  const cold = await subscriber(server, "cold-stream");
  const node0 = await statsUntil(server, (n) => n.websockets === 5 && n.subscriptions === 5, "5 subscribers seen");
  assert.equal(node0.id, "node-under-test");
  assert.equal(node0.broker.kind, "local");
  assert.equal(node0.broker.state, "local");
  assert.equal(node0.history.kind, "sqlite");
  assert.equal(node0.history.dropped, 0);
  assert.equal(node0.loops.length, 2);
  assert.equal(node0.self, true);
  assert.equal(node0.stale, false);
  assert.equal((await (await stats(server, ADMIN_KEY)).json()).total.nodes, 1);
  assert.equal(node0.loops.reduce((a, l) => a + l.websockets, 0), node0.websockets);
  assert.ok(node0.streams >= 2);

  // Traffic in rounds (bounded) until a one-second sample shows it: hot-stream leads the busiest streams.
  let sent = 0;
  let busy = null;
  for (let round = 0; round < 100 && !busy; round++) {
    for (let i = 0; i < 3; i++) await broadcast(server, "hot-stream", { round, i });
    await broadcast(server, "cold-stream", { round });
    sent += 1;
    const node = (await (await stats(server, ADMIN_KEY)).json()).nodes[0];
    if (node.busiest_streams[0]?.stream === "hot-stream" && node.deliveries_per_s > 0) busy = node;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(busy, "no sample showed the traffic");
  assert.ok(busy.broadcasts_per_s > 0 && busy.bytes_out_per_s > 0, JSON.stringify(busy));
  assert.ok(busy.deliveries >= 4 && busy.broadcasts >= 1);
  const streams = busy.busiest_streams.map((s) => s.stream);
  assert.ok(streams.indexOf("cold-stream") === -1 || streams.indexOf("cold-stream") > 0);
  assert.equal(busy.slow_consumer_closes, 0);

  // Every subscriber got every broadcast of its stream; then the histogram has counted each of them.
  const until = Date.now() + 10000;
  while (Date.now() < until && !(hot.every((ws) => ws.messages.length === sent * 3) && cold.messages.length === sent))
    await new Promise((r) => setTimeout(r, 20));
  for (const ws of hot) assert.equal(ws.messages.length, sent * 3);
  assert.equal(cold.messages.length, sent);
  // Observed at the end of the loop's write pass, which may finish a moment after the client has read.
  let afterwards;
  for (const until2 = Date.now() + 5000; Date.now() < until2; await new Promise((r) => setTimeout(r, 20))) {
    afterwards = histogram(await (await fetch(`${server.url}/metrics`)).text());
    if (afterwards.count - before.count >= sent * 4) break;
  }
  assert.ok(afterwards.count - before.count >= sent * 4, `histogram count ${before.count} -> ${afterwards.count}, ${sent * 4} broadcasts`);
  assert.equal(afterwards.buckets.at(-1)[1], afterwards.count);
  for (let i = 1; i < afterwards.buckets.length; i++) assert.ok(afterwards.buckets[i][1] >= afterwards.buckets[i - 1][1]);
  assert.ok(afterwards.sum > 0);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^peercable_deliveries_total (\d+)$/m);
  assert.ok(Number(/^peercable_deliveries_total (\d+)$/m.exec(metrics)[1]) >= sent * 13);
});
