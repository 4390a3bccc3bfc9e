// Three peercable nodes on one real redis-server: room and direct messages cross nodes exactly once,
// presence and disconnect cleanup are shared, confirmations wait for Redis' SUBSCRIBE, Rails' remote
// disconnect and wire format hold, and POST /broadcast reaches every node.
//
// Run: node --test tests/integration/redis/   (PEERCABLE_BIN overrides the binary)
import { test } from "node:test";
import assert from "node:assert/strict";
import { redisSkip, redisCommand } from "../../lib/redis.mjs";
import { roomId, waitBroker, redisSuite } from "./cable.mjs";
import { fenceTag } from "../../lib/drain.mjs";

const skip = redisSkip();
const KEY = "cluster-test-broadcast-key";
// --stream-linger 0: a stream is unsubscribed as soon as its last subscriber on the node leaves (checked below).
const suite = redisSuite(3, ["--threads", "2", "--broadcast-key", KEY, "--stream-linger", "0"], { db: 1 }, { skip });
const { nodes, connect } = suite;

/**
 * Sends a sentinel on `room` from `from` and waits until every client in `to` has it. It goes through the same
 * path as the messages under test (Redis PUBLISH, the node's subscriber connection, the loop's queue), sent
 * after each of them had arrived somewhere: any extra copy they caused was delivered before it.
 */
async function fence(from, room, to) {
  const tag = fenceTag();
  from.speak(room, tag);
  await Promise.all(to.map((c) => c.message(roomId(room), (m) => m.body === tag, tag)));
}

/**
 * Presence changes are coalesced per window, so a chat message is no fence for them. A sentinel user joins
 * `room` on `node` (where the changes under test were made, after them) and `observer` waits for the diff
 * that lists it: an earlier change is in that diff or an earlier one. `check` runs then; the sentinel leaves
 * and its leave is awaited, so later diffs and snapshots are as before.
 */
async function presenceFence(node, room, observer, check) {
  const id = fenceTag("presence-fence");
  const has = (list) => Array.isArray(list) && list.some((u) => u.id === id);
  const sentinel = await connect(node, id);
  await sentinel.join(room);
  await observer.message(roomId(room), (m) => m.type === "presence_diff" && has(m.joined), "the sentinel's join");
  await check();
  await sentinel.close();
  await observer.message(roomId(room), (m) => m.type === "presence_diff" && has(m.left), "the sentinel's leave");
}

test("every node reports the Redis broker as connected and names its connections like Rails", { skip }, async () => {
  for (const n of nodes) assert.equal((await waitBroker(n.url, "connected")).broker, "connected");
  const list = await redisCommand(suite.redis.port, "CLIENT", "LIST");
  const ours = list.split("\n").filter((l) => / name=peercable-PID-\d+ /.test(l));
  // Per node: the SUBSCRIBE connection, the PUBLISH connection, the presence and the history connections, and
  // the one for stream history and sessions.
  assert.equal(ours.length, 15, list);
  assert.ok(ours.every((l) => / db=1 /.test(l)), "every connection selected db 1");
  assert.equal(ours.filter((l) => / psub=1 /.test(l)).length, 3, "one remote-disconnect PSUBSCRIBE per node");
});

