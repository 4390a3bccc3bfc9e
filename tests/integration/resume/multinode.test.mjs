// Resuming on another node: several peercable nodes on one real redis-server keep stream history, epochs and
// saved sessions in Redis, so the unmodified @anycable/web client, cut off from its node, comes back on another
// one with its session restored and every broadcast exactly once, in order; a rolling restart of three nodes
// under steady traffic loses nothing either (issue 15).
//
// Run: node --test tests/integration/resume/   (PEERCABLE_BIN overrides the binary)
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis, startNode, startNodes, redisSkip, redisCommand, redisCommands } from "../../lib/redis.mjs";
import { CutProxy, BalancerProxy } from "./proxy.mjs";
import { broadcastKey, connectCable, publish, until, record } from "./anycable.mjs";

const skip = redisSkip();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// What every node (on database 2) runs with: public streams, the tests' broadcast key, then `extra`.
const nodeArgs = (extra = []) => ["--public-streams", "--broadcast-key", broadcastKey, ...extra];

test("cut from its node and restored onto another: the 500 arrive exactly once, in order, session restored",
  { skip, timeout: 60000 }, async (t) => {
    const redis = await startRedis();
    const [a, b] = await startNodes(redis, 2, nodeArgs(["--stream-history-limit", "1000"]), { db: 2 });
    const proxy = new CutProxy(a.port);
    await proxy.listen();
    const cable = connectCable(proxy.port, "alice");
    const watcher = connectCable(b.port, "watcher");  // on the other node all along: its epochs must agree
    t.after(async () => {
      cable.disconnect();
      watcher.disconnect();
      await proxy.close();
      await Promise.all([a.stop(), b.stop()]);
      await redis.kill();
    });
    const connects = [];
    cable.on("connect", (ev) => connects.push(ev));
    const mine = await record(cable, "numbers");
    const theirs = await record(watcher, "numbers");

    const total = 500;
    for (let n = 0; n < total; n++) {
      if (n === 100) {
        proxy.cut();
        setTimeout(() => proxy.restore(b.port), 1000);
      }
      await publish(a, "numbers", { n });  // one publisher: its order is the stream's order
      await sleep(2);
    }
    await until(() => mine.got.length >= total && proxy.pairs.size > 0, `${total} messages (got ${mine.got.length})`);
    // A bounded drain: a duplicate would be on its way behind the last message; one more broadcast settles it.
    await publish(a, "numbers", { n: total });
    await until(() => mine.got.includes(total) && theirs.got.includes(total), "the marker broadcast");
    const expected = Array.from({ length: total + 1 }, (_, i) => i);
    assert.deepEqual(mine.got, expected);
    assert.deepEqual(theirs.got, expected);
    assert.ok(connects.some((c) => c.restored), `the session was restored on the other node: ${JSON.stringify(connects)}`);
    // One epoch, and the same offsets, on both nodes.
    const epochs = new Set([...mine.positions, ...theirs.positions].map((p) => p?.epoch));
    assert.equal(epochs.size, 1, `one epoch on every node: ${[...epochs]}`);
    assert.deepEqual(mine.positions.map((p) => p.offset), theirs.positions.map((p) => p.offset));
    assert.deepEqual(mine.positions.map((p) => p.offset), expected.map((i) => i + 1));
  });

test("an evicted offset, resumed on another node: history_not_found", { skip, timeout: 60000 }, async (t) => {
  const redis = await startRedis();
  const [a, b] = await startNodes(redis, 2, nodeArgs(["--stream-history-limit", "5"]), { db: 2 });
  const proxy = new CutProxy(a.port);
  await proxy.listen();
  const cable = connectCable(proxy.port, "bob");
  t.after(async () => {
    cable.disconnect();
    await proxy.close();
    await Promise.all([a.stop(), b.stop()]);
    await redis.kill();
  });
  const { got, infos } = await record(cable, "evicted");
  await publish(a, "evicted", { n: 0 });
  await until(() => got.length === 1, "the first broadcast");
  proxy.cut();
  for (let n = 1; n <= 20; n++) await publish(a, "evicted", { n });  // Redis keeps the last five only
  proxy.restore(b.port);
  await until(() => infos.some((i) => i.type === "history_not_found"), "history_not_found");
  await publish(b, "evicted", { n: 21 });
  await until(() => got.includes(21), "the broadcast after the refusal");
  assert.ok(!got.some((n) => n >= 1 && n <= 20), `nothing replayed from a refused history: ${got}`);
});

