// Starts the real build/peercable binary on a free loopback port and stops it; shared by every Node test.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHmac } from "node:crypto";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const binary = process.env.PEERCABLE_BIN || join(repoRoot, "build", "peercable");
export const testSecret = "peercable-test-secret-0123456789abcdef";

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

/** Signs an HS256 JWT with `secret` over `claims` (exp defaults to one hour from now). */
export function signToken(claims, secret = testSecret) {
  const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
  const body = { exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(body);
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

/** Waits until GET /health answers 200 on `port`, or rejects after `ms`. */
export async function waitHealthy(port, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`peercable on port ${port} did not become healthy in ${ms} ms`);
}

/**
 * Starts peercable with `args` added to a test configuration (free port, test JWT secret, fresh data dir).
 * Returns { port, url, wsUrl, proc, logs(), waitForLog(re, ms), stop(signal) }; stop() resolves with the exit code.
 */
export async function startPeercable(args = [], { port, env = {} } = {}) {
  port = port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "peercable-test-"));
  // PEERCABLE_THREADS (CI's ThreadSanitizer step) sets the event loops of every server whose test does not.
  const threads = process.env.PEERCABLE_THREADS && !args.includes("--threads") ? ["--threads", process.env.PEERCABLE_THREADS] : [];
  const full = ["--host", "127.0.0.1", "--port", String(port), "--jwt-secret", testSecret,
    "--data-dir", dataDir, "--log-level", "warn", "--drain-window", "0", ...threads, ...args];
  const proc = spawn(binary, full, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  try {
    await Promise.race([
      waitHealthy(port),
      exited.then((c) => { throw new Error(`peercable exited early (${c}): ${out}`); }),
    ]);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  return {
    port, dataDir, proc,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/cable`,
    logs: () => out,
    /** Resolves once the output matches `re`: a reply can reach a client before its log line reaches us. */
    async waitForLog(re, ms = 5000) {
      const until = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`no log line matching ${re} in ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
