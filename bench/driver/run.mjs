// Runs the benchmark plan against every server, alternating, and writes the report.
// Invoked by bench/run (which installs and builds first); see bench/run --help.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, readFileSync, appendFileSync, existsSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import os from "node:os";
import { SERVERS, startServer } from "./servers.mjs";
import { makePlan } from "./plan.mjs";
import { writeReport } from "./report.mjs";

const { values: opt } = parseArgs({
  options: {
    root: { type: "string" },
    loadgen: { type: "string" },
    peercable: { type: "string" },
    smoke: { type: "boolean", default: false },
    servers: { type: "string" },
    reps: { type: "string" },
    only: { type: "string" },
    "peercable-threads": { type: "string", default: "1" },
    "fd-limit": { type: "string", default: "1024" },
    out: { type: "string" },
    docs: { type: "string" },
  },
});

const root = opt.root;
const smoke = opt.smoke;
const outDir = opt.out;
const logDir = join(outDir, "logs");
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const servers = (opt.servers ?? "peercable,peercable-2t,uws,ws,rails").split(",").filter(Boolean);
for (const s of servers) if (!SERVERS[s]) throw new Error(`unknown server '${s}' (known: ${Object.keys(SERVERS).join(", ")})`);
const reps = Number(opt.reps ?? (smoke ? 1 : 3));
let groups = makePlan({ smoke, servers, fdLimit: Number(opt["fd-limit"]), reps });
if (opt.only) {
  const want = opt.only.split(",");
  // A prefix, or with a trailing "$" the whole id ("fanout-2500$" leaves out fanout-2500-1kb).
  groups = groups.filter((g) => want.some((w) => (w.endsWith("$") ? g.id === w.slice(0, -1) : g.id.startsWith(w))));
}
const ctx = { root, peercable: opt.peercable, threads: Number(opt["peercable-threads"]), secret: "bench-secret-" + process.pid };
const total = groups.reduce((n, g) => n + g.reps * g.servers.length, 0);
const idWidth = Math.max(18, ...groups.map((g) => g.id.length));
const nameWidth = Math.max(12, ...groups.flatMap((g) => g.servers.map((s) => s.length)));
const results = [];
const startedAt = Date.now();

const fmt = (v, d = 0) => (typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d }) : "-");

/** Runs the load generator (progress to `logFile`); resolves to { code, result }. Killed if it outlives its limit. */
function runLoadgen(args, limitS, logFile) {
  return new Promise((resolve) => {
    const p = spawn(opt.loadgen, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => appendFileSync(logFile, d));
    const killer = setTimeout(() => p.kill("SIGKILL"), (limitS + 15) * 1000);
    p.on("close", (code, sig) => {
      clearTimeout(killer);
      let result = null;
      try {
        result = JSON.parse(out);
      } catch {}
      resolve({ code: code ?? sig, result });
    });
  });
}