// As ActionCable.server.broadcast(stream, data) from a Rails process on the same Redis (database 2).
const railsBroadcast = (redis, stream, data) =>
  redisCommands(redis.port, [["SELECT", "2"], ["PUBLISH", stream, JSON.stringify(data)]]);

test("broadcasts published by Rails (bare) get positions too: a client away meanwhile resumes on another node",
  { skip, timeout: 60000 }, async (t) => {
    const redis = await startRedis();
    const [a, b] = await startNodes(redis, 2, nodeArgs(), { db: 2 });
    const proxy = new CutProxy(a.port);
    await proxy.listen();
    const cable = connectCable(proxy.port, "dora");
    const watcher = connectCable(b.port, "watcher");  // keeps the stream subscribed on a node while dora is away
    t.after(async () => {
      cable.disconnect();
      watcher.disconnect();
      await proxy.close();
      await Promise.all([a.stop(), b.stop()]);
      await redis.kill();
    });
    const mine = await record(cable, "mixed");
    const theirs = await record(watcher, "mixed");
    await publish(a, "mixed", { n: 0 });
    await railsBroadcast(redis, "mixed", { n: 1 });
    await until(() => mine.got.length === 2 && theirs.got.length === 2, "the first broadcasts");
    proxy.cut();
    for (const n of [2, 3]) await railsBroadcast(redis, "mixed", { n });
    await publish(b, "mixed", { n: 4 });
    await railsBroadcast(redis, "mixed", { n: 5 });
    await until(() => theirs.got.includes(5), "the broadcasts on the other node");
    proxy.restore(b.port);
    await until(() => mine.got.includes(5), `the broadcasts after the cut (got ${mine.got})`);
    await publish(b, "mixed", { n: 6 });
    await until(() => mine.got.includes(6) && theirs.got.includes(6), "the marker");
    // Rails' broadcasts and the nodes' own are one stream: each message once, in the same order on both nodes. Two
    // publishers have no order between them (a Rails broadcast is sequenced after it reached a node, so the node's
    // own n 4 may come before n 2 and 3), but each one's broadcasts keep their order.
    assert.deepEqual([...mine.got].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6], `each once: ${mine.got}`);
    assert.deepEqual(mine.got.filter((n) => [1, 2, 3, 5].includes(n)), [1, 2, 3, 5], `Rails' in order: ${mine.got}`);
    assert.deepEqual(mine.got.filter((n) => [0, 4, 6].includes(n)), [0, 4, 6], `the nodes' in order: ${mine.got}`);
    assert.deepEqual(theirs.got, mine.got);
    assert.deepEqual(mine.positions.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(theirs.positions, mine.positions);
    assert.deepEqual(mine.infos.filter((i) => i.type === "history_not_found"), []);
  });

