// The live view across a Redis cluster, against two real nodes on a real redis-server: /admin/api/stats on
// node A lists node B with B's own figures and their total; the stream the nodes share their figures on is
// reserved (a client subscribing to it on any channel, signed or not, gets none of it, and a broadcast to it
// is dropped) and never kept in the stream history; what is not a snapshot is ignored; a node that stops is
// shown stale, then forgotten.
//
// Run: node --test tests/integration/admin/   (PEERCABLE_BIN overrides the binary)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { until, waitForLogLines } from "../../lib/drain.mjs";
import { redisSkip, redisCommand } from "../../lib/redis.mjs";
import { redisSuite } from "../redis/cable.mjs";

const skip = redisSkip();
const ADMIN_KEY = "cluster-admin-key-0123456789";
const BROADCAST_KEY = "cluster-broadcast-key-0123";
const STREAMS_SECRET = "cluster-streams-secret-0123456789";
const NODES_STREAM = "peercable:admin:nodes";  // Admin::kNodesStream
const common = ["--admin-key", ADMIN_KEY, "--threads", "1",
  "--broadcast-key", BROADCAST_KEY, "--public-streams", "--streams-secret", STREAMS_SECRET];
const suite = redisSuite(2, (i) => [...common, "--node-id", ["node-a", "node-b"][i]], { db: 0 }, { skip });
const { nodes, connect } = suite;

