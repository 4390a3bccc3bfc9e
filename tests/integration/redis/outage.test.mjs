// Redis is killed (SIGKILL) and restarted mid-test: every node keeps serving its own clients, logs the
// outage once, reports it on /health, and after Redis returns re-subscribes its streams and delivers across
// nodes again without a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis, redisSkip, redisCommand } from "../../lib/redis.mjs";
import { roomId, waitBroker, redisSuite } from "./cable.mjs";

const skip = redisSkip();
const suite = redisSuite(2, ["--threads", "2", "--log-level", "info"], {}, { skip });
const { nodes, connect } = suite;

const outageLines = (node) => node.logs().split("\n").filter((l) => /\[warning\].*unavailable/.test(l));

test("delivery survives a Redis restart", { skip, timeout: 60000 }, async () => {
  const room = "outage-room";
  const [n0, n1] = nodes;
  const a = await connect(n0, "amy");
  const a2 = await connect(n0, "abe");
  const b = await connect(n1, "bob");
  for (const c of [a, a2, b]) await c.join(room);
  a.speak(room, "before");
  await b.message(roomId(room), (m) => m.body === "before");

  await suite.redis.kill();
  for (const n of nodes) await waitBroker(n.url, "disconnected");

  // Local clients keep talking, many messages, one log line per node for the whole outage.
  for (let i = 0; i < 20; i++) a.speak(room, `during ${i}`);
  for (let i = 0; i < 20; i++) await a2.message(roomId(room), (m) => m.body === `during ${i}`);
  b.speak(room, "bob alone");
  await b.message(roomId(room), (m) => m.body === "bob alone");
  // A client arriving during the outage is confirmed (served locally) and its stream subscribed later.
  const late = await connect(n1, "cy");
  await late.join("joined-during-outage");
  const lateA = await connect(n0, "dee");
  await lateA.join("joined-during-outage");
  for (const n of nodes) assert.equal(outageLines(n).length, 1, `one outage line:\n${n.logs()}`);
  const health = await (await fetch(`${n0.url}/health`)).json();
  assert.equal(health.broker, "disconnected");
  assert.equal(health.status, "ok", "the node itself is still serving");

  // Keep Redis away a little longer, so that reconnect attempts are refused and back off (not an assertion).
  await new Promise((r) => setTimeout(r, 1000));
  suite.redis = await startRedis({ port: suite.redis.port });
  for (const n of nodes) await waitBroker(n.url, "connected");

  // Every stream is subscribed again: both nodes, both rooms, and the user streams of direct messages.
  for (const ch of [`p2p:${room}`, "p2p:joined-during-outage"])
    assert.equal((await redisCommand(suite.redis.port, "PUBSUB", "NUMSUB", ch))[1], 2, ch);
  a.speak(room, "after");
  await b.message(roomId(room), (m) => m.body === "after");
  await a2.message(roomId(room), (m) => m.body === "after");
  b.speak(room, "after, from bob");
  await a.message(roomId(room), (m) => m.body === "after, from bob");
  lateA.speak("joined-during-outage", "hello late");
  await late.message(roomId("joined-during-outage"), (m) => m.body === "hello late");
  a.direct(room, "bob", "direct after");
  await b.message(roomId(room), (m) => m.type === "direct" && m.body === "direct after");

  // At-most-once: what was said on node 0 during the outage never reaches node 1, not even late.
  assert.equal(b.received(roomId(room), (m) => m.body?.startsWith("during ")).length, 0);
  assert.equal(a.received(roomId(room), (m) => m.body === "after").length, 1, "no duplicate after recovery");
  for (const n of nodes) {
    assert.equal(outageLines(n).length, 1, "still one outage line");
    await n.waitForLog(/back after [\d.]+ s/);
  }
  // Presence is shared again: the restarted Redis learns both nodes' members back (within a heartbeat).
  const deadline = Date.now() + 10000;
  for (;;) {
    const fields = await redisCommand(suite.redis.port, "HKEYS", `peercable:presence:room:${room}`);
    if (["abe", "amy", "bob"].every((u) => fields.some((f) => f.endsWith(`|${u}`)))) break;
    assert.ok(Date.now() < deadline, `presence not restored: ${fields}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const eve = await connect(n1, "eve");
  await eve.join(room);
  const snap = await eve.message(roomId(room), (m) => m.type === "presence");
  assert.deepEqual(snap.users.map((u) => u.id), ["abe", "amy", "bob", "eve"]);
});
