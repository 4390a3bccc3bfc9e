// A locked SQLite file stalls only the store worker: a bystander keeps exchanging messages on the same loop
// while another process holds the database with BEGIN EXCLUSIVE. History writes over --store-queue are
// dropped and counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { startPeercable } from "../../lib/peercable.mjs";
import { bystanderDuringStall, stallClient } from "./stall.mjs";

// Holds an exclusive write lock on `db` until its stdin closes; resolves once the lock is taken.
function lockDatabase(db) {
  const py = "import sqlite3, sys\n" +
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n" +
    "c.execute('BEGIN EXCLUSIVE')\n" +
    "print('locked', flush=True)\n" +
    "sys.stdin.read()\n" +
    "c.execute('ROLLBACK')\n";
  const proc = spawn("python3", ["-c", py, db], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  const locked = new Promise((resolve, reject) => {
    proc.stdout.on("data", (d) => String(d).includes("locked") && resolve());
    proc.on("exit", (code) => reject(new Error(`locker exited with ${code}`)));
  });
  return { locked, release: async () => { proc.stdin.end(); await exited; } };
}

test("a database locked by another process stalls neither the loop nor a bystander in another room", { timeout: 90000 }, async () => {
  const s = await startPeercable(["--threads", "1", "--history", "sqlite", "--store-queue", "5"]);
  try {
    let lock;
    await bystanderDuringStall(s, {
      stall: async () => { lock = lockDatabase(join(s.dataDir, "history.sqlite3")); await lock.locked; },
      release: async () => {
        // While stalled, history writes beyond the queue's bound are dropped, and counted.
        const c = await stallClient(s, "flooder");
        c.subscribe("flood");
        await c.take((m) => m.type === "confirm_subscription");
        for (let i = 0; i < 20; i++) c.speak("flood", `f${i}`);
        await c.take(c.msg("flood", "message", (m) => m.body === "f19"));
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        assert.match(metrics, /peercable_store_dropped_total [1-9]/);
        c.ws.close();
        await lock.release();
      },
    });
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