/** What went wrong in one run, as short phrases; empty when the run is clean. */
function problemsOf(g, run) {
  const p = [];
  const r = run.result;
  if (run.error) return [run.error];
  if (run.serverExit !== null) p.push(`server exited during the run (${run.serverExit})`);
  if (!r) return [...p, `loadgen exit ${run.code}, no result`];
  if (run.code !== 0) p.push(`loadgen exit ${run.code}${r.completed === false ? " (time limit)" : ""}`);
  if (r.clients_ready < g.clients) p.push(`${r.clients_ready}/${g.clients} clients subscribed${r.first_error ? ` (${r.first_error})` : ""}`);
  if (r.lost > 0) p.push(`${r.lost} not delivered`);
  if (r.dropped > 0) p.push(`${r.dropped} connections dropped by the server`);
  // Rails runs channel actions on a worker pool, so it does not promise order; the others do.
  if (r.out_of_order > 0 && run.server !== "rails") p.push(`${r.out_of_order} out of order/duplicate`);
  if (r.protocol_errors > 0) p.push(`${r.protocol_errors} protocol errors`);
  if ((g.scenario === "fanout" || g.scenario === "sustained") && !(r.deliveries > 0)) p.push("no deliveries");
  if (g.scenario === "echo" && !(r.replies > 0)) p.push("no echo replies");
  if (g.scenario === "storm" && r.failures > 0) p.push(`${r.failures} connections failed`);
  if (g.deflate && !(r.deflate_agreed > 0)) p.push("permessage-deflate offered but not negotiated");
  // Extended-protocol clients: every subscription's history request answered, every broadcast positioned,
  // offsets one by one; plain clients must see none of it.
  if (r.protocol === "actioncable-v1-ext-json") {
    if (r.history_confirmed < r.clients_ready) p.push(`${r.history_confirmed}/${r.clients_ready} confirm_history`);
    if (r.history_rejected > 0) p.push(`${r.history_rejected} reject_history`);
    if (r.unpositioned_broadcasts > 0) p.push(`${r.unpositioned_broadcasts} broadcasts without stream position`);
    if (r.offset_gaps > 0) p.push(`${r.offset_gaps} offset gaps (${r.offsets_skipped} offsets skipped)`);
    if (r.offset_duplicates > 0) p.push(`${r.offset_duplicates} duplicate offsets`);
    if (r.epoch_changes > 0) p.push(`${r.epoch_changes} epoch changes`);
  } else if (r.positioned_messages > 0) {
    p.push(`${r.positioned_messages} stream positions sent to plain Action Cable clients`);
  }
  return p;
}

function headline(g, r) {
  if (!r) return "no result";
  switch (g.scenario) {
    case "fanout":
    case "sustained":
      return `${fmt(r.deliveries_per_s)} deliveries/s, p50 ${fmt(r.latency_p50_ms, 1)} ms, p99 ${fmt(r.latency_p99_ms, 1)} ms`;
    case "echo":
      return `${fmt(r.messages_per_s)} echoes/s, p99 ${fmt(r.latency_p99_ms, 1)} ms`;
    case "idle":
      return `${fmt(r.rss_per_conn_bytes)} B RSS/connection, ${fmt(r.held)} held`;
    case "storm":
      return `all subscribed in ${fmt(r.time_to_all_subscribed_ms)} ms, ${fmt(r.failures)} failed`;
  }
  return "";
}

/** Cores kept busy by anything on the machine over the next `ms` milliseconds (from /proc/stat). */
async function machineBusyCores(ms) {
  const sample = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    return { busy: f.reduce((a, b) => a + b, 0) - idle - (f[8] ?? 0) - (f[9] ?? 0) };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  return (b.busy - a.busy) / 100 / (ms / 1000); // USER_HZ is 100 on Linux
}

// A neighbour's compile or test run skews every figure; give it a chance to finish before each run,
// within a budget so that a machine that never quietens still gets measured (and the report says so).
let quietBudgetS = smoke ? 0 : 300;
async function waitForQuiet() {
  if (quietBudgetS <= 0) return;
  const t0 = Date.now();
  let busy = await machineBusyCores(500);
  let told = false;
  while (busy > 0.3 && quietBudgetS - (Date.now() - t0) / 1000 > 0 && Date.now() - t0 < 30000) {
    if (!told) console.log(`   waiting for the machine to quieten (${busy.toFixed(1)} cores busy elsewhere)`);
    told = true;
    busy = await machineBusyCores(1000);
  }
  quietBudgetS -= (Date.now() - t0) / 1000;
}

/** One server start, one load generator run, one server stop. */
async function runOnce(g, name, rep) {
  const tag = `${g.id}-${name}-${rep}`;
  const logFile = join(logDir, `${tag}.log`);
  writeFileSync(logFile, "");
  const run = { group: g.id, scenario: g.scenario, clients: g.clients, server: name, rep, code: null, result: null, serverExit: null };
  const t0 = Date.now();
  let srv = null;
  try {
    // A port found free can be taken before the server binds it (other tests share the machine).
    for (let attempt = 1; !srv; ++attempt) {
      try {
        srv = await startServer(name, { ...ctx, deflate: Boolean(g.deflate) }, join(logDir, `${tag}.server.log`));
      } catch (e) {
        if (attempt >= 3 || !/exited during start-up/.test(e.message)) throw e;
      }
    }
    // Several ports (nodes) take the clients in turn; every process serving them counts as the server.
    const clientArgs = SERVERS[name].clientArgs ?? [];
    const args = ["--port", srv.ports.join(","), "--path", srv.path, "--server-pid", srv.pids.join(","), "--json", "--quiet",
      "--scenario", g.scenario, ...g.args, ...clientArgs, "--time-limit", String(g.limit)];
    run.loadgenArgs = [...g.args, ...clientArgs];
    run.serverCommand = srv.shown;
    const { code, result } = await runLoadgen(args, g.limit, logFile);
    run.code = code;
    run.result = result;
    run.serverExit = srv.exited();
  } catch (e) {
    run.error = e.message;
  } finally {
    if (srv) await srv.stop();
  }
  run.problems = problemsOf(g, run);
  run.seconds = (Date.now() - t0) / 1000;
  return run;
}

