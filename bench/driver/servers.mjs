// How each benchmarked server is started, reached and stopped. Every server gets a fresh process on a
// free loopback port for every run, so no run inherits another's memory or connections. A composite
// entry (two peercable nodes and their Redis) starts all of its processes afresh in the same way.
import { spawn } from "node:child_process";
import { get as httpGet } from "node:http";
import { createConnection, createServer } from "node:net";
import { createHmac } from "node:crypto";
import { mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LIMITS_OFF = ["--max-connections-per-ip", "0", "--max-new-connections-per-ip", "0",
  "--max-commands-per-second", "0"];

/** Resolves to a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** An HS256 JWT over `claims`, valid for a day. */
export function signToken(claims, secret) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = { exp: Math.floor(Date.now() / 1000) + 86400, ...claims };
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(body);
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** Resolves to true once a Redis server on `port` answers PING, false after `timeoutMs`. */
async function redisAnswers(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pong = await new Promise((resolve) => {
      const s = createConnection({ host: "127.0.0.1", port });
      let got = "";
      const done = (v) => { s.destroy(); resolve(v); };
      s.setTimeout(1000, () => done(false));
      s.once("connect", () => s.write("PING\r\n"));
      s.on("data", (d) => { got += d; if (got.includes("\r\n")) done(got.startsWith("+PONG")); });
      s.once("error", () => done(false));
    });
    if (pong) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** peercable's /health on `port` as an object, or null. */
function health(port) {
  return new Promise((resolve) => {
    const req = httpGet({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(null);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

/** The peers negotiate permessage-deflate only when told to (peercable does by default, as browsers expect). */
const deflateArg = (ctx) => (ctx.deflate ? ["--deflate"] : []);

/**
 * The servers, by name. Each entry: describe(ctx) -> { cmd, args, cwd, path } where `path` is the
 * request path (with query) the load generator uses; ctx = { root, port, peercable, threads, secret, deflate }
 * (plus `redisUrl` for a peercable node that scales out). A `composite` entry has start(ctx, logFile)
 * instead, which brings up several processes; it is reported on its own (see report.mjs).
 */
export const SERVERS = {
  peercable: {
    label: "peercable",
    // The load generator opens thousands of connections from a few loopback addresses and one sender
    // broadcasts far above a chat user's pace: the per-address and per-connection limits are turned off,
    // as the peers have none.
    describe: (ctx) => {
      const token = signToken({ sub: "bench", name: "bench" }, ctx.secret);
      const redis = ctx.redisUrl ? ["--redis-url", ctx.redisUrl] : [];
      const port = ctx.shownPort ?? "$PORT";
      return {
        cmd: ctx.peercable,
        args: ["--host", "127.0.0.1", "--port", String(ctx.port), "--threads", String(ctx.threads),
          "--jwt-secret", ctx.secret, "--data-dir", ctx.dataDir, "--log-level", "warn", ...LIMITS_OFF, ...redis],
        cwd: ctx.root,
        path: `/cable?token=${token}`,
        shown: `build/peercable --host 127.0.0.1 --port ${port} --threads ${ctx.threads} --jwt-secret $SECRET --data-dir $TMP --log-level warn ${LIMITS_OFF.join(" ")}` +
          (ctx.redisUrl ? " --redis-url redis://127.0.0.1:$REDIS_PORT/0" : ""),
      };
    },
  },
  // Two event loops: what `--threads` defaults to (one loop per core) on the 2-core machine the report
  // is made on, so users' default next to the single loop the peers have.
  "peercable-2t": {
    label: "peercable, 2 loops",
    describe: (ctx) => SERVERS.peercable.describe({ ...ctx, threads: 2 }),
  },
  // Variants of the entries above, run in the same groups as their base (`variantOf`) and reported next to
  // it in a section of their own: clients speaking the extended protocol (`clientArgs` go to the load
  // generator), and a baseline with no stream history at all. The server's defaults keep stream history
  // (100 broadcasts per stream, in memory), so `peercable` and `peercable-2t` run with it on.
  "peercable-ext": {
    label: "peercable, 1 loop, ext clients",
    variantOf: "peercable",
    clientArgs: ["--protocol", "ext"],
    describe: (ctx) => SERVERS.peercable.describe(ctx),
  },
  "peercable-2t-ext": {
    label: "peercable, 2 loops, ext clients",
    variantOf: "peercable-2t",
    clientArgs: ["--protocol", "ext"],
    describe: (ctx) => SERVERS["peercable-2t"].describe(ctx),
  },
  "peercable-nohist": {
    label: "peercable, 1 loop, no stream history",
    variantOf: "peercable",
    describe: (ctx) => {
      const d = SERVERS.peercable.describe(ctx);
      const off = ["--stream-history-limit", "0"];
      return { ...d, args: [...d.args, ...off], shown: `${d.shown} ${off.join(" ")}` };
    },
  },
  uws: {
    label: "uWebSockets.js",
    describe: (ctx) => ({
      cmd: process.execPath,
      args: [join(ctx.root, "bench/peers/uws/server.mjs"), "--port", String(ctx.port), ...deflateArg(ctx)],
      cwd: join(ctx.root, "bench"),
      path: "/cable",
      shown: `node bench/peers/uws/server.mjs --port $PORT ${deflateArg(ctx).join(" ")}`.trim(),
    }),
  },
  ws: {
    label: "Node ws",
    describe: (ctx) => ({
      cmd: process.execPath,
      args: [join(ctx.root, "bench/peers/ws/server.mjs"), "--port", String(ctx.port), ...deflateArg(ctx)],
      cwd: join(ctx.root, "bench"),
      path: "/cable",
      shown: `node bench/peers/ws/server.mjs --port $PORT ${deflateArg(ctx).join(" ")}`.trim(),
    }),
  },
  // Two peercable nodes sharing their broadcasts through a Redis of their own; clients are spread over
  // both (the load generator's --port list), the broadcasting client on the first.
  "peercable-redis": {
    label: "peercable, 2 nodes via Redis",
    composite: true,
    start: startRedisPair,
  },
  rails: {
    label: "Rails 6.1 Action Cable",
    describe: (ctx) => ({
      cmd: "puma",
      args: ["-b", `tcp://127.0.0.1:${ctx.port}`, "-t", "5:5", "--environment", "production", "config.ru"],
      cwd: join(ctx.root, "bench/peers/rails"),
      path: "/cable?token=bench",
      shown: "(cd bench/peers/rails && puma -b tcp://127.0.0.1:$PORT -t 5:5 --environment production config.ru)",
    }),
  },
};

/**
 * Starts the process `d` ({ cmd, args, cwd }) with its output in `logFile`; resolves to
 * { pid, stop(), exited() } once `ready()` holds, or rejects (after stopping it). `cleanup` runs after it stops.
 */
async function startProcess(what, d, logFile, ready, timeoutMs, cleanup = () => {}) {
  const log = openSync(logFile, "a");
  const proc = spawn(d.cmd, d.args, { cwd: d.cwd, stdio: ["ignore", log, log] });
  closeSync(log);
  let exited = null;
  const exitPromise = new Promise((resolve) => proc.on("exit", (code, sig) => { exited = code ?? sig; resolve(exited); }));
  proc.on("error", (e) => { exited = e.message; });

  let stopped = false;
  const stop = async () => {
    if (exited === null && proc.pid !== undefined) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (!stopped) cleanup();
    stopped = true;
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await stop();
      throw new Error(`${what} exited during start-up (${exited}); see ${logFile}`);
    }
    if (await ready()) return { pid: proc.pid, stop, exited: () => exited };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${what} was not ready within ${timeoutMs} ms; see ${logFile}`);
}

/** One peercable or peer process on a free port: { port, pid, path, shown, stop(), exited() }. */
async function startSingle(name, ctx, logFile, timeoutMs) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "peercable-bench-"));
  const d = SERVERS[name].describe({ ...ctx, port, dataDir });
  const p = await startProcess(name, d, logFile, () => canConnect(port), timeoutMs,
    () => rmSync(dataDir, { recursive: true, force: true }));
  return { port, ports: [port], pid: p.pid, pids: [p.pid], path: d.path, shown: d.shown, stop: p.stop, exited: p.exited };
}

/**
 * redis-server on a free loopback port (nothing saved), then two peercable nodes using it; ready once both
 * nodes report their broker connected. Stops whatever it started if any part fails.
 */
async function startRedisPair(ctx, logFile, timeoutMs) {
  const started = [];
  const stopAll = async () => {
    for (const p of [...started].reverse()) await p.stop();
  };
  try {
    const redisPort = await freePort();
    const redisDir = mkdtempSync(join(tmpdir(), "peercable-bench-redis-"));
    const redis = await startProcess("redis-server", {
      cmd: "redis-server",
      args: ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", redisDir, "--daemonize", "no", "--loglevel", "warning"],
      cwd: redisDir,
    }, logFile, () => redisAnswers(redisPort, 1000), timeoutMs, () => rmSync(redisDir, { recursive: true, force: true }));
    started.push(redis);
    const redisUrl = `redis://127.0.0.1:${redisPort}/0`;
    const nodes = [];
    for (const n of [1, 2]) {
      const node = await startSingle("peercable", { ...ctx, redisUrl, shownPort: `$PORT${n}` }, logFile, timeoutMs);
      started.push(node);
      nodes.push(node);
    }
    // A node takes clients before it reaches Redis; wait for both to be connected so that no subscription
    // is confirmed locally only.
    const deadline = Date.now() + timeoutMs;
    for (const node of nodes) {
      while ((await health(node.port))?.broker !== "connected") {
        if (node.exited() !== null || redis.exited() !== null) throw new Error(`peercable-redis exited during start-up; see ${logFile}`);
        if (Date.now() > deadline) throw new Error(`peercable-redis: a node did not connect to Redis within ${timeoutMs} ms; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return {
      port: nodes[0].port,
      ports: nodes.map((n) => n.port),
      pid: nodes[0].pid,
      pids: [...nodes.map((n) => n.pid), redis.pid],
      path: nodes[0].path,
      shown: ["redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no", ...nodes.map((n) => n.shown)].join("\n"),
      stop: stopAll,
      exited: () => nodes.map((n) => n.exited()).concat(redis.exited()).find((e) => e !== null) ?? null,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * Starts server `name` on free ports with its output in `logFile`; resolves to
 * { port, ports, pid, pids, path, shown, stop(), exited() } once it accepts connections, or rejects.
 * `ports` are all the ports clients may use (the first one is `port`); `pids` every process serving them.
 */
export async function startServer(name, ctx, logFile, timeoutMs = 30000) {
  const s = SERVERS[name];
  return s.composite ? s.start(ctx, logFile, timeoutMs) : startSingle(name, ctx, logFile, timeoutMs);
}
