// How presence grows with room size: N users join one P2P room; counts every frame the server sends them and
// the server's CPU time, from the first connect until every client has its history and sees count N.
//
//   node bench/stores/presence_join.mjs [--users 1000,5000,15000] [--bin build/peercable] [--json]
//
// Bounded: each size runs once, at most 120 s; 127.0.0.1 only. 15k users need `ulimit -n` above 16k.
import { spawn } from "node:child_process";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WebSocket = createRequire(join(root, "tests", "package.json"))("ws");
const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : dflt; };
const sizes = arg("users", "1000,5000,15000").split(",").map(Number);
const bin = arg("bin", join(root, "build", "peercable"));
const extra = (arg("args", "") || "").split(" ").filter(Boolean);
const secret = "bench-secret-0123456789abcdef0123456789";
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const token = (sub) => { const h = b64({ alg: "HS256", typ: "JWT" }); const p = b64({ sub, name: sub });
  return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`; };
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); };
const freePort = () => new Promise((r) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

async function run(n) {
  const port = await freePort();
  const proc = spawn(bin, ["--port", String(port), "--threads", "1", "--jwt-secret", secret, "--data-dir", mkdtempSync(join(tmpdir(), "pj-")),
    "--history", "memory", "--log-level", "warn", "--max-connections-per-ip", "0", "--max-new-connections-per-ip", "0", ...extra],
  { stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/health`); break; } catch { await new Promise((r) => setTimeout(r, 50)); } }
  const ident = JSON.stringify({ channel: "P2PChannel", room: "big" });
  let frames = 0, histories = 0, maxCount = 0;
  const sockets = [];
  const cpu0 = ticks(proc.pid), t0 = Date.now();
  let done;
  const finished = new Promise((r) => (done = r));
  const check = () => { if (histories === n && maxCount >= n) done(); };
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cable?token=${token(`user${i}`)}`, ["actioncable-v1-json"],
      { localAddress: `127.0.0.${1 + (i % 200)}`, perMessageDeflate: false });
    ws.on("message", (d) => {
      const m = JSON.parse(d);
      if (m.type === "ping") return;
      frames++;
      if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier: ident }));
      const t = m.message?.type;
      if (t === "history") histories++;
      if ((t === "presence" || t === "presence_diff") && m.message.count) maxCount = Math.max(maxCount, m.message.count);
      if (t === "presence" && !("count" in m.message)) maxCount = Math.max(maxCount, m.message.users.length);  // before presence diffs
      check();
    });
    ws.on("error", () => {});
    sockets.push(ws);
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));  // paced connects, as browsers arrive
  }
  const timeout = setTimeout(() => done("timeout"), 120000);
  const outcome = await finished;
  clearTimeout(timeout);
  const wall = (Date.now() - t0) / 1000, cpu = (ticks(proc.pid) - cpu0) / 100;
  for (const ws of sockets) ws.terminate();
  proc.kill("SIGTERM");
  await new Promise((r) => proc.on("exit", r));
  return { users: n, frames, frames_per_user: +(frames / n).toFixed(1), wall_s: +wall.toFixed(2), server_cpu_s: +cpu.toFixed(2), outcome: outcome ?? "ok" };
}

const results = [];
for (const n of sizes) results.push(await run(n));
if (process.argv.includes("--json")) console.log(JSON.stringify(results));
else for (const r of results) console.log(`${r.users} users: ${r.frames} frames (${r.frames_per_user}/user), wall ${r.wall_s} s, server CPU ${r.server_cpu_s} s${r.outcome === "ok" ? "" : " (" + r.outcome + ")"}`);
