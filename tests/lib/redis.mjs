// A real redis-server on a free loopback port for the scale-out tests, peercable nodes on it, and a tiny RESP
// client to drive it (PUBLISH, PUBSUB, ACL, ...) without a Redis package.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { freePort, startPeercable, binary } from "./peercable.mjs";

/** Null when redis-server can run, else a sentence saying what is missing. */
export function redisMissing() {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (r.error) return `redis-server not found (${r.error.message}); apt-get install redis-server`;
  return null;
}

/** A test's `skip`: why the scale-out tests cannot run here (no peercable binary, no redis-server), or false. */
export function redisSkip() {
  if (!existsSync(binary)) return `peercable binary not found at ${binary}`;
  return redisMissing() ?? false;
}

/** Parses one RESP reply at `buf[pos]`; returns [value, next] or null when incomplete. Errors become Error. */
function parseReply(buf, pos = 0) {
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return null;
  const head = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[pos])) {
    case "+": return [head, next];
    case "-": return [new Error(head), next];
    case ":": return [Number(head), next];
    case "$": {
      const len = Number(head);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return null;
      return [buf.toString("utf8", next, next + len), next + len + 2];
    }
    case "*": {
      const n = Number(head);
      if (n < 0) return [null, next];
      const out = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default: throw new Error(`bad RESP reply: ${buf.toString("utf8", pos, pos + 40)}`);
  }
}

const encode = (args) =>
  `*${args.length}\r\n` + args.map((a) => { const s = String(a); return `$${Buffer.byteLength(s)}\r\n${s}\r\n`; }).join("");

/**
 * Runs commands on a fresh connection to 127.0.0.1:`port`, in order; resolves with their replies (an
 * error reply is returned as an Error, not thrown). Rejects on a connection failure or after `ms`.
 */
export function redisCommands(port, commands, ms = 3000) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const replies = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis on ${port}: no reply in ${ms} ms`)); }, ms);
    sock.on("error", (e) => { clearTimeout(timer); reject(e); });
    sock.on("connect", () => sock.write(commands.map(encode).join("")));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      while (replies.length < commands.length && (r = parseReply(buf))) {
        replies.push(r[0]);
        buf = buf.subarray(r[1]);
      }
      if (replies.length === commands.length) {
        clearTimeout(timer);
        sock.end();
        resolve(replies);
      }
    });
  });
}

/** One command; see redisCommands. */
export async function redisCommand(port, ...args) {
  const [reply] = await redisCommands(port, [args]);
  return reply;
}

/**
 * Starts redis-server on `port` (default: a free one), no persistence, extra `args` appended. Resolves once it
 * answers PING. Returns { port, url, proc, logs(), kill(), stop() }.
 */
export async function startRedis({ port, args = [] } = {}) {
  port = port ?? (await freePort());
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--daemonize", "no", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  const deadline = Date.now() + 5000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited early: ${out}`);
    try {
      // Any answer means it is up: PONG, or NOAUTH when it wants a password.
      await redisCommand(port, "PING");
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`redis-server on ${port} did not answer: ${e.message}\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const stopWith = async (signal) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  return {
    port, proc,
    url: `redis://127.0.0.1:${port}`,
    logs: () => out,
    kill: () => stopWith("SIGKILL"),
    stop: () => stopWith("SIGTERM"),
  };
}

/** `redis`'s URL, with database `db` when given. */
export const redisUrl = (redis, db) => (db === undefined ? redis.url : `${redis.url}/${db}`);

/**
 * Starts one peercable node on `redis` (database `db` when given) with `args`; `port` and `env` as
 * startPeercable takes them (the same port brings a stopped node back).
 */
export function startNode(redis, args = [], { db, port, env } = {}) {
  return startPeercable(["--redis-url", redisUrl(redis, db), ...args], { port, env });
}

/** Starts `n` nodes on `redis` at once (see startNode); `args` is a list, or a function of the node's index. */
export function startNodes(redis, n, args = [], options = {}) {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    startNode(redis, typeof args === "function" ? args(i) : args, options)));
}
