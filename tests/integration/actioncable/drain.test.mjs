// A deploy's SIGTERM against the real binary: /health answers 503 "draining", new WebSockets are refused with
// 503, every client is told to reconnect (server_restart, then close 1001) at a random moment of the drain
// window rather than all at once, and the process exits 0 within the window plus a bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startPeercable, signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

const WINDOW_S = 3;
const CLIENTS = 60;
const RESTART = { type: "disconnect", reason: "server_restart", reconnect: true };
const bench = JSON.stringify({ channel: "BenchmarkChannel" });

test("SIGTERM drains: 503 health, upgrades refused, reconnects spread over the window, exit 0", { timeout: 60000 }, async () => {
  const server = await startPeercable(["--drain-window", String(WINDOW_S), "--threads", "2"]);
  const url = `${server.wsUrl}?token=${encodeURIComponent(signToken({ sub: "drain", name: "D" }))}`;
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = openInboxClient(url);
    c.restartAt = c.closed.then((code) => ({ code, at: Date.now() }));
    c.listeners.add((m) => { if (m.type === "disconnect") c.toldAt = Date.now(); });
    clients.push(c);
  }
  for (const c of clients) {
    await c.opened;
    c.send({ command: "subscribe", identifier: bench });
    await c.take((m) => m.identifier === bench && m.type === "confirm_subscription");
  }

  const t0 = Date.now();
  const exited = server.stop("SIGTERM");
  // /health says draining with 503 while clients are still being moved.
  let health;
  for (let i = 0; i < 40; i++) {
    const r = await fetch(`${server.url}/health`);
    if (r.status === 503) { health = await r.json(); break; }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(health?.status, "draining");
  // A new WebSocket is refused meanwhile.
  const late = openInboxClient(url);
  await assert.rejects(late.opened, /upgrade refused: 503/);

  const ends = await Promise.all(clients.map((c) => c.restartAt));
  const code = await exited;
  const took = (Date.now() - t0) / 1000;
  assert.equal(code, 0, server.logs());
  assert.ok(took < WINDOW_S + 3, `exited ${took.toFixed(1)} s after SIGTERM (window ${WINDOW_S} s)`);
  for (const c of clients) {
    assert.deepEqual(c.inbox.filter((m) => m.type === "disconnect"), [RESTART]);
  }
  assert.deepEqual([...new Set(ends.map((e) => e.code))], [1001]);
  // Spread: the moments clients were told fill the window instead of one burst.
  const told = clients.map((c) => (c.toldAt - t0) / 1000).sort((a, b) => a - b);
  const spread = told[told.length - 1] - told[0];
  const buckets = new Set(told.map((s) => Math.floor(s / 0.5)));
  assert.ok(spread > WINDOW_S / 2, `told over ${spread.toFixed(2)} s: ${told.map((s) => s.toFixed(2)).join(" ")}`);
  assert.ok(buckets.size >= WINDOW_S, `told in ${buckets.size} half-second slots only`);
  assert.ok(told[told.length - 1] <= WINDOW_S + 0.5, `the last was told ${told[told.length - 1].toFixed(2)} s after SIGTERM`);
});
