// The unmodified @anycable/web client speaking the extended protocol (actioncable-v1-ext-json) to the real
// server through a TCP proxy that the test cuts: broadcasts sent while the client is away come back exactly
// once and in order (session restored, stream history replayed), and an offset the server no longer keeps is
// refused with reject_history, which the client reports as the info event history_not_found.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startPeercable } from "../../lib/peercable.mjs";
import { CutProxy } from "./proxy.mjs";
import { broadcastKey, connectCable, publish, until, record } from "./anycable.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("500 numbered broadcasts, connection cut for 3 s: each arrives exactly once, in order", { timeout: 60000 }, async (t) => {
  const server = await startPeercable(["--public-streams", "--broadcast-key", broadcastKey,
    "--stream-history-limit", "1000"]);
  const proxy = new CutProxy(server.port);
  await proxy.listen();
  const cable = connectCable(proxy.port, "alice");
  t.after(async () => {
    cable.disconnect();
    await proxy.close();
    await server.stop();
  });
  const connects = [];
  cable.on("connect", (ev) => connects.push(ev));
  const { got } = await record(cable, "numbers");

  const total = 500;
  for (let n = 0; n < total; n++) {
    if (n === 100) {
      proxy.cut();
      setTimeout(() => proxy.restore(), 3000);
    }
    await publish(server, "numbers", { n });
    await sleep(10);
  }
  await until(() => got.length >= total && proxy.pairs.size > 0, `${total} messages (got ${got.length})`);
  // A bounded drain: a duplicate would be on its way behind the last message; a round trip settles it.
  await publish(server, "numbers", { n: total });
  await until(() => got.includes(total), "the marker broadcast");
  got.pop();
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => i));
  assert.ok(proxy.accepted >= 2, "the client reconnected");
  assert.ok(connects.some((c) => c.restored), `the session was restored: ${JSON.stringify(connects)}`);
});

test("a restart with --stream-history-store sqlite: epochs survive, the 500 arrive exactly once, in order", { timeout: 60000 }, async (t) => {
  const args = ["--public-streams", "--broadcast-key", broadcastKey, "--stream-history-limit", "1000",
    "--stream-history-store", "sqlite"];
  let server = await startPeercable(args);
  const { port, dataDir } = server;
  const proxy = new CutProxy(port);
  await proxy.listen();
  const cable = connectCable(proxy.port, "carol");
  t.after(async () => {
    cable.disconnect();
    await proxy.close();
    await server.stop();
  });
  const { got, positions } = await record(cable, "restarts");
  const total = 500;
  for (let n = 0; n < total; n++) {
    if (n === 100) proxy.cut();  // 100..119 are sent while the client is away, then the server restarts
    if (n === 120) {
      assert.equal(await server.stop(), 0);
      server = await startPeercable([...args, "--data-dir", dataDir], { port });
      proxy.restore();
    }
    await publish(server, "restarts", { n });
    await sleep(10);
  }
  await until(() => got.length >= total, `${total} messages (got ${got.length})`);
  await publish(server, "restarts", { n: total });
  await until(() => got.includes(total), "the marker broadcast");
  got.pop();
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => i));
  const epochs = new Set(positions.map((p) => p?.epoch).filter(Boolean));
  assert.equal(epochs.size, 1, `one epoch across the restart: ${[...epochs]}`);
});

test("an offset the server no longer keeps: reject_history reaches the app as history_not_found", { timeout: 60000 }, async (t) => {
  const server = await startPeercable(["--public-streams", "--broadcast-key", broadcastKey,
    "--stream-history-limit", "5"]);
  const proxy = new CutProxy(server.port);
  await proxy.listen();
  const cable = connectCable(proxy.port, "bob");
  t.after(async () => {
    cable.disconnect();
    await proxy.close();
    await server.stop();
  });
  const { got, infos } = await record(cable, "evicted");
  await publish(server, "evicted", { n: 0 });
  await until(() => got.length === 1, "the first broadcast");

  proxy.cut();
  // Twenty broadcasts while away: the server keeps only the last five, so offset 1 + 1 is gone.
  for (let n = 1; n <= 20; n++) await publish(server, "evicted", { n });
  proxy.restore();
  await until(() => infos.some((i) => i.type === "history_not_found"), "history_not_found");
  // The subscription lives on: a broadcast after the refusal arrives.
  await publish(server, "evicted", { n: 21 });
  await until(() => got.includes(21), "the broadcast after the refusal");
  assert.ok(!got.some((n) => n >= 1 && n <= 20), `nothing replayed from a refused history: ${got}`);
});