async function stats(node) {
  const r = await fetch(`${node.url}/admin/api/stats`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(r.status, 200);
  return r.json();
}

/** Polls `node`'s stats until `ok(body)` holds (figures are sampled once a second); resolves with the body. */
async function statsUntil(node, ok, what, ms = 10000) {
  let last;
  await until(async () => ok((last = await stats(node))), `${what}; last: ${JSON.stringify(last)}`, ms, 100);
  return last;
}

const listed = (body, id) => body.nodes.find((n) => n.id === id);

const pubsub = (stream) => JSON.stringify({ channel: "$pubsub", stream_name: stream });

/** A $pubsub signed stream name, as a Rails app signs it with the streams secret. */
function signedPubsub(stream) {
  const data = Buffer.from(JSON.stringify(stream)).toString("base64");
  const digest = createHmac("sha256", STREAMS_SECRET).update(data).digest("hex");
  return JSON.stringify({ channel: "$pubsub", signed_stream_name: `${data}--${digest}` });
}

/** Resolves once `node` lists `id` with a snapshot taken at least `seconds` after the one listed now. */
async function fresherSnapshots(node, id, seconds) {
  const from = listed(await statsUntil(node, (b) => listed(b, id), `${id} listed on ${node.url}`), id).time;
  await statsUntil(node, (b) => listed(b, id)?.time >= from + seconds && !listed(b, id).stale,
    `${seconds} s of newer snapshots of ${id} on ${node.url}`);
}

test("each node lists every node with its own figures, and their total", { skip, timeout: 30000 }, async () => {
  const [a, b] = nodes;
  const onB = await Promise.all([0, 1, 2].map((i) => connect(b, `b-${i}`)));
  for (const c of onB) await c.subscribe(pubsub("cluster:orders"));
  const onA = await connect(a, "a-0");
  await onA.subscribe(pubsub("cluster:orders"));

  const body = await statsUntil(a, (x) => listed(x, "node-b")?.websockets === 3 && listed(x, "node-a")?.websockets === 1,
    "node A lists node B with its 3 WebSockets");
  assert.deepEqual(body.nodes.map((n) => [n.id, n.self, n.stale]), [["node-a", true, false], ["node-b", false, false]]);
  const nodeB = listed(body, "node-b");
  assert.equal(nodeB.subscriptions, 3);
  assert.equal(nodeB.broker.kind, "redis");
  assert.equal(nodeB.broker.state, "connected");
  assert.equal(nodeB.loops.length, 1);
  assert.equal(body.total.nodes, 2);
  assert.equal(body.total.stale, 0);
  assert.equal(body.total.websockets, 4);
  assert.equal(body.total.subscriptions, 4);

  // Traffic from A reaches B's subscribers; A's page shows B's deliveries and the cluster's busiest stream.
  let busy;
  for (let round = 0; round < 100 && !busy; round++) {
    const r = await fetch(`${a.url}/broadcast`, { method: "POST",
      headers: { Authorization: `Bearer ${BROADCAST_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ stream: "cluster:orders", data: { round } }) });
    assert.equal(r.status, 202);
    const x = await stats(a);
    if (listed(x, "node-b")?.deliveries_per_s > 0 && x.total.busiest_streams[0]?.stream === "cluster:orders") busy = x;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(busy, "node A never showed node B's deliveries");
  assert.ok(busy.total.deliveries_per_s >= listed(busy, "node-b").deliveries_per_s);
  await Promise.all(onB.map((c) => c.message(pubsub("cluster:orders"), () => true)));
  // Node B sees node A the same way.
  await statsUntil(b, (x) => listed(x, "node-a")?.websockets === 1 && listed(x, "node-b")?.self === true, "node B lists node A");
});

test("no client receives the nodes' figures, nor can send them, on any channel", { skip, timeout: 30000 }, async () => {
  const [a, b] = nodes;
  const ids = [pubsub(NODES_STREAM), signedPubsub(NODES_STREAM)];
  const spies = [await connect(a, "spy-a"), await connect(b, "spy-b")];
  for (const s of spies) for (const id of ids) await s.subscribe(id);
  // Forged figures through this node's broadcast API, and what is not a snapshot published on Redis itself.
  const forged = { id: "forged", instance: "x", version: "0", time: 1, draining: false };
  const r = await fetch(`${a.url}/broadcast`, { method: "POST",
    headers: { Authorization: `Bearer ${BROADCAST_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ stream: NODES_STREAM, data: forged }) });
  assert.equal(r.status, 202);
  assert.equal(await redisCommand(suite.redis.port, "PUBLISH", NODES_STREAM, JSON.stringify({ ...forged, connections: "many" })), 2);

  // The drain: both nodes took in two more seconds of each other's snapshots while the spies listened.
  await waitForLogLines(a, /ignored a node snapshot that is not one/, 1);
  await Promise.all([fresherSnapshots(a, "node-b", 2), fresherSnapshots(b, "node-a", 2)]);
  for (const s of spies) for (const id of ids) assert.deepEqual(s.received(id), [], `${s.user.id} got figures on ${id}`);
  const body = await stats(a);
  assert.deepEqual(body.nodes.map((n) => n.id), ["node-a", "node-b"]);
  // The figures travel bare even with stream history in Redis (the default here): never sequenced nor kept, and
  // the bare PUBLISH above did not mark the stream as one Rails broadcast on.
  const keys = ["m:", "l:", "r:"].map((kind) => `peercable:stream:${kind}${NODES_STREAM}`);
  assert.equal(await redisCommand(suite.redis.port, "EXISTS", ...keys), 0);
  assert.equal(await redisCommand(suite.redis.port, "ZSCORE", "peercable:stream:index", NODES_STREAM), null);

  // A client leaving the stream does not end the node's own subscription to it.
  for (const s of spies) await s.close();
  await Promise.all([fresherSnapshots(a, "node-b", 2), fresherSnapshots(b, "node-a", 2)]);
});

test("a node that stops is shown stale, then forgotten", { skip, timeout: 30000 }, async () => {
  const [a, b] = nodes;
  await b.stop("SIGKILL");  // a crash: nothing says goodbye
  nodes.splice(nodes.indexOf(b), 1);  // the teardown stops what is left
  const stale = await statsUntil(a, (x) => listed(x, "node-b")?.stale === true, "node B shown stale");
  assert.ok(listed(stale, "node-b").age_s >= 3);
  assert.equal(stale.total.stale, 1);
  assert.equal(stale.total.nodes, 2);
  assert.equal(stale.total.websockets, listed(stale, "node-a").websockets);  // stale figures are not counted
  const gone = await statsUntil(a, (x) => !listed(x, "node-b"), "node B forgotten", 15000);
  assert.deepEqual(gone.nodes.map((n) => n.id), ["node-a"]);
  assert.equal(gone.total.nodes, 1);
});
