// Turbo Streams and signed streams with no Ruby process on the socket: names signed by Ruby (Debian's
// ActiveSupport MessageVerifier, as turbo-rails signs them) open Turbo::StreamsChannel and $pubsub
// subscriptions on peercable, and a <turbo-stream> broadcast by a Ruby process through Rails' redis adapter
// reaches them; tampered or foreign names are rejected, and unsigned $pubsub names only with --public-streams.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startPeercable, repoRoot } from "../../lib/peercable.mjs";
import { startRedis, redisSkip } from "../../lib/redis.mjs";
import { CableClient, tearDown } from "./cable.mjs";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "rails");
const SECRET = "turbo-test-secret-key-base-0123456789abcdef0123456789abcdef";
const OTHER_SECRET = "another-apps-secret-key-base-0123456789abcdef0123456789abcd";
const PREFIX = "peercable_turbo_test";

function rubyMissing() {
  const r = spawnSync("ruby", ["-e", 'require "action_cable"; require "redis"; require "active_support/message_verifier"'],
    { encoding: "utf8" });
  if (r.error) return `ruby not found (${r.error.message})`;
  return r.status === 0 ? null : `Action Cable or redis not loadable: ${r.stderr.split("\n")[0]}`;
}

const skip = redisSkip() || (rubyMissing() ?? false);
let redis, railsEnv;
let nodes = [];
const clients = [];

/** Names signed by tests/fixtures/signed_stream.rb (Ruby) with `secret`: { turbo_sha1: [...], pubsub_urlsafe: [...], ... }. */
function signedByRuby(names, secret = SECRET) {
  const r = spawnSync("ruby", [join(repoRoot, "tests/fixtures/signed_stream.rb"), "--secret-key-base", secret,
    ...names.flatMap((n) => ["--name", n])], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** ActionCable.server.broadcast(stream, payload) from a separate Ruby process, through the redis adapter. */
function rubyBroadcast(stream, payload) {
  return new Promise((resolve, reject) => {
    const p = spawn("ruby", ["broadcast.rb", stream, JSON.stringify(payload)], { cwd: appDir, env: railsEnv,
      stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`broadcast.rb exited ${code}: ${out}`))));
  });
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const cableYml = join(mkdtempSync(join(tmpdir(), "peercable-turbo-")), "cable.yml");
  writeFileSync(cableYml, ["test:", "  adapter: redis", `  url: redis://127.0.0.1:${redis.port}/2`,
    `  channel_prefix: ${PREFIX}`, ""].join("\n"));
  railsEnv = { ...process.env, CABLE_CONFIG: cableYml, RAILS_ENV: "test" };
  // Debian's ActiveSupport 6.1 derives keys with SHA1, as an app on Rails 6.1 defaults does.
  const common = ["--config", cableYml, "--rails-secret-key-base", SECRET, "--rails-key-digest", "sha1", "--log-level", "info"];
  nodes = await Promise.all([startPeercable(common, { env: { RAILS_ENV: "test" } }),
    startPeercable([...common, "--public-streams"], { env: { RAILS_ENV: "test" } })]);
});

after(() => tearDown({ clients, nodes, redis }));

async function connect(node, id) {
  const c = await CableClient.connect(node.wsUrl, { id });
  clients.push(c);
  return c;
}

function rejected(client, identifier) {
  client.send({ command: "subscribe", identifier });
  return client.next((f) => f.identifier === identifier && (f.type === "reject_subscription" || f.type === "confirm_subscription"),
    { what: `an answer to ${identifier}` });
}

test("a Turbo stream signed by Ruby is streamed, and a <turbo-stream> broadcast from Ruby reaches it", { skip, timeout: 30000 }, async () => {
  const stream = "Z2lkOi8vYXBwL1Jvb20vNDI:messages";  // turbo_stream_from @room, :messages
  const signed = signedByRuby([stream, "other"]);
  const c = await connect(nodes[0], "alice");
  const id = JSON.stringify({ channel: "Turbo::StreamsChannel", signed_stream_name: signed.turbo_sha1[0] });
  await c.subscribe(id);
  const html = '<turbo-stream action="append" target="messages"><template><p id="m1">hello from Ruby</p></template></turbo-stream>';
  await rubyBroadcast(stream, html);
  assert.equal(await c.message(id, (m) => m === html, "the turbo-stream"), html);
});

test("tampered, foreign and unsigned Turbo names are rejected and receive nothing", { skip, timeout: 30000 }, async () => {
  const stream = "room:secret";
  const ours = signedByRuby([stream]).turbo_sha1[0];
  const foreign = signedByRuby([stream], OTHER_SECRET).turbo_sha1[0];
  const sep = ours.indexOf("--");
  const tampered = ours.slice(0, sep + 2) + (ours[sep + 2] === "0" ? "1" : "0") + ours.slice(sep + 3);
  const c = await connect(nodes[0], "mallory");
  const ids = [tampered, foreign, ours.slice(0, sep)].map((s) => JSON.stringify({ channel: "Turbo::StreamsChannel", signed_stream_name: s }));
  ids.push(JSON.stringify({ channel: "Turbo::StreamsChannel", stream_name: stream }));
  for (const id of ids) assert.equal((await rejected(c, id)).type, "reject_subscription", id);
  // A subscriber with the genuine name receives the broadcast; by then any delivery to mallory would be queued.
  const good = await connect(nodes[0], "bob");
  const goodId = JSON.stringify({ channel: "Turbo::StreamsChannel", signed_stream_name: ours });
  await good.subscribe(goodId);
  await good.subscribe(JSON.stringify({ channel: "BenchmarkChannel" }));
  await rubyBroadcast(stream, "<turbo-stream action=\"remove\" target=\"x\"></turbo-stream>");
  await good.message(goodId, () => true, "the broadcast");
  // Flush mallory's connection with an echo round trip: a delivery queued before it would have arrived first.
  const bench = JSON.stringify({ channel: "BenchmarkChannel" });
  await c.subscribe(bench);
  c.perform(bench, "echo", { n: 1 });
  await c.message(bench, (m) => m.n === 1, "the echo");
  assert.deepEqual(c.frames.filter((f) => f.message !== undefined && f.identifier !== bench), []);
});

test("$pubsub: signed names (URL-safe or not) stream; unsigned names only with --public-streams", { skip, timeout: 30000 }, async () => {
  const signed = signedByRuby(["chat/~~~"]);  // its Base64 holds "+": the two alphabets differ
  assert.notEqual(signed.pubsub_urlsafe[0], signed.pubsub[0]);
  const c = await connect(nodes[0], "carol");
  const urlsafeId = JSON.stringify({ channel: "$pubsub", signed_stream_name: signed.pubsub_urlsafe[0] });
  const stdId = JSON.stringify({ channel: "$pubsub", signed_stream_name: signed.pubsub[0] });
  await c.subscribe(urlsafeId);
  await c.subscribe(stdId);
  const publicId = JSON.stringify({ channel: "$pubsub", stream_name: "chat/~~~" });
  assert.equal((await rejected(c, publicId)).type, "reject_subscription");
  const d = await connect(nodes[1], "dave");  // the node started with --public-streams
  await d.subscribe(publicId);
  await rubyBroadcast("chat/~~~", { text: "hi" });
  for (const id of [urlsafeId, stdId]) assert.deepEqual(await c.message(id, (m) => m.text === "hi"), { text: "hi" });
  assert.deepEqual(await d.message(publicId, (m) => m.text === "hi"), { text: "hi" });
});
