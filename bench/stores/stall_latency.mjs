// Latency of a bystander (speak in its room, wait for the message back) while the history store stalls:
// none, an SQLite file locked by another process (BEGIN EXCLUSIVE), a Redis store paused with SIGSTOP.
// Meanwhile a speaker in another room says 50 messages a second, so the store worker always has work queued.
//
//   node bench/stores/stall_latency.mjs [--trips 500] [--bin build/peercable] [--json]
//
// Bounded: `trips` round trips per case (5 s of stall at most), 127.0.0.1 only; one loop (--threads 1), so a
// store call on the loop would delay the bystander directly.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WebSocket = createRequire(join(root, "tests", "package.json"))("ws");
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const trips = Number(arg("trips", "500"));
const bin = arg("bin", join(root, "build", "peercable"));
const secret = "bench-secret-0123456789abcdef0123456789";
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const token = (sub) => { const h = b64({ alg: "HS256", typ: "JWT" }); const p = b64({ sub, name: sub });
  return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`; };
const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ident = (room) => JSON.stringify({ channel: "P2PChannel", room });

async function start(args) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "stall-"));
  const proc = spawn(bin, ["--port", String(port), "--threads", "1", "--jwt-secret", secret, "--data-dir", dir, "--log-level", "error", ...args],
    { stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/health`); break; } catch { await sleep(50); } }
  return { port, dir, proc };
}

// A subscribed client; `wait(pred)` resolves with the next matching message.
async function client(port, sub, room) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/cable?token=${token(sub)}`, ["actioncable-v1-json"], { perMessageDeflate: false });
  const waiters = [];
  ws.on("message", (d) => {
    const m = JSON.parse(d);
    for (let i = 0; i < waiters.length; i++) if (waiters[i].pred(m)) { waiters.splice(i, 1)[0].resolve(m); break; }
  });
  const wait = (pred) => new Promise((resolve) => waiters.push({ pred, resolve }));
  await wait((m) => m.type === "welcome");
  ws.send(JSON.stringify({ command: "subscribe", identifier: ident(room) }));
  await wait((m) => m.message?.type === "history");
  const speak = (body) => ws.send(JSON.stringify({ command: "message", identifier: ident(room), data: JSON.stringify({ action: "speak", body }) }));
  return { ws, wait, speak };
}

async function measure(port) {
  const bystander = await client(port, "bystander", "calm");
  const speaker = await client(port, "speaker", "busy");
  let speaking = true;
  const chatter = (async () => { for (let i = 0; speaking; i++) { speaker.speak(`busy ${i}`); await sleep(20); } })();
  const lat = [];
  for (let i = 0; i < trips; i++) {
    const t = process.hrtime.bigint();
    const back = bystander.wait((m) => m.message?.body === `trip ${i}`);
    bystander.speak(`trip ${i}`);
    await back;
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    await sleep(5);
  }
  speaking = false;
  await chatter;
  bystander.ws.terminate(); speaker.ws.terminate();
  lat.sort((a, b) => a - b);
  const q = (p) => +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  return { p50_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1) };
}

async function stop(s) { s.proc.kill("SIGTERM"); await new Promise((r) => s.proc.on("exit", r)); }

const results = [];
{ // no stall, SQLite
  const s = await start(["--history", "sqlite"]);
  results.push({ case: "sqlite, no stall", ...(await measure(s.port)) });
  await stop(s);
}
{ // SQLite locked by another process for the whole measurement
  const s = await start(["--history", "sqlite"]);
  const py = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\nsys.stdin.read()\n";
  const locker = spawn("python3", ["-c", py, join(s.dir, "history.sqlite3")], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((r) => locker.stdout.on("data", r));
  results.push({ case: "sqlite, file locked (BEGIN EXCLUSIVE)", ...(await measure(s.port)) });
  locker.stdin.end();
  await stop(s);
}
{ // Redis store, then paused
  const rport = await freePort();
  const redis = spawn("redis-server", ["--port", String(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await sleep(300);
  const s = await start(["--store-redis-url", `redis://127.0.0.1:${rport}`]);
  results.push({ case: "redis store, no stall", ...(await measure(s.port)) });
  redis.kill("SIGSTOP");
  results.push({ case: "redis store, paused (SIGSTOP)", ...(await measure(s.port)) });
  redis.kill("SIGCONT");
  await stop(s);
  redis.kill("SIGKILL");
}
if (process.argv.includes("--json")) console.log(JSON.stringify(results));
else for (const r of results) console.log(`${r.case}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms`);
