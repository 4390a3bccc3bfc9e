#!/usr/bin/env node
// How many connections a Redis cluster of peercable nodes on this machine holds, and how one broadcast to
// all of them behaves. For each step (1k, 10k, 50k, 100k by default, and the largest single node):
// a fresh redis-server on a free loopback port and enough peercable nodes joined through it (each holding
// at most --per-node connections), then load generators in several processes (`--scenario hold`), each
// below the per-process file limit, spread over the nodes and over 127.0.0.x source addresses. Measured:
// the time from the first connect to the last confirm_subscription, the nodes' memory per connection, and
// --rounds broadcasts, each sent by one client and timed from its send to its receipt on every client.
//
//   node bench/scale/run.mjs --max 100000      # the full run (a few minutes); writes the results and plot
//   node bench/scale/run.mjs --smoke           # 2,000 clients on two nodes, under a minute; CI
//
// Everything it starts is stopped when it ends, fails or is interrupted. Exit code: 0 when every client
// connected and got every broadcast at every step, 1 otherwise, 2 for a bad command line.
import { spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createConnection, createServer } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const USAGE = `usage: node bench/scale/run.mjs [options]
  --max N            largest step (100000); the steps are 1000, 10000, 50000, 100000 up to N, and N
  --steps A,B,...    the steps instead (connections)
  --single N         also one node on its own (no Redis) with N connections (19800; 0 = skip)
  --per-node N       at most N connections per node (17000): nodes = ceil(step / N)
  --per-loadgen N    at most N connections per load generator process (17000)
  --threads N        event loops per node (2: the default on this 2-core machine)
  --connect-rate R   new connections per second at most, all load generators together (2000)
  --max-pending N    per load generator, at most N connections between connect and subscribed (200)
  --rounds N         measured broadcasts per step (5), after --warmup unmeasured ones (1)
  --round-timeout S  a broadcast not received by every client within S seconds counts as lost (30);
                     copies arriving later are counted as "late"
  --out FILE         results JSON (bench/scale/results.json; --smoke: in the work directory, kept on failure)
  --plot FILE        PNG plot (docs/bench/scale.png; --smoke: none)
  --peercable PATH   the server binary (build/peercable)
  --loadgen PATH     the load generator (build/peercable-loadgen, else built into build/bench-loadgen)
  --smoke            --steps 2000 --single 0 --rounds 3 --per-node 1000, no plot (CI; under a minute)
  --time-limit S     stop everything after S seconds (1800)`;

const { values: a } = parseArgs({
  options: {
    max: { type: "string" }, steps: { type: "string" }, single: { type: "string" },
    "per-node": { type: "string" }, "per-loadgen": { type: "string" }, threads: { type: "string" },
    "connect-rate": { type: "string" }, "max-pending": { type: "string" }, rounds: { type: "string" }, warmup: { type: "string" },
    "round-timeout": { type: "string" }, out: { type: "string" }, plot: { type: "string" },
    peercable: { type: "string" }, loadgen: { type: "string" }, smoke: { type: "boolean" },
    "time-limit": { type: "string" }, help: { type: "boolean", short: "h" },
  },
});
if (a.help) {
  console.log(USAGE);
  process.exit(0);
}
function num(name, dflt, lo, hi) {
  const v = a[name] === undefined ? dflt : Number(a[name]);
  if (!Number.isFinite(v) || v < lo || v > hi) {
    console.error(`scale: --${name} wants a number in [${lo}, ${hi}]\n${USAGE}`);
    process.exit(2);
  }
  return v;
}
const smoke = !!a.smoke;
const max = num("max", smoke ? 2000 : 100000, 1, 250000);
const opt = {
  single: num("single", smoke ? 0 : Math.min(19800, max), 0, 19900),
  perNode: num("per-node", smoke ? 1000 : 17000, 1, 19800),
  perLoadgen: num("per-loadgen", 17000, 1, 19800),
  threads: num("threads", 2, 1, 64),
  connectRate: num("connect-rate", 2000, 1, 1e6),
  maxPending: num("max-pending", 200, 0, 1e6),
  rounds: num("rounds", smoke ? 3 : 5, 1, 100),
  warmup: num("warmup", 1, 0, 10),
  roundTimeout: num("round-timeout", 30, 0.1, 120),
  timeLimit: num("time-limit", 1800, 10, 7200),
};
let steps = a.steps
  ? a.steps.split(",").map(Number)
  : smoke ? [2000] : [...new Set([1000, 10000, 50000, 100000].filter((n) => n < max).concat([max]))];
