// How each benchmarked server is started, reached and stopped. Every server gets a fresh process on a
// free loopback port for every run, so no run inherits another's memory or connections.
import { spawn } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { createHmac } from "node:crypto";
import { mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * The servers, by name. Each entry: describe(ctx) -> { cmd, args, cwd, path } where `path` is the
 * request path (with query) the load generator uses; ctx = { root, port, peercable, threads, secret }.
 */
export const SERVERS = {
  peercable: {
    label: "peercable",
    describe: (ctx) => {
      const token = signToken({ sub: "bench", name: "bench" }, ctx.secret);
      return {
        cmd: ctx.peercable,
        args: ["--host", "127.0.0.1", "--port", String(ctx.port), "--threads", String(ctx.threads),
          "--jwt-secret", ctx.secret, "--data-dir", ctx.dataDir, "--log-level", "warn"],
        cwd: ctx.root,
        path: `/cable?token=${token}`,
        shown: `build/peercable --host 127.0.0.1 --port $PORT --threads ${ctx.threads} --jwt-secret $SECRET --data-dir $TMP --log-level warn`,
      };
    },
  },
  "peercable-2t": {
    label: "peercable (2 threads)",
    describe: (ctx) => SERVERS.peercable.describe({ ...ctx, threads: 2 }),
  },
  uws: {
    label: "uWebSockets.js",
    describe: (ctx) => ({
      cmd: process.execPath,
      args: [join(ctx.root, "bench/peers/uws/server.mjs"), "--port", String(ctx.port)],
      cwd: join(ctx.root, "bench"),
      path: "/cable",
      shown: "node bench/peers/uws/server.mjs --port $PORT",
    }),
  },
  ws: {
    label: "Node ws",
    describe: (ctx) => ({
      cmd: process.execPath,
      args: [join(ctx.root, "bench/peers/ws/server.mjs"), "--port", String(ctx.port)],
      cwd: join(ctx.root, "bench"),
      path: "/cable",
      shown: "node bench/peers/ws/server.mjs --port $PORT",
    }),
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
 * Starts server `name` on a free port with its output in `logFile`; resolves to
 * { port, pid, path, shown, stop() } once it accepts TCP connections, or rejects.
 */
export async function startServer(name, ctx, logFile, timeoutMs = 30000) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "peercable-bench-"));
  const d = SERVERS[name].describe({ ...ctx, port, dataDir });
  const log = openSync(logFile, "a");
  const proc = spawn(d.cmd, d.args, { cwd: d.cwd, stdio: ["ignore", log, log] });
  closeSync(log);
  let exited = null;
  const exitPromise = new Promise((resolve) => proc.on("exit", (code, sig) => { exited = code ?? sig; resolve(exited); }));
  proc.on("error", (e) => { exited = e.message; });

  const stop = async () => {
    if (exited === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await stop();
      throw new Error(`${name} exited during start-up (${exited}); see ${logFile}`);
    }
    if (await canConnect(port)) return { port, pid: proc.pid, path: d.path, shown: d.shown, stop, exited: () => exited };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${name} did not listen on port ${port} within ${timeoutMs} ms; see ${logFile}`);
}
