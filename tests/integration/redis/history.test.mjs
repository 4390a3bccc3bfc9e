// Room history shared through Redis: messages spoken on one node are replayed, oldest first, to a subscriber
// on another; --history-size trims the shared list; a restarted node still has it; while Redis is away a node
// keeps what its clients say and writes it to Redis when it returns.
//
// Run: node --test tests/integration/redis/   (PEERCABLE_BIN overrides the binary)
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis, startNode, redisSkip, redisCommand } from "../../lib/redis.mjs";
import { roomId, waitBroker, redisSuite } from "./cable.mjs";

const skip = redisSkip();
const SIZE = 5;
const nodeArgs = ["--threads", "2", "--history-size", String(SIZE), "--log-level", "info"];
const suite = redisSuite(2, nodeArgs, {}, { skip });
const { nodes, connect } = suite;

/**
 * Speaks `bodies` in `room` and waits until the speaker has each one back and, unless `key` is null (Redis is
 * away), until each is in the Redis list `key`: the store worker writes history after the delivery.
 */
async function say(client, room, bodies, key = `peercable:history:${room}`) {
  for (const body of bodies) client.speak(room, body);
  for (const body of bodies) await client.message(roomId(room), (m) => m.body === body, body);
  if (key === null) return;
  const deadline = Date.now() + 10000;
  for (;;) {
    const list = await stored(key);
    if (bodies.every((b) => list.includes(b))) return;
    assert.ok(Date.now() < deadline, `not written to ${key}: ${bodies} (list: ${list})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Joins `room` and resolves with the bodies of the history frame that follows the confirmation. */
async function historyOnJoin(client, room) {
  await client.join(room);
  const h = await client.message(roomId(room), (m) => m.type === "history", "the history frame");
  assert.equal(h.room, room);
  return h.messages.map((m) => m.body);
}

const stored = async (key) => (await redisCommand(suite.redis.port, "LRANGE", key, 0, -1)).map((j) => JSON.parse(j).body);

test("a subscriber on another node gets the room's history, oldest first", { skip, timeout: 30000 }, async () => {
  const room = "shared-history";
  const alice = await connect(nodes[0], "alice");
  await alice.join(room);
  await say(alice, room, ["one", "two", "three"]);
  const bob = await connect(nodes[1], "bob");
  assert.deepEqual(await historyOnJoin(bob, room), ["one", "two", "three"]);
  const replayed = bob.received(roomId(room), (m) => m.type === "history")[0].message.messages[0];
  assert.equal(replayed.from.id, "alice");
  assert.equal(replayed.type, "message");
  assert.deepEqual(await stored(`peercable:history:${room}`), ["one", "two", "three"]);
  await alice.close();
  await bob.close();
});

test("--history-size trims the shared list to the newest messages", { skip, timeout: 30000 }, async () => {
  const room = "trimmed-history";
  const alice = await connect(nodes[0], "alice");
  const bob = await connect(nodes[1], "bob");
  await alice.join(room);
  await bob.join(room);
  const bodies = Array.from({ length: 8 }, (_, i) => `m${i + 1}`);
  // From both nodes, interleaved by waiting for each: the list keeps the order they were spoken in.
  for (const [i, body] of bodies.entries()) await say(i % 2 ? bob : alice, room, [body]);
  assert.equal(await redisCommand(suite.redis.port, "LLEN", `peercable:history:${room}`), SIZE);
  const carol = await connect(nodes[1], "carol");
  assert.deepEqual(await historyOnJoin(carol, room), bodies.slice(-SIZE));
  for (const c of [alice, bob, carol]) await c.close();
});

test("a restarted node still serves the history", { skip, timeout: 30000 }, async () => {
  const room = "restart-history";
  const alice = await connect(nodes[0], "alice");
  await alice.join(room);
  await say(alice, room, ["before the restart 1", "before the restart 2"]);
  const old = nodes[1];
  assert.equal(await old.stop(), 0, old.logs());
  // A fresh data directory: nothing of it can come from the node's own disk.
  nodes[1] = await startNode(suite.redis, nodeArgs, { port: old.port });
  const dave = await connect(nodes[1], "dave");
  assert.deepEqual(await historyOnJoin(dave, room), ["before the restart 1", "before the restart 2"]);
  await alice.close();
  await dave.close();
});

test("keys follow --channel-prefix", { skip, timeout: 30000 }, async () => {
  const room = "prefixed-history";
  const node = await startNode(suite.redis, [...nodeArgs, "--channel-prefix", "app_test"]);
  try {
    const erin = await connect(node, "erin");
    await erin.join(room);
    await say(erin, room, ["prefixed"], `app_test:peercable:history:${room}`);
    assert.deepEqual(await stored(`app_test:peercable:history:${room}`), ["prefixed"]);
    assert.equal(await redisCommand(suite.redis.port, "EXISTS", `peercable:history:${room}`), 0);
    // Nodes without the prefix are another application: they do not see it.
    const frank = await connect(nodes[0], "frank");
    assert.deepEqual(await historyOnJoin(frank, room), []);
    await erin.close();
    await frank.close();
  } finally {
    assert.equal(await node.stop(), 0, node.logs());
  }
});

test("while Redis is away history is kept per node, and written to Redis when it returns", { skip, timeout: 30000 }, async () => {
  const room = "outage-history";
  const [a, b] = nodes;
  const alice = await connect(a, "alice");
  await alice.join(room);
  await suite.redis.kill();
  for (const n of nodes) await waitBroker(n.url, "disconnected");

  await say(alice, room, ["during 1", "during 2"], null);
  const gil = await connect(a, "gil");
  assert.deepEqual(await historyOnJoin(gil, room), ["during 1", "during 2"], "served from the node's memory");
  const hal = await connect(b, "hal");
  assert.deepEqual(await historyOnJoin(hal, room), [], "the other node has not heard it");

  // The restarted Redis is empty (no persistence): what it holds afterwards was written back by node A.
  suite.redis = await startRedis({ port: suite.redis.port });
  const deadline = Date.now() + 10000;
  for (const n of nodes) {
    while (!/redis history .*: back;/.test(n.logs())) {
      assert.ok(Date.now() < deadline, `history store not back 10 s after Redis returned:\n${n.logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.deepEqual(await stored(`peercable:history:${room}`), ["during 1", "during 2"]);
  const ivy = await connect(b, "ivy");
  assert.deepEqual(await historyOnJoin(ivy, room), ["during 1", "during 2"]);

  const lines = (n, re) => n.logs().split("\n").filter((l) => re.test(l));
  assert.equal(lines(a, /redis history .*unavailable/).length, 1, `one outage line:\n${a.logs()}`);
  await a.waitForLog(/redis history .*back; 2 messages kept during the outage written/);
  for (const c of [alice, gil, hal, ivy]) await c.close();
});