if (steps.some((n) => !Number.isInteger(n) || n < 1 || n > 250000)) {
  console.error(`scale: --steps wants whole numbers in [1, 250000]\n${USAGE}`);
  process.exit(2);
}
const workDir = mkdtempSync(join(tmpdir(), "peercable-scale-"));
// A smoke run's results go with its work directory: removed when it passes, kept when it fails.
const outFile = resolve(a.out ?? (smoke ? join(workDir, "results.json") : join(root, "bench/scale/results.json")));
const plotFile = a.plot ? resolve(a.plot) : smoke ? null : join(root, "docs/bench/scale.png");
const peercable = resolve(a.peercable ?? join(root, "build/peercable"));
const secret = randomBytes(24).toString("hex");
const logFile = join(workDir, "servers.log");
const t0 = Date.now();
const hardDeadline = t0 + opt.timeLimit * 1000;

// ---------------------------------------------------------------------------------------------------
// Every child process, so that all of them are stopped on any way out.
const children = new Set();
function killAllNow() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) try { c.kill("SIGKILL"); } catch {}
}
process.on("exit", (code) => {
  killAllNow();
  // The servers' log stays for a failed run (its path is printed).
  if (code === 0) rmSync(workDir, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    console.error(`scale: ${sig}, stopping everything`);
    process.exit(130);
  });
}
const overall = setTimeout(() => {
  console.error(`scale: --time-limit ${opt.timeLimit} s reached, stopping everything`);
  process.exit(1);
}, opt.timeLimit * 1000);
overall.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...m) => console.error(`[scale ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`, ...m);

/** Runs `cmd args` with the soft file limit raised to the hard one (20,000 here). */
function spawnRaised(cmd, args, stdio) {
  const c = spawn("/bin/sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", cmd, ...args], { stdio });
  children.add(c);
  c.exited = new Promise((res) => c.on("exit", (code, sig) => res(code ?? sig)));
  c.on("error", () => {});
  return c;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
async function stop(c, graceMs = 8000) {
  if (c.exitCode === null && c.signalCode === null) {
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), graceMs);
    await c.exited;
    clearTimeout(t);
  }
  children.delete(c);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function signToken(claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64({ exp: Math.floor(Date.now() / 1000) + 86400, ...claims });
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

function redisPing(port) {
  return new Promise((res) => {
    const s = createConnection({ host: "127.0.0.1", port });
    let got = "";
    const done = (v) => { s.destroy(); res(v); };
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => { got += d; if (got.includes("\r\n")) done(got.startsWith("+PONG")); });
    s.once("error", () => done(false));
  });
}

function health(port) {
  return new Promise((res) => {
    const req = httpGet({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (r) => {
      let body = "";
      r.on("data", (d) => (body += d));
      r.on("end", () => { try { res(JSON.parse(body)); } catch { res(null); } });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(null));
  });
}

/** Resident memory of `pid` in KiB (VmRSS), or NaN. */
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
const TICKS = 100;  // USER_HZ on Linux
/** User and system CPU seconds of `pid` so far ({ user, sys }, NaN when unreadable). */
function cpuParts(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(f[11]) / TICKS, sys: Number(f[12]) / TICKS };
  } catch {
    return { user: NaN, sys: NaN };
  }
}
/** User + system CPU seconds of `pid` so far, or NaN. */
function cpuSeconds(pid) {
  const { user, sys } = cpuParts(pid);
  return user + sys;
}
/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySeconds() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((x, y) => x + y, 0) - f[3] - (f[4] || 0)) / TICKS;
}
const sum = (xs) => xs.reduce((x, y) => x + y, 0);
const median = (xs) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function until(what, cond, ms) {
  const deadline = Math.min(Date.now() + ms, hardDeadline);
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------
// The servers of one step.

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(workDir, "redis-"));
  const out = openSync(logFile, "a");
  const c = spawnRaised("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", dir, "--daemonize", "no", "--loglevel", "warning", "--maxclients", "1000"], ["ignore", out, out]);
  closeSync(out);
  await until("redis-server start", async () => {
    if (c.exitCode !== null) throw new Error(`redis-server exited (${c.exitCode}); see ${logFile}`);
    return redisPing(port);
  }, 10000);
  return { port, proc: c };
}