test("the node sequencing a stream's Rails broadcasts is killed: another takes over, nothing loses its position",
  { skip, timeout: 60000 }, async (t) => {
    const redis = await startRedis();
    const [a, b] = await startNodes(redis, 2, nodeArgs(), { db: 2 });
    const proxy = new CutProxy(b.port);
    await proxy.listen();
    const first = connectCable(a.port, "first");
    const cable = connectCable(proxy.port, "dora");
    t.after(async () => {
      first.disconnect();
      cable.disconnect();
      await proxy.close();
      await Promise.all([a.stop(), b.stop()]);
      await redis.kill();
    });
    // Only node A follows the stream when the first Rails broadcast comes: A takes the stream's lease.
    const onA = await record(first, "takeover");
    await railsBroadcast(redis, "takeover", { n: 0 });
    await until(() => onA.got.length === 1, "the first broadcast");
    assert.equal(onA.positions[0]?.offset, 1, "a Rails broadcast has a position");
    const mine = await record(cable, "takeover");
    await railsBroadcast(redis, "takeover", { n: 1 });
    await until(() => mine.got.includes(1), "the second broadcast on B");
    // A dies holding the lease, and dora is cut from B meanwhile: B takes over once the lease expires.
    proxy.cut();
    assert.equal(await a.stop("SIGKILL"), "SIGKILL");
    for (let n = 2; n < 8; n++) {
      await railsBroadcast(redis, "takeover", { n });
      await sleep(100);
    }
    proxy.restore(b.port);
    await until(() => mine.got.includes(7), `every broadcast (got ${mine.got})`);
    // n 0 too: the client's first subscribe asks for the stream's recent history.
    assert.deepEqual(mine.got, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(mine.positions.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(new Set(mine.positions.map((p) => p.epoch)).size, 1);
    assert.deepEqual(mine.infos.filter((i) => i.type === "history_not_found"), []);
  });

// Resolves once no node is subscribed to `stream`'s peercable channel (a node unsubscribes after --stream-linger).
async function unfollowed(redis, stream) {
  await until(async () => (await redisCommand(redis.port, "PUBSUB", "NUMSUB", `peercable:ext:${stream}`))[1] === 0,
    `no node following ${stream}`);
}

for (const how of ["its node stops following it (--stream-linger 1)", "its node exits"]) {
  test(`a stream nobody follows any more (${how}): a returning client gets history_not_found, not a silent gap`,
    { skip, timeout: 60000 }, async (t) => {
      const redis = await startRedis();
      const linger = how.startsWith("its node exits") ? [] : ["--stream-linger", "1"];
      const a = await startNode(redis, nodeArgs(linger), { db: 2 });
      let b;
      const proxy = new CutProxy(a.port);
      await proxy.listen();
      const cable = connectCable(proxy.port, "lonely");
      t.after(async () => {
        cable.disconnect();
        await proxy.close();
        await Promise.all([a.stop(), b?.stop()]);
        await redis.kill();
      });
      const mine = await record(cable, "lonely");
      await publish(a, "lonely", { n: 0 });
      await until(() => mine.got.includes(0), "the first broadcast");
      proxy.cut();
      if (linger.length) {
        await unfollowed(redis, "lonely");
      } else {
        assert.equal(await a.stop(), 0);
        b = await startNode(redis, nodeArgs(), { db: 2 });
      }
      // Published by Rails while no node follows the stream: nobody sequences or keeps it.
      await railsBroadcast(redis, "lonely", { n: 1 });
      proxy.restore((b ?? a).port);
      await until(() => mine.infos.some((i) => i.type === "history_not_found"), "history_not_found");
      await publish(b ?? a, "lonely", { n: 2 });
      await until(() => mine.got.includes(2), "the broadcast after the refusal");
      assert.deepEqual(mine.got, [0, 2]);
    });
}

test("whispers reach the room's subscribers on every node, never the sender", { skip, timeout: 30000 }, async (t) => {
  const redis = await startRedis();
  const [a, b] = await startNodes(redis, 2, nodeArgs(), { db: 2 });
  const cables = [connectCable(a.port, "wanda"), connectCable(b.port, "walt"), connectCable(a.port, "wes")];
  t.after(async () => {
    for (const c of cables) c.disconnect();
    await Promise.all([a.stop(), b.stop()]);
    await redis.kill();
  });
  const channels = cables.map((c) => c.subscribeTo("P2PChannel", { room: "whispers" }));
  const typing = channels.map(() => []);
  channels.forEach((ch, i) => ch.on("message", (m) => m?.event === "typing" && typing[i].push(m.who)));
  await Promise.all(channels.map((ch) => ch.ensureSubscribed()));
  await channels[0].whisper({ event: "typing", who: "wanda" });
  await channels[1].whisper({ event: "typing", who: "walt" });
  await until(() => typing[0].includes("walt") && typing[1].includes("wanda") && typing[2].length === 2, "the whispers");
  // A bounded drain: a room broadcast after the whispers reaches everyone after any stray copy would have.
  const marks = channels.map(() => 0);
  channels.forEach((ch, i) => ch.on("message", (m) => m?.marker && marks[i]++));
  await publish(a, "p2p:whispers", { marker: 1 });
  await until(() => marks.every((n) => n === 1), "the marker");
  // Each once, never to its sender (wes, on node A, may get the two in either order: two senders have none).
  assert.deepEqual([typing[0], typing[1], [...typing[2]].sort()], [["walt"], ["wanda"], ["walt", "wanda"]]);
});

test("rolling restart of three nodes under steady traffic: every client gets every message exactly once, in order",
  { skip, timeout: 90000 }, async (t) => {
    const redis = await startRedis();
    const extra = ["--stream-history-limit", "1000", "--drain-window", "1"];
    const nodes = await startNodes(redis, 3, nodeArgs(extra), { db: 2 });
    const ports = nodes.map((n) => n.port);
    const proxy = new BalancerProxy(ports);
    await proxy.listen();
    const cables = ["u1", "u2", "u3", "u4"].map((u) => connectCable(proxy.port, u));
    t.after(async () => {
      for (const c of cables) c.disconnect();
      await proxy.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await redis.kill();
    });
    const records = await Promise.all(cables.map((c) => record(c, "rolling")));
    const connects = cables.map(() => 0);
    cables.forEach((c, i) => c.on("connect", () => connects[i]++));

    // Steady numbered traffic through whichever node is up, while each node in turn drains and comes back.
    let sent = 0;
    let publishing = true;
    const publisher = (async () => {
      let i = 0;
      while (publishing) {
        const live = nodes.filter((n) => !proxy.down.has(n.port));
        await publish(live[i++ % live.length], "rolling", { n: sent++ });
        await sleep(10);
      }
    })();
    for (let k = 0; k < nodes.length; k++) {
      await sleep(300);
      proxy.setDown(ports[k]);
      assert.equal(await nodes[k].stop(), 0, "a drained node exits 0");
      nodes[k] = await startNode(redis, nodeArgs(extra), { db: 2, port: ports[k] });
      proxy.setDown(ports[k], false);
    }
    await sleep(300);
    publishing = false;
    await publisher;
    const marker = sent;
    await publish(nodes[0], "rolling", { n: marker });
    // Publishes made through different nodes have no order of their own: the stream's order is the one Redis
    // gave them (offsets 1, 2, 3, ... of one epoch), and every client must see exactly that, each message once.
    const expected = Array.from({ length: marker + 1 }, (_, i) => i);
    const offsets = expected.map((i) => i + 1);
    for (const [i, r] of records.entries()) {
      await until(() => r.got.includes(marker), `client ${i}: the marker (got ${r.got.length} of ${marker + 1})`);
      assert.deepEqual(r.positions.map((p) => p.offset), offsets, `client ${i}: every offset once, in order`);
      assert.equal(new Set(r.positions.map((p) => p.epoch)).size, 1, `client ${i}: one epoch`);
      assert.deepEqual([...r.got].sort((x, y) => x - y), expected, `client ${i}: every message once`);
      assert.deepEqual(r.got, records[0].got, `client ${i}: the same order as client 0`);
      assert.deepEqual(r.infos.filter((x) => x.type === "history_not_found"), [], `client ${i}: no refused history`);
    }
    // Every node was restarted, so every client was told to reconnect at least once.
    assert.ok(connects.every((n) => n >= 1), `every client reconnected: ${connects}`);
  });
