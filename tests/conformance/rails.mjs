// Starts the reference Rails Action Cable app (tests/conformance/rails_app) under Debian's puma on a free
// loopback port, with the same JWT secret the peercable test helper uses.
import { spawn, spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, testSecret, waitHealthy } from "../lib/peercable.mjs";

export const railsAppDir = join(dirname(fileURLToPath(import.meta.url)), "rails_app");

/** Returns null when puma and Action Cable can be loaded, else a sentence saying what is missing. */
export function railsMissing() {
  const r = spawnSync("ruby", ["-e", 'require "action_cable"; require "puma"; print ActionCable::VERSION::STRING'], { encoding: "utf8" });
  if (r.error) return `ruby not found (${r.error.message})`;
  if (r.status !== 0) return `Action Cable or puma not loadable: ${r.stderr.trim().split("\n")[0]} (apt-get install ruby-actioncable puma)`;
  return null;
}

/** Starts puma with the reference app; resolves to { port, proc, logs(), stop(signal) }. */
export async function startRails({ port, env = {} } = {}) {
  port = port ?? (await freePort());
  const proc = spawn("puma", ["-b", `tcp://127.0.0.1:${port}`, "-t", "5:5", "-e", "production", "config.ru"], {
    cwd: railsAppDir,
    env: { ...process.env, PEERCABLE_JWT_SECRET: testSecret, RAILS_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  try {
    await Promise.race([
      waitHealthy(port, 30000),
      exited.then((c) => { throw new Error(`puma exited early (${c}): ${out}`); }),
    ]);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  return {
    name: "rails",
    port,
    proc,
    logs: () => out,
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
