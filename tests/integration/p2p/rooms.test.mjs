// Rooms are forgotten: 100,000 rooms made in two waves; once they are empty for --room-ttl, the live-room
// gauge and the SQLite rows return to zero and memory stays bounded (the second wave reuses the first's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { startPeercable } from "../../lib/peercable.mjs";
import { manyRoomsArgs, createRooms, leaveRooms, metric, rssKb, until } from "./rooms.mjs";

function sqliteRows(db) {
  const r = spawnSync("python3", ["-c",
    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from messages').fetchone()[0])", db],
  { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test("100,000 rooms expire from memory and SQLite once empty and idle (one in ten with a message)", { timeout: 900000 }, async () => {
  const s = await startPeercable([...manyRoomsArgs, "--history", "sqlite", "--threads", "2"]);
  const db = join(s.dataDir, "history.sqlite3");
  try {
    const report = [];
    let firstPeak = 0;
    for (const wave of [0, 1]) {
      const makers = await createRooms(s, { prefix: `wave${wave}`, count: 50000 });
      const peak = rssKb(s.proc.pid);
      await until(async () => (await metric(s, "peercable_store_queue")) === 0, "the store to catch up");
      const rows = sqliteRows(db);
      const size = statSync(db).size;
      assert.equal(await metric(s, "peercable_rooms"), 50000);
      assert.ok(rows >= 4900, `the rooms' messages were stored: ${rows} rows`);
      await leaveRooms(makers);
      await until(async () => (await metric(s, "peercable_rooms")) === 0, "every room to expire");
      await until(() => sqliteRows(db) === 0, "every row to be deleted");
      const after = rssKb(s.proc.pid);
      report.push({ wave, peakRssKb: peak, rowsAtPeak: rows, dbBytesAtPeak: size, rssAfterKb: after, rowsAfter: 0 });
      if (wave === 0) firstPeak = peak;
      // Bounded: the second 50,000 rooms reuse what the first freed instead of adding to it.
      else assert.ok(peak < firstPeak * 1.25 + 20000, `RSS grew from ${firstPeak} kB to ${peak} kB over a second wave`);
    }
    console.log(JSON.stringify(report));
  } finally {
    assert.equal(await s.stop(), 0);
  }
});
