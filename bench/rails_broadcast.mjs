// What it costs a broadcast published by a Rails process (a bare PUBLISH on the stream's channel) to get its stream
// position when stream history is in Redis: each node holds it until the node holding the stream's lease has
// sequenced it (docs/adr/0006-stream-history-in-redis.md), against the same broadcast delivered bare at once
// (--stream-history-store memory). Two nodes on one redis-server, a plain Action Cable client on each; the
// publisher sends `--count` broadcasts `--gap` ms apart over one Redis connection and each client's latency from the
// PUBLISH being written to the message arriving is taken, per configuration, alternating `--runs` times.
//
//   node bench/rails_broadcast.mjs [--count 300] [--gap 5] [--runs 3]    (PEERCABLE_BIN: the binary)
//
// Bounded: count x runs x 2 broadcasts, 127.0.0.1 only.
import net from "node:net";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startRedis, startNodes } from "../tests/lib/redis.mjs";
import { signToken } from "../tests/lib/peercable.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const WebSocket = createRequire(join(root, "tests", "package.json"))("ws");
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return Number(i > 0 ? process.argv[i + 1] : dflt); };
const count = arg("count", 300);
const gap = arg("gap", 5);
const runs = arg("runs", 3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stream = "rails-bench";
const identifier = JSON.stringify({ channel: "$pubsub", stream_name: stream });

// A plain Action Cable client on `stream`: `times[n]` is when message n arrived (ns).
async function client(port, user) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/cable?token=${signToken({ sub: user })}`, ["actioncable-v1-json"]);
  const times = new Map();
  let confirmed;
  const ready = new Promise((r) => (confirmed = r));
  ws.on("message", (d) => {
    const m = JSON.parse(d);
    if (m.type === "confirm_subscription") confirmed();
    else if (m.message?.n !== undefined) times.set(m.message.n, process.hrtime.bigint());
  });
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ command: "subscribe", identifier }));
  await ready;
  return { ws, times };
}

function resp(args) {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
}

async function measure(redis, store) {
  const nodes = await startNodes(redis, 2, ["--public-streams", "--stream-history-store", store, "--threads", "1"]);
  const clients = await Promise.all(nodes.map((n, i) => client(n.port, `c${i}`)));
  const pub = net.connect(redis.port, "127.0.0.1");
  pub.on("data", () => {});
  await new Promise((r) => pub.once("connect", r));
  const sent = new Map();
  for (let n = 0; n < count; n++) {
    sent.set(n, process.hrtime.bigint());
    pub.write(resp(["PUBLISH", stream, JSON.stringify({ n })]));
    await sleep(gap);
  }
  const deadline = Date.now() + 10000;
  while (clients.some((c) => c.times.size < count) && Date.now() < deadline) await sleep(20);
  const lat = [];
  for (const c of clients) for (const [n, t] of c.times) lat.push(Number(t - sent.get(n)) / 1e6);
  const lost = clients.reduce((s, c) => s + count - c.times.size, 0);
  pub.destroy();
  for (const c of clients) c.ws.close();
  await Promise.all(nodes.map((n) => n.stop()));
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { p50: q(0.5), p99: q(0.99), lost };
}

const redis = await startRedis();
const results = { memory: [], redis: [] };
try {
  for (let r = 0; r < runs; r++)
    for (const store of ["memory", "redis"]) results[store].push(await measure(redis, store));
} finally {
  await redis.kill();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const store of ["memory", "redis"]) {
  const rs = results[store];
  console.log(`${store === "redis" ? "positioned (history in Redis)" : "bare (history in memory)   "}: p50 ` +
    `${rs.map((x) => x.p50.toFixed(2)).join(" ")} ms (median ${median(rs.map((x) => x.p50)).toFixed(2)}), p99 ` +
    `${rs.map((x) => x.p99.toFixed(2)).join(" ")} ms (median ${median(rs.map((x) => x.p99)).toFixed(2)}), lost ${rs.map((x) => x.lost).join(" ")}`);
}
const ratio = median(results.redis.map((x) => x.p50)) / median(results.memory.map((x) => x.p50));
console.log(`p50 positioned / bare: ${ratio.toFixed(2)}`);