// A run during which other processes kept more than half a core busy is repeated once, while this
// budget lasts; the report still counts the contended runs that remain.
let repeatsLeft = smoke ? 0 : 25;
let index = 0;
let interrupted = false;
process.on("SIGINT", () => { interrupted = true; });
for (const g of groups) {
  for (let rep = 1; rep <= g.reps && !interrupted; ++rep) {
    for (const name of g.servers) {
      if (interrupted) break;
      ++index;
      await waitForQuiet();
      let run = await runOnce(g, name, rep);
      const contended = (r) => r.result?.others_phase_cpu_util > 0.5;
      // Memory per connection does not depend on who else uses the CPU.
      if (contended(run) && g.scenario !== "idle" && !run.problems.length && repeatsLeft > 0) {
        --repeatsLeft;
        console.log(`   ${g.id} ${name} rep ${rep}: others kept ${run.result.others_phase_cpu_util.toFixed(1)} cores busy; repeating`);
        await waitForQuiet();
        run = await runOnce(g, name, rep);
      }
      results.push(run);
      const busy = contended(run) ? `  (others kept ${run.result.others_phase_cpu_util.toFixed(1)} cores busy)` : "";
      const status = run.problems.length ? `  !! ${run.problems.join("; ")}` : busy;
      console.log(`[${String(index).padStart(String(total).length)}/${total}] ${g.id.padEnd(idWidth)} ${name.padEnd(nameWidth)} rep ${rep}: ` +
        `${headline(g, run.result)} (${run.seconds.toFixed(1)} s)${status}`);
    }
  }
}

const machine = describeMachine();
const summary = { smoke, interrupted, startedAt: new Date(startedAt).toISOString(), seconds: (Date.now() - startedAt) / 1000, machine, groups, servers, results };
const resultsFile = join(outDir, smoke ? "smoke-results.json" : "results.json");
writeFileSync(resultsFile, JSON.stringify(summary, null, 1));
console.log(`raw results: ${relative(process.cwd(), resultsFile)}`);

const failed = results.filter((r) => r.problems.length);
if (opt.docs) {
  const md = writeReport({ summary, docsDir: opt.docs, root, resultsFile });
  console.log(`report: ${relative(process.cwd(), md)}`);
}
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length && smoke ? 1 : 0);

function describeMachine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20000 }).trim();
    } catch {
      return "?";
    }
  };
  const pkgVersion = (name) => {
    try {
      return JSON.parse(readFileSync(join(root, "bench/node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return "?";
    }
  };
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: (cpuinfo.match(/model name\s*:\s*(.*)/) || [, os.cpus()[0]?.model ?? "?"])[1],
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    fdLimit: Number(opt["fd-limit"]),
    gxx: sh("g++", ["-dumpfullversion"]),
    node: process.version,
    ruby: sh("ruby", ["-e", 'require "action_cable"; print RUBY_VERSION, " / actioncable ", ActionCable.version']),
    puma: sh("puma", ["--version"]),
    uws: pkgVersion("uWebSockets.js"),
    ws: pkgVersion("ws"),
    peercableThreads: ctx.threads,
    somaxconn: sh("cat", ["/proc/sys/net/core/somaxconn"]),
    commit: sh("git", ["-C", root, "rev-parse", "--short", "HEAD"]),
  };
}