async function startNode(redisUrl) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(workDir, "node-"));
  const args = ["--host", "127.0.0.1", "--port", String(port), "--threads", String(opt.threads), "--jwt-secret", secret,
    "--data-dir", dataDir, "--log-level", "warn",
    // Thousands of clients from a few loopback addresses, one of them broadcasting: the per-address and
    // per-connection limits are for the public internet, not for a load generator.
    "--max-connections-per-ip", "0", "--max-new-connections-per-ip", "0", "--max-commands-per-second", "0"];
  if (redisUrl) args.push("--redis-url", redisUrl);
  const out = openSync(logFile, "a");
  const c = spawnRaised(peercable, args, ["ignore", out, out]);
  closeSync(out);
  await until(`peercable on ${port}`, async () => {
    if (c.exitCode !== null) throw new Error(`peercable exited (${c.exitCode}) at start-up; see ${logFile}`);
    const h = await health(port);
    return h && (!redisUrl || h.broker === "connected");
  }, 15000);
  return { port, proc: c };
}

// ---------------------------------------------------------------------------------------------------
// The load generators of one step: `--scenario hold`, driven through stdin, reporting JSON lines.

function startLoadgen(loadgen, { clients, ports, rate, broadcaster, timeLimit }) {
  const args = ["--scenario", "hold", "--port", ports.join(","), "--path", `/cable?token=${signToken({ sub: "scale", name: "scale" })}`,
    "--clients", String(clients), "--connect-rate", String(rate), "--max-pending", String(opt.maxPending), "--round-timeout", String(opt.roundTimeout),
    "--time-limit", String(timeLimit), "--json", "--quiet"];
  if (broadcaster) args.push("--broadcaster");
  const c = spawnRaised(loadgen, args, ["pipe", "pipe", "pipe"]);
  c.stdin.on("error", () => {});
  const lg = { proc: c, ready: null, rounds: new Map(), final: null, stderr: "", waiters: [] };
  c.stderr.on("data", (d) => { if (lg.stderr.length < 4000) lg.stderr += d; });
  createInterface({ input: c.stdout, crlfDelay: Infinity }).on("line", (line) => {
    let m;
    try { m = JSON.parse(line); } catch { return; }
    if (m.event === "ready") lg.ready = m;
    else if (m.event === "round") lg.rounds.set(m.seq, m);
    else lg.final = m;
    for (const w of lg.waiters.splice(0)) w();
  });
  c.exited.then(() => { for (const w of lg.waiters.splice(0)) w(); });
  lg.changed = () => new Promise((r) => lg.waiters.push(r));
  return lg;
}

