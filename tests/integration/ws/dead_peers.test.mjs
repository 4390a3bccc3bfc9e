// Dead peers: a frozen client process (SIGSTOP: its kernel still acknowledges TCP, so only WebSocket pings
// can tell) leaves its room within the ping interval plus the pong timeout; healthy idle clients, which
// answer pings by themselves, stay connected.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { startPeercable, signToken, binary, repoRoot } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

const kPing = 2, kPong = 2;
let server;
before(async () => {
  server = await startPeercable(["--ws-ping-interval", String(kPing), "--ws-pong-timeout", String(kPong)]);
});
after(async () => { await server.stop(); });

const room = (r) => JSON.stringify({ channel: "P2PChannel", room: r });

async function member(sub, r) {
  const c = openInboxClient(`${server.wsUrl}?token=${signToken({ sub, name: sub })}`, ["actioncable-v1-json"], {}, { name: sub, timeoutMs: 15000 });
  await c.opened;
  await c.take((m) => m.type === "welcome");
  c.send({ command: "subscribe", identifier: room(r) });
  await c.take((m) => m.identifier === room(r) && m.type === "confirm_subscription");
  return c;
}

/** True when a room message says `id` left (a presence diff listing it as gone). */
const leftRoom = (id) => (m) => m.message?.type === "presence_diff" && (m.message.left ?? []).some((u) => u.id === id);

test("a client frozen with SIGSTOP leaves presence within ping interval + pong timeout", async (t) => {
  // The child joins the room with the same `ws` client as the tests, then says so and sits idle.
  const child = spawn(process.execPath, ["-e", `
    const WebSocket = require("ws");
    const ws = new WebSocket(${JSON.stringify(`${server.wsUrl}?token=${signToken({ sub: "frozen", name: "Frozen" })}`)}, ["actioncable-v1-json"]);
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier: ${JSON.stringify(room("freeze"))} }));
      if (m.type === "confirm_subscription") console.log("joined");
    });
  `], { cwd: `${repoRoot}/tests`, stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => { try { child.kill("SIGCONT"); child.kill("SIGKILL"); } catch {} });
  const watcher = await member("watcher", "freeze");
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => { if (String(d).includes("joined")) resolve(); });
    child.once("exit", (c) => reject(new Error(`child exited ${c}`)));
  });
  await watcher.take((m) => m.message?.type === "presence_diff" && (m.message.joined ?? []).some((u) => u.id === "frozen"));
  const stoppedAt = Date.now();
  child.kill("SIGSTOP");
  // Its connection had input (the subscribe) just before: a ping after kPing s of silence, a close kPong s later,
  // each on a 1 s tick. Allow a few seconds of slack on a loaded machine (the ASan binary).
  await watcher.take(leftRoom("frozen"), (kPing + kPong + 6) * 1000);
  const took = (Date.now() - stoppedAt) / 1000;
  assert.ok(took >= kPing, `left after ${took} s: too early for a ping deadline`);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /peercable_ping_timeouts_total [1-9]/);
  watcher.ws.close();
});

test("healthy idle clients answer pings and stay connected past several intervals", async () => {
  const before = Number(/peercable_ping_timeouts_total (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())[1]);
  const a = await member("idle-a", "idle");
  const b = await member("idle-b", "idle");
  let pings = 0;
  a.ws.on("ping", () => pings++);
  // Four ping intervals of silence from the clients (the server's Action Cable pings are not input).
  await new Promise((r) => setTimeout(r, (kPing + kPong) * 2 * 1000));
  assert.ok(pings >= 2, `the idle client was pinged (${pings} pings)`);
  assert.equal(a.ws.readyState, a.ws.OPEN);
  assert.equal(b.ws.readyState, b.ws.OPEN);
  // And still in the room: a message goes through.
  a.send({ command: "message", identifier: room("idle"), data: JSON.stringify({ action: "speak", body: "still here" }) });
  await b.take((m) => m.message?.type === "message" && m.message.body === "still here");
  const after = Number(/peercable_ping_timeouts_total (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())[1]);
  assert.equal(after, before, "no healthy client timed out");
  a.ws.close(); b.ws.close();
});

test("the default ping interval and pong timeout bound a frozen peer's presence under 45 s", () => {
  const help = execFileSync(binary, ["--help"]).toString();
  const def = (name) => Number(new RegExp(`--${name} [^\\n]*=(\\d+)`).exec(help)[1]);
  const interval = def("ws-ping-interval"), timeout = def("ws-pong-timeout");
  assert.ok(interval > 0, "pings are on by default");
  // Silence starts at the last input; the ping and the close each wait for the next 1 s tick.
  assert.ok(interval + timeout + 2 < 45, `${interval} + ${timeout} + 2 s of ticks must be under 45 s`);
  assert.ok(def("tcp-keepalive") > 0 && def("tcp-user-timeout") > 0, "keepalive and user timeout on by default");
});