test("room messages cross nodes once per subscription, never echoed back", { skip, timeout: 30000 }, async () => {
  const room = "cluster-room";
  const a = await connect(nodes[0], "ann");
  const b = await connect(nodes[1], "ben");
  const c = await connect(nodes[2], "cat");
  for (const x of [a, b, c]) await x.join(room);
  // A subscription is live once confirmed: the stream is subscribed exactly once in Redis per node.
  const [, subscribers] = await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`);
  assert.equal(subscribers, 3);

  a.speak(room, "hello from node 0");
  b.speak(room, "hello from node 1");
  for (const x of [a, b, c]) {
    const m0 = await x.message(roomId(room), (m) => m.body === "hello from node 0");
    assert.equal(m0.type, "message");
    assert.deepEqual(m0.from, { id: "ann", name: "ann" });
    await x.message(roomId(room), (m) => m.body === "hello from node 1");
  }
  await fence(c, room, [a, b, c]);
  for (const x of [a, b, c])
    for (const body of ["hello from node 0", "hello from node 1"])
      assert.equal(x.received(roomId(room), (m) => m.body === body).length, 1, `${x.user.id} got "${body}" once`);

  // Two subscriptions of one user on one node each get their copy; still one Redis subscriber per node.
  const a2 = await connect(nodes[0], "ann");
  await a2.join(room);
  b.speak(room, "to both tabs");
  await a.message(roomId(room), (m) => m.body === "to both tabs");
  await a2.message(roomId(room), (m) => m.body === "to both tabs");
  await fence(b, room, [a, a2]);
  assert.equal(a.received(roomId(room), (m) => m.body === "to both tabs").length, 1);
  assert.equal(a2.received(roomId(room), (m) => m.body === "to both tabs").length, 1);
  assert.equal((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1], 3);
  for (const x of [a, a2, b, c]) await x.close();
});

test("direct messages reach a user connected to another node, and the sender's other tabs", { skip, timeout: 30000 }, async () => {
  const room = "dm-room";
  const dora = await connect(nodes[0], "dora");
  const eli = await connect(nodes[1], "eli");
  const eli2 = await connect(nodes[2], "eli");
  const fay = await connect(nodes[2], "fay");
  for (const x of [dora, eli, eli2, fay]) await x.join(room);
  dora.direct(room, "eli", "psst, eli");
  for (const x of [eli, eli2, dora]) {
    const m = await x.message(roomId(room), (m) => m.type === "direct" && m.body === "psst, eli");
    assert.equal(m.to, "eli");
    assert.equal(m.from.id, "dora");
  }
  await fence(dora, room, [dora, eli, eli2, fay]);
  assert.equal(fay.received(roomId(room), (m) => m.type === "direct").length, 0, "a third user sees nothing");
  for (const x of [eli, eli2, dora])
    assert.equal(x.received(roomId(room), (m) => m.type === "direct").length, 1, `${x.user.id}: exactly one copy`);
  for (const x of [dora, eli, eli2, fay]) await x.close();
});

test("presence is shared: one join and one leave per user across nodes (in coalesced diffs), disconnect cleans up", { skip, timeout: 30000 }, async () => {
  const room = "presence-room";
  const gus = await connect(nodes[0], "gus", "Gus");
  await gus.join(room);
  const hal = await connect(nodes[1], "hal", "Hal");
  await hal.join(room);
  const snapshot = await hal.message(roomId(room), (m) => m.type === "presence");
  assert.deepEqual(snapshot.users.map((u) => u.id), ["gus", "hal"], "a member on another node is listed");
  const hasHal = (list) => Array.isArray(list) && list.some((u) => u.id === "hal");
  const joined = await gus.message(roomId(room), (m) => m.type === "presence_diff" && hasHal(m.joined));
  assert.deepEqual(joined.joined.find((u) => u.id === "hal"), { id: "hal", name: "Hal" });
  assert.equal(joined.count, 2);

  // Hal's second tab, on a third node: not a new join. Closing one tab is not a leave; closing the last is.
  const hal2 = await connect(nodes[2], "hal", "Hal");
  await hal2.join(room);
  await hal2.close();
  await presenceFence(nodes[2], room, gus, async () => {
    assert.equal(gus.received(roomId(room), (m) => m.type === "presence_diff" && hasHal(m.joined)).length, 1);
    assert.equal(gus.received(roomId(room), (m) => m.type === "presence_diff" && m.left.length > 0).length, 0);
  });

  hal.ws.terminate();  // an abrupt disconnect on node 1
  const left = await gus.message(roomId(room), (m) => m.type === "presence_diff" && hasHal(m.left));
  assert.deepEqual(left.left, [{ id: "hal", name: "Hal" }]);
  assert.equal(left.count, 1);
  const ivy = await connect(nodes[2], "ivy");
  await ivy.join(room);
  const after = await ivy.message(roomId(room), (m) => m.type === "presence");
  assert.deepEqual(after.users.map((u) => u.id), ["gus", "ivy"]);
  await gus.close();
  await ivy.close();
});

test("confirm_subscription waits for the Redis SUBSCRIBE: a PUBLISH right after it is delivered", { skip, timeout: 30000 }, async () => {
  const jo = await connect(nodes[1], "jo");
  for (let i = 0; i < 5; i++) {
    const room = `fresh-room-${i}`;
    await jo.join(room);
    const receivers = await redisCommand(suite.redis.port, "PUBLISH", `p2p:${room}`, JSON.stringify({ type: "probe", i }));
    assert.equal(receivers, 1, "the node is subscribed by the time the client is confirmed");
    const m = await jo.message(roomId(room), (m) => m.type === "probe");
    assert.equal(m.i, i);
  }
  await jo.close();
});

test("leaving the last subscription unsubscribes the stream in Redis", { skip, timeout: 30000 }, async () => {
  const room = "short-lived";
  const kit = await connect(nodes[2], "kit");
  const kit2 = await connect(nodes[2], "kit2");
  await kit.join(room);
  await kit2.join(room);
  assert.equal((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1], 1);
  await kit.close();
  assert.equal((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1], 1, "one subscriber left");
  await kit2.close();
  const deadline = Date.now() + 5000;
  while ((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1] !== 0) {
    assert.ok(Date.now() < deadline, "stream still subscribed 5 s after its last subscriber left");
    await new Promise((r) => setTimeout(r, 25));
  }
});

test("payloads from Redis are decoded and re-encoded as Rails does; what is not JSON is dropped", { skip, timeout: 30000 }, async () => {
  const room = "payloads";
  const lu = await connect(nodes[0], "lu");
  await lu.join(room);
  const ch = `p2p:${room}`;
  await redisCommand(suite.redis.port, "PUBLISH", ch, "not json at all");
  await redisCommand(suite.redis.port, "PUBLISH", ch, '"a json string"');
  await redisCommand(suite.redis.port, "PUBLISH", ch, "42");
  await redisCommand(suite.redis.port, "PUBLISH", ch, '[1,{"a":null}]');
  await redisCommand(suite.redis.port, "PUBLISH", ch, '{"x":1,  "html":"<b>&"}   ');
  await lu.message(roomId(room), (m) => m.x === 1, "the object");
  const own = new Set(["presence", "history", "presence_diff"]);
  const got = lu.received(roomId(room), (m) => !own.has(m?.type)).map((f) => f.message);
  assert.deepEqual(got, ["a json string", 42, [1, { a: null }], { x: 1, html: "<b>&" }]);
  // Byte for byte as Action Cable sends it: whitespace gone, HTML characters escaped by ActiveSupport.
  assert.ok(lu.raw.includes(JSON.stringify({ identifier: roomId(room), message: 42 })));
  assert.ok(lu.raw.includes(`{"identifier":${JSON.stringify(roomId(room))},"message":{"x":1,"html":"\\u003cb\\u003e\\u0026"}}`),
    lu.raw.join("\n"));
  await lu.close();
});

test("Rails' remote disconnect (PUBLISH action_cable/<id>) closes that user's connections on every node", { skip, timeout: 30000 }, async () => {
  const mo = [await connect(nodes[0], "mo"), await connect(nodes[1], "mo"), await connect(nodes[2], "mo")];
  const ned = await connect(nodes[1], "ned");
  await redisCommand(suite.redis.port, "PUBLISH", "action_cable/mo", JSON.stringify({ type: "disconnect" }));
  for (const c of mo) {
    const { code } = await c.closedWithin();
    assert.equal(code, 1000, "closed normally, as Rails does");
  }
  await ned.join("still-here");
  assert.equal(ned.closeInfo, undefined, "another user stays connected");
  await ned.close();
});

test("POST /broadcast on one node reaches subscribers on every node", { skip, timeout: 30000 }, async () => {
  const room = "api-room";
  const subs = [await connect(nodes[0], "oz"), await connect(nodes[1], "pia"), await connect(nodes[2], "quin")];
  for (const c of subs) await c.join(room);
  const r = await fetch(`${nodes[2].url}/broadcast`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ stream: `p2p:${room}`, data: { type: "announcement", text: "from the API" } }),
  });
  assert.equal(r.status, 202);
  for (const c of subs) {
    const m = await c.message(roomId(room), (m) => m.type === "announcement");
    assert.equal(m.text, "from the API");
  }
  await fence(subs[0], room, subs);
  for (const c of subs) assert.equal(c.received(roomId(room), (m) => m.type === "announcement").length, 1);
  for (const c of subs) await c.close();
});

test("subscribe/unsubscribe churn on one stream leaves it subscribed exactly while someone listens", { skip, timeout: 30000 }, async () => {
  const room = "churn-room";
  // Clients join and leave the same room on two nodes concurrently, so SUBSCRIBE and UNSUBSCRIBE of the
  // stream cross each other in flight.
  const churn = async (node, tag) => {
    for (let i = 0; i < 15; i++) {
      const c = await connect(node, `${tag}-${i}`);
      await c.join(room);
      if (i % 2) c.ws.terminate();
      else await c.close();
    }
  };
  const stay0 = await connect(nodes[0], "stay0");
  const joins = Promise.all([churn(nodes[0], "ch0"), churn(nodes[1], "ch1"), churn(nodes[1], "ch1b")]);
  await stay0.join(room);
  await joins;
  const stay1 = await connect(nodes[1], "stay1");
  await stay1.join(room);
  stay0.speak(room, "after the churn");
  await stay1.message(roomId(room), (m) => m.body === "after the churn");
  stay1.speak(room, "and back");
  await stay0.message(roomId(room), (m) => m.body === "and back");
  assert.equal((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1], 2);
  await stay0.close();
  await stay1.close();
  const deadline = Date.now() + 5000;
  while ((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", `p2p:${room}`))[1] !== 0) {
    assert.ok(Date.now() < deadline, "stream still subscribed after everyone left");
    await new Promise((r) => setTimeout(r, 25));
  }
});