/** Waits until `cond(lg)` holds for every load generator; a process that exits first is an error. */
async function allOf(lgs, what, cond, ms) {
  const deadline = Math.min(Date.now() + ms, hardDeadline);
  for (const lg of lgs) {
    while (!cond(lg)) {
      if (lg.proc.exitCode !== null || lg.proc.signalCode !== null)
        throw new Error(`${what}: a load generator exited (${lg.proc.exitCode ?? lg.proc.signalCode}): ${lg.stderr.trim().slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${ms / 1000} s`);
      await Promise.race([lg.changed(), sleep(Math.min(left, 500))]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------

async function runStep(loadgen, clients, single) {
  const nodeCount = single ? 1 : Math.ceil(clients / opt.perNode);
  const lgCount = Math.max(clients >= 2 ? 2 : 1, Math.ceil(clients / opt.perLoadgen));
  const label = single ? `${clients} on one node (no Redis)` : `${clients} on ${nodeCount} node(s) via Redis`;
  log(`step: ${label}, ${lgCount} load generator processes`);
  const servers = [];
  const lgs = [];
  const step = { clients, single, nodes: nodeCount, loadgens: lgCount, threads: opt.threads, connect_rate: opt.connectRate,
    max_pending: opt.maxPending };
  try {
    let redis = null;
    if (!single) {
      redis = await startRedis();
      servers.push(redis);
    }
    const nodes = [];
    for (let i = 0; i < nodeCount; ++i) {
      const n = await startNode(redis ? `redis://127.0.0.1:${redis.port}/0` : null);
      servers.push(n);
      nodes.push(n);
    }
    const nodePids = nodes.map((n) => n.proc.pid);
    await sleep(500);
    const rssBefore = nodePids.map(rssKb);
    const redisRssBefore = redis ? rssKb(redis.proc.pid) : NaN;
    const cpu0 = sum(nodePids.map(cpuSeconds)) + (redis ? cpuSeconds(redis.proc.pid) : 0);
    const connectSys0 = sum(nodePids.map((p) => cpuParts(p).sys));
    const machine0 = machineBusySeconds();

    // Clients spread evenly over the processes; each process over every node, starting at a different
    // one so that the nodes' shares stay even. The broadcaster is the first client of the first process,
    // on the first node.
    const connectS = clients / opt.connectRate;
    // The load generators wait up to four times the pacing (at least 20 s more) for the last subscription.
    const connectWaitS = 4 * connectS + 20;
    const timeLimit = Math.ceil(connectWaitS + 30 + (opt.rounds + opt.warmup) * (opt.roundTimeout + 5) + 60);
    for (let i = 0; i < lgCount; ++i) {
      const share = Math.floor(clients / lgCount) + (i < clients % lgCount ? 1 : 0);
      const ports = nodes.map((_, j) => nodes[(i + j) % nodeCount].port);
      lgs.push(startLoadgen(loadgen, { clients: share, ports, rate: opt.connectRate / lgCount, broadcaster: i === 0, timeLimit }));
    }
    await allOf(lgs, "connect and subscribe", (lg) => lg.ready, (connectWaitS + 30) * 1000);
    const ready = sum(lgs.map((lg) => lg.ready.clients_ready));
    const cpu1 = sum(nodePids.map(cpuSeconds)) + (redis ? cpuSeconds(redis.proc.pid) : 0);
    const machine1 = machineBusySeconds();
    const span = (Math.max(...lgs.map((lg) => lg.ready.last_subscribe_us)) - Math.min(...lgs.map((lg) => lg.ready.first_start_us))) / 1e6;
    Object.assign(step, {
      clients_ready: ready,
      connect_failures: clients - ready,
      connect_errors: sum(lgs.map((lg) => lg.ready.connect_errors)),
      handshake_failures: sum(lgs.map((lg) => lg.ready.handshake_failures)),
      timeouts: sum(lgs.map((lg) => lg.ready.timeouts)),
      rejected: sum(lgs.map((lg) => lg.ready.rejected)) + sum(lgs.map((lg) => lg.ready.unauthorized)),
      connect_s: span,
      connect_per_s: ready / span,
      connect_paced_s: connectS,
      connect_server_cpu_s: cpu1 - cpu0,
      connect_node_sys_cpu_s: sum(nodePids.map((p) => cpuParts(p).sys)) - connectSys0,
      connect_machine_cpu_util: (machine1 - machine0) / span,
    });
    log(`${ready}/${clients} subscribed in ${span.toFixed(2)} s (paced at ${opt.connectRate}/s: ${connectS.toFixed(1)} s)`);

    // Memory once the connections are settled (the loops have drained their start-up work).
    await sleep(2000);
    const rssAfter = nodePids.map(rssKb);
    step.node_rss_before_kb = rssBefore;
    step.node_rss_after_kb = rssAfter;
    step.rss_delta_kb = sum(rssAfter) - sum(rssBefore);
    step.bytes_per_conn = (step.rss_delta_kb * 1024) / Math.max(1, ready);
    if (redis) {
      step.redis_rss_before_kb = redisRssBefore;
      step.redis_rss_after_kb = rssKb(redis.proc.pid);
    }
    log(`node memory: +${(step.rss_delta_kb / 1024).toFixed(1)} MiB, ${(step.bytes_per_conn / 1024).toFixed(2)} KiB per connection`);

    // Broadcasts, one at a time: every process is told the round, the first one sends it.
    step.rounds = [];
    for (let seq = 0; seq < opt.warmup + opt.rounds; ++seq) {
      const c0 = sum(nodePids.map(cpuSeconds)) + (redis ? cpuSeconds(redis.proc.pid) : 0);
      const l0 = sum(lgs.map((lg) => cpuSeconds(lg.proc.pid)));
      const sys0 = sum(nodePids.map((p) => cpuParts(p).sys));
      const m0 = machineBusySeconds();
      const w0 = Date.now();
      for (const lg of [...lgs].reverse()) lg.proc.stdin.write(`round ${seq}\n`);
      await allOf(lgs, `broadcast ${seq}`, (lg) => lg.rounds.has(seq), (opt.roundTimeout + 10) * 1000);
      const parts = lgs.map((lg) => lg.rounds.get(seq));
      const lat = new Float64Array(sum(parts.map((p) => p.latency_us.length)));
      let k = 0;
      for (const p of parts) for (const v of p.latency_us) lat[k++] = v;
      lat.sort();
      const pct = (q) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)] / 1000 : NaN);
      const expected = sum(parts.map((p) => p.expected));
      const r = {
        // A client that subscribed after the round was announced may get it too: received can exceed expected.
        seq, warmup: seq < opt.warmup, expected, received: lat.length, lost: Math.max(0, expected - lat.length),
        p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: lat.length ? lat[lat.length - 1] / 1000 : NaN,
        server_cpu_s: sum(nodePids.map(cpuSeconds)) + (redis ? cpuSeconds(redis.proc.pid) : 0) - c0,
        loadgen_cpu_s: sum(lgs.map((lg) => cpuSeconds(lg.proc.pid))) - l0,
        node_sys_cpu_s: sum(nodePids.map((p) => cpuParts(p).sys)) - sys0,  // the kernel's part (nodes only)
        machine_cpu_util: (machineBusySeconds() - m0) / ((Date.now() - w0) / 1000),
      };
      step.rounds.push(r);
      for (const lg of lgs) lg.rounds.delete(seq);
      log(`broadcast ${seq}${r.warmup ? " (warm-up)" : ""}: ${r.received}/${expected}, p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms, max ${r.max_ms.toFixed(1)} ms; ` +
        `CPU s: servers ${r.server_cpu_s.toFixed(2)} (nodes' system time ${r.node_sys_cpu_s.toFixed(2)}), load generators ${r.loadgen_cpu_s.toFixed(2)}`);
      await sleep(1000);
    }
    const measured = step.rounds.filter((r) => !r.warmup);
    step.broadcast = {
      rounds: measured.length,
      lost: sum(measured.map((r) => r.lost)),
      p50_ms: median(measured.map((r) => r.p50_ms)),
      p99_ms: median(measured.map((r) => r.p99_ms)),
      max_ms: median(measured.map((r) => r.max_ms)),
      worst_max_ms: Math.max(...measured.map((r) => r.max_ms)),
      server_cpu_s: median(measured.map((r) => r.server_cpu_s)),
      loadgen_cpu_s: median(measured.map((r) => r.loadgen_cpu_s)),
      node_sys_cpu_s: median(measured.map((r) => r.node_sys_cpu_s)),
    };

    // Done: the clients close, then the servers stop.
    for (const lg of lgs) lg.proc.stdin.end("quit\n");
    await allOf(lgs, "closing", (lg) => lg.proc.exitCode !== null || lg.proc.signalCode !== null, 60000).catch(() => {});
    step.dropped = sum(lgs.map((lg) => lg.final?.dropped ?? 0));
    step.duplicates = sum(lgs.map((lg) => lg.final?.duplicates ?? 0));
    step.late = sum(lgs.map((lg) => lg.final?.late ?? 0));
    // A load generator that did not end cleanly (time limit, a sanitizer report) fails the step too.
    step.loadgen_exit_codes = lgs.map((lg) => lg.proc.exitCode ?? lg.proc.signalCode);
    const lgErrors = lgs.filter((lg) => lg.proc.exitCode !== 0).map((lg) => lg.stderr.trim().slice(0, 300));
    if (lgErrors.length) step.error = `load generator exit ${step.loadgen_exit_codes.join(",")}: ${lgErrors.join(" | ")}`;
    step.first_errors = [...new Set(lgs.map((lg) => lg.final?.first_error).filter(Boolean))];
    step.ok = step.connect_failures === 0 && step.broadcast.lost === 0 && step.dropped === 0 && step.duplicates === 0 &&
      step.rounds.every((r) => r.lost === 0) && !lgErrors.length;
  } catch (e) {
    step.ok = false;
    step.error = String(e.message ?? e);
    log(`step failed: ${step.error}`);
  } finally {
    await Promise.all(lgs.map((lg) => stop(lg.proc, 3000)));
    for (const s of servers.reverse()) await stop(s.proc);
  }
  return step;
}

function ensureLoadgen() {
  if (a.loadgen) return resolve(a.loadgen);
  const built = join(root, "build/peercable-loadgen");
  if (existsSync(built)) return built;
  const dir = join(root, "build/bench-loadgen");
  log("building the load generator into build/bench-loadgen");
  for (const args of [["-S", join(root, "bench/loadgen"), "-B", dir, "-DCMAKE_BUILD_TYPE=Release"], ["--build", dir, "-j2", "--target", "peercable-loadgen"]]) {
    const r = spawnSync("cmake", args, { stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`cmake ${args.join(" ")} failed`);
  }
  return join(dir, "peercable-loadgen");
}

function table(steps) {
  const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "–");
  const rows = ["| connections | nodes | load generators | connect + subscribe | per second | failures | memory per connection | broadcast p50 | p99 | max | lost |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const s of steps) {
    const b = s.broadcast ?? {};
    rows.push(`| ${s.clients.toLocaleString("en-US")}${s.single ? " (one node, no Redis)" : ""} | ${s.nodes} | ${s.loadgens} | ${f(s.connect_s, 2)} s | ${f(s.connect_per_s, 0)} | ` +
      `${s.connect_failures ?? "–"} | ${f(s.bytes_per_conn / 1024, 2)} KiB | ${f(b.p50_ms)} ms | ${f(b.p99_ms)} ms | ${f(b.max_ms)} ms | ${b.lost ?? "–"} |`);
  }
  return rows.join("\n");
}

async function main() {
  if (!existsSync(peercable)) throw new Error(`${peercable} is missing: build it with scripts/build.sh release, or give --peercable`);
  const loadgen = ensureLoadgen();
  const plan = steps.map((n) => ({ n, single: false }));
  if (opt.single > 0) {
    const i = plan.findIndex((p) => p.n > opt.single);
    plan.splice(i < 0 ? plan.length : i, 0, { n: opt.single, single: true });
  }
  log(`steps: ${plan.map((p) => p.n + (p.single ? " (one node)" : "")).join(", ")}; ${cpus().length} cores, ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  const results = [];
  for (const p of plan) {
    results.push(await runStep(loadgen, p.n, p.single));
    if (!results.at(-1).ok && !results.at(-1).clients_ready) break;  // nothing connected: larger steps will not either
  }
  const commit = spawnSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim();
  const doc = {
    date: new Date().toISOString(), commit, cores: cpus().length, mem_gib: totalmem() / 2 ** 30,
    load_average_at_end: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    options: opt, command: `node bench/scale/run.mjs ${process.argv.slice(2).join(" ")}`.trim(), steps: results,
  };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(doc, null, 1) + "\n");
  log(`results: ${outFile}`);
  if (plotFile) {
    mkdirSync(dirname(plotFile), { recursive: true });
    const r = spawnSync("/usr/bin/python3", [join(root, "bench/scale/plot.py"), outFile, plotFile], { stdio: "inherit" });
    if (r.status !== 0) log("plot failed (python3-matplotlib missing?)");
    else log(`plot: ${plotFile}`);
  }
  console.log(table(results));
  const bad = results.filter((s) => !s.ok);
  const slow = results.filter((s) => s.broadcast && s.broadcast.p99_ms >= 1000);
  if (slow.length) log(`broadcast p99 at or over 1 s at: ${slow.map((s) => s.clients).join(", ")}`);
  if (bad.length) {
    log(`FAILED at: ${bad.map((s) => `${s.clients}${s.error ? ` (${s.error})` : ""}`).join("; ")}; server logs: ${logFile}`);
    return 1;
  }
  return 0;
}

main().then((code) => {
  process.exitCode = code;
  process.exit(code);
}, (e) => {
  console.error(`scale: ${e.message ?? e}`);
  process.exit(1);
});
