// Wire compatibility with Rails' own redis adapter (Debian's ruby-actioncable 6.1), both directions, on one
// redis-server and one cable.yml (adapter: redis, url, channel_prefix; RAILS_ENV section):
// - a broadcast from a Ruby process (ActionCable.server.broadcast) reaches peercable's clients, byte for byte
//   the frame Rails' own server sends its clients;
// - peercable and a Rails Action Cable server (puma) share a room: each side's messages reach the other's
//   clients, direct messages included;
// - remote_connections.where(current_user:).disconnect closes the user's connections on every node.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startPeercable, freePort, testSecret, waitHealthy } from "../../lib/peercable.mjs";
import { startRedis, redisSkip, redisCommand } from "../../lib/redis.mjs";
import { CableClient, roomId, tearDown } from "./cable.mjs";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "rails");
const PREFIX = "peercable_interop_test";

function railsMissing() {
  const r = spawnSync("ruby", ["-e", 'require "action_cable"; require "redis"; require "puma"'], { encoding: "utf8" });
  if (r.error) return `ruby not found (${r.error.message})`;
  if (r.status !== 0) return `Action Cable, redis or puma not loadable (apt-get install ruby-actioncable ruby-redis puma): ${r.stderr.split("\n")[0]}`;
  return null;
}

const skip = redisSkip() || (railsMissing() ?? false);
let redis, rails, cableYml;
let nodes = [];
const clients = [];
let railsEnv;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  // One cable.yml for both servers, as a Rails app and its peercable nodes would share it.
  cableYml = join(mkdtempSync(join(tmpdir(), "peercable-cable-")), "cable.yml");
  writeFileSync(cableYml, [
    "development:", "  adapter: async",
    "test:", "  adapter: redis", `  url: redis://127.0.0.1:${redis.port}/1`, `  channel_prefix: ${PREFIX}`, ""].join("\n"));
  railsEnv = { ...process.env, CABLE_CONFIG: cableYml, RAILS_ENV: "test", PEERCABLE_JWT_SECRET: testSecret };
  const started = await Promise.all([
    startRails(),
    ...[0, 1].map(() => startPeercable(["--config", cableYml, "--threads", "2"], { env: { RAILS_ENV: "test" } })),
  ]);
  [rails, ...nodes] = started;
});

after(() => tearDown({ clients, nodes, redis, others: [rails] }));

async function startRails() {
  const port = await freePort();
  const proc = spawn("puma", ["-b", `tcp://127.0.0.1:${port}`, "-t", "4:4", "-e", "production", "config.ru"],
    { cwd: appDir, env: railsEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  try {
    await Promise.race([waitHealthy(port, 30000), exited.then((c) => { throw new Error(`puma exited (${c}): ${out}`); })]);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  return {
    wsUrl: `ws://127.0.0.1:${port}/cable`,
    logs: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      return exited;
    },
  };
}

/** Runs rails/broadcast.rb with `args` in its own Ruby process; resolves when it has published. */
function ruby(...args) {
  return new Promise((resolve, reject) => {
    const p = spawn("ruby", ["broadcast.rb", ...args], { cwd: appDir, env: railsEnv, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 20000);
    p.on("exit", (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(out) : reject(new Error(`ruby broadcast.rb ${args.join(" ")} exited ${code}: ${out}`));
    });
  });
}

async function connect(server, id, name = id) {
  const c = await CableClient.connect(server.wsUrl, { id, name });
  clients.push(c);
  return c;
}

test("both servers subscribe the prefixed channels in Redis", { skip, timeout: 60000 }, async () => {
  const p = await connect(nodes[0], "probe-p");
  const r = await connect(rails, "probe-r");
  await p.join("prefix-room");
  await r.join("prefix-room");
  const [, n] = await redisCommand(redis.port, "PUBSUB", "NUMSUB", `${PREFIX}:p2p:prefix-room`);
  assert.equal(n, 2, "one subscription from peercable, one from Rails");
  assert.equal((await redisCommand(redis.port, "PUBSUB", "NUMSUB", "p2p:prefix-room"))[1], 0, "nothing unprefixed");
  await p.close();
  await r.close();
});

test("a Rails broadcast from another process reaches peercable's clients, byte for byte as Rails sends it", { skip, timeout: 60000 }, async () => {
  const room = "rails-room";
  const [p0, p1, r] = [await connect(nodes[0], "pat"), await connect(nodes[1], "pia"), await connect(rails, "rae")];
  for (const c of [p0, p1, r]) await c.join(room);
  const payload = { type: "message", from: { id: "ruby", name: "Ruby <script> & co" }, body: "from Rails", n: 1.5, big: 10 ** 21, ok: true, none: null };
  await ruby(`p2p:${room}`, JSON.stringify(payload));
  for (const c of [p0, p1, r]) assert.deepEqual(await c.message(roomId(room), (m) => m.body === "from Rails"), payload);
  const frame = (c) => c.raw.find((x) => x.includes("from Rails"));
  assert.equal(frame(p0), frame(r), "peercable's frame equals Rails' frame");
  assert.equal(frame(p1), frame(r));
  assert.ok(frame(r).includes("\\u003cscript\\u003e \\u0026 co"), frame(r));
  for (const c of [p0, p1, r]) await c.close();
});

test("peercable and Rails share a room: messages and direct messages cross in both directions", { skip, timeout: 60000 }, async () => {
  const room = "shared-room";
  const pete = await connect(nodes[1], "pete", "Pete");
  const rita = await connect(rails, "rita", "Rita");
  await pete.join(room);
  await rita.join(room);

  pete.speak(room, "hello Rails");
  const atRails = await rita.message(roomId(room), (m) => m.body === "hello Rails");
  assert.equal(atRails.type, "message");
  assert.deepEqual(atRails.from, { id: "pete", name: "Pete" });

  rita.speak(room, "hello peercable");
  const atPeercable = await pete.message(roomId(room), (m) => m.body === "hello peercable");
  assert.deepEqual(atPeercable, { type: "message", room, from: { id: "rita", name: "Rita" }, body: "hello peercable" });

  pete.direct(room, "rita", "just for you");
  const dm = await rita.message(roomId(room), (m) => m.type === "direct");
  assert.equal(dm.body, "just for you");
  assert.equal(dm.to, "rita");
  assert.equal(rita.received(roomId(room), (m) => m.body === "hello Rails").length, 1, "delivered once");
  await pete.close();
  await rita.close();
});

test("remote_connections.where(current_user:).disconnect closes the user on every peercable node and on Rails", { skip, timeout: 60000 }, async () => {
  const victims = [await connect(nodes[0], "vic"), await connect(nodes[1], "vic"), await connect(rails, "vic")];
  const bystander = await connect(nodes[0], "val");
  await bystander.join("bystanders");
  await ruby("--disconnect", "vic");
  for (const v of victims) assert.equal((await v.closedWithin()).code, 1000);
  bystander.speak("bystanders", "still here");
  await bystander.message(roomId("bystanders"), (m) => m.body === "still here");
  await bystander.close();
});
