// The unmodified @rails/actioncable consumer (npm) under Node, against the real peercable binary: guest
// sign-in, subscribe, speak, direct and signal between users, rejections, and automatic reconnect and
// resubscribe after the server restarts on the same port.
//
// Run: node --test tests/integration/actioncable/   (PEERCABLE_BIN overrides the binary)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import WebSocket from "ws";
import { startPeercable, signToken, binary } from "../../lib/peercable.mjs";
import { fenceTag, assertNothingBefore } from "../../lib/drain.mjs";

// The browser globals the client expects (see docs: it captures WebSocket when the module is evaluated,
// and ConnectionMonitor listens for visibilitychange on the global object).
const sockets = [];
class TrackedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    sockets.push(this);
    this.received = []; // raw text frames, for assertions on what the server sent
    this.on("message", (data, binary) => binary || this.received.push(data.toString()));
  }
}
globalThis.WebSocket = TrackedWebSocket;
globalThis.addEventListener ??= () => {};
globalThis.removeEventListener ??= () => {};
const ActionCable = await import("@rails/actioncable");

const WAIT_MS = 8000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server = null;
const consumers = [];
const skip = existsSync(binary) ? false : `peercable binary not found at ${binary}`;

before(async () => {
  if (!skip) server = await startPeercable([]);
});

after(async () => {
  for (const c of consumers) c.disconnect();
  await server?.stop();
});

/** Signs in as a guest through POST /session; resolves to { token, user }. */
async function signIn(name) {
  const r = await fetch(`${server.url}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name }),
  });
  assert.equal(r.status, 200, `POST /session answered ${r.status}`);
  return r.json();
}

function consumerFor(token) {
  const c = ActionCable.createConsumer(token === undefined ? server.wsUrl : `${server.wsUrl}?token=${encodeURIComponent(token)}`);
  consumers.push(c);
  return c;
}

/**
 * Subscribes with callbacks that record every event; returns { sub, events, next(pred, ms), quiet(pred, what, from) }.
 * Events: {kind:"connected", reconnected}, {kind:"rejected"}, {kind:"disconnected", willAttemptReconnect},
 * {kind:"received", data}.
 */
function subscribe(consumer, params) {
  const events = [];
  const waiters = new Set();
  const push = (e) => {
    events.push(e);
    for (const w of waiters) w();
  };
  const sub = consumer.subscriptions.create(params, {
    connected: (info) => push({ kind: "connected", reconnected: info?.reconnected ?? false }),
    rejected: () => push({ kind: "rejected" }),
    disconnected: (info) => push({ kind: "disconnected", willAttemptReconnect: info?.willAttemptReconnect }),
    received: (data) => push({ kind: "received", data }),
  });
  let cursor = 0;
  /** Resolves with the first event after the cursor that matches `pred` (moving the cursor past it). */
  const next = (pred, ms = WAIT_MS, what = "an event") =>
    new Promise((resolve, reject) => {
      const check = () => {
        for (let i = cursor; i < events.length; i++) {
          if (pred(events[i])) {
            cursor = i + 1;
            done();
            resolve(events[i]);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(events)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  /**
   * Fails if an event matching `pred` sits after the cursor. The drain: `from` (a subscription in the same room,
   * the one whose action is under test) speaks a sentinel after that action, and this subscription waits for
   * it; whatever the action sent here came before it. The cursor stays where it was.
   */
  const quiet = async (pred, what, from) => {
    const start = cursor;
    const tag = fenceTag();
    let end = -1;
    await assertNothingBefore(async () => {
      from.sub.perform("speak", { body: tag });
      await new Promise((resolve, reject) => {
        const check = () => {
          end = events.findIndex((e, i) => i >= start && e.kind === "received" && e.data?.body === tag);
          if (end >= 0) { clearTimeout(timer); waiters.delete(check); resolve(); }
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`the sentinel never arrived (${what})`)); }, WAIT_MS);
        waiters.add(check);
        check();
      });
    }, () => events.slice(start, end).filter(pred), what);
  };
  return { sub, events, next, quiet };
}

const received = (type, extra = () => true) => (e) => e.kind === "received" && e.data?.type === type && extra(e.data);

test("guest sign-in, subscribe, presence and history, speak and receive", { skip, timeout: 30000 }, async () => {
  const alice = await signIn("Alice");
  assert.match(alice.user.id, /^g_[0-9a-f]+$/);
  assert.equal(alice.user.name, "Alice");
  assert.equal(typeof alice.token, "string");

  const bobToken = signToken({ sub: "bob-int", name: "Bob" });
  const ca = consumerFor(alice.token);
  const cb = consumerFor(bobToken);
  const room = "int-basic";
  const a = subscribe(ca, { channel: "P2PChannel", room });
  await a.next((e) => e.kind === "connected", WAIT_MS, "alice connected");
  assert.equal(ca.connection.getProtocol(), "actioncable-v1-json");

  const presence = await a.next(received("presence"), WAIT_MS, "presence");
  assert.equal(presence.data.room, room);
  assert.ok(Array.isArray(presence.data.users), "presence.users is an array");
  assert.ok(JSON.stringify(presence.data.users).includes(alice.user.id), `presence lists alice: ${JSON.stringify(presence.data)}`);
  const history = await a.next(received("history"), WAIT_MS, "history");
  assert.equal(history.data.room, room);
  assert.ok(Array.isArray(history.data.messages));

  const b = subscribe(cb, { channel: "P2PChannel", room });
  await b.next((e) => e.kind === "connected", WAIT_MS, "bob connected");
  await a.next(received("presence_diff", (d) => JSON.stringify(d.joined).includes("bob-int")), WAIT_MS, "join of bob");

  a.sub.perform("speak", { body: "hello from alice" });
  for (const [who, s] of [["alice", a], ["bob", b]]) {
    const m = await s.next(received("message"), WAIT_MS, `${who} receives the message`);
    assert.equal(m.data.body, "hello from alice");
    assert.equal(m.data.room, room);
    assert.deepEqual(m.data.from, { id: alice.user.id, name: "Alice" });
    assert.equal(typeof m.data.id, "string");
    assert.ok(Number.isInteger(m.data.sent_at) && Math.abs(m.data.sent_at - Date.now()) < 60000, "sent_at in ms");
  }

  // A later subscriber finds the message in the history.
  const cc = consumerFor(signToken({ sub: "carol-int", name: "Carol" }));
  const c = subscribe(cc, { channel: "P2PChannel", room });
  await c.next((e) => e.kind === "connected", WAIT_MS, "carol connected");
  const h2 = await c.next(received("history"), WAIT_MS, "carol's history");
  assert.ok(h2.data.messages.some((m) => m.body === "hello from alice"), `history has the message: ${JSON.stringify(h2.data)}`);

  // Joins and leaves are gathered per presence window: a join and a leave in one window cancel out.
  await a.next(received("presence_diff", (d) => JSON.stringify(d.joined).includes("carol-int")), WAIT_MS, "join of carol");
  c.sub.unsubscribe();
  await a.next(received("presence_diff", (d) => JSON.stringify(d.left).includes("carol-int")), WAIT_MS, "leave of carol");
  for (const x of [ca, cb, cc]) x.disconnect();
});

test("direct and signal between two users reach only the right people", { skip, timeout: 30000 }, async () => {
  const alice = await signIn("Alice");
  const bob = await signIn("Bob");
  const ca = consumerFor(alice.token);
  const cb = consumerFor(bob.token);
  const cc = consumerFor(signToken({ sub: "carol-direct", name: "Carol" }));
  const room = "int-direct";
  const a = subscribe(ca, { channel: "P2PChannel", room });
  const b = subscribe(cb, { channel: "P2PChannel", room });
  const c = subscribe(cc, { channel: "P2PChannel", room });
  for (const s of [a, b, c]) await s.next((e) => e.kind === "connected", WAIT_MS, "connected");

  a.sub.perform("direct", { to: bob.user.id, body: "just for bob" });
  const got = await b.next(received("direct"), WAIT_MS, "bob's direct");
  assert.equal(got.data.body, "just for bob");
  assert.equal(got.data.room, room);
  assert.deepEqual(got.data.from, { id: alice.user.id, name: "Alice" });
  assert.equal(got.data.to, bob.user.id);
  const copy = await a.next(received("direct"), WAIT_MS, "alice's copy of her direct");
  assert.equal(copy.data.id, got.data.id);
  await c.quiet(received("direct"), "direct message at carol", a);

  const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
  a.sub.perform("signal", { to: bob.user.id, signal: offer });
  const sig = await b.next(received("signal"), WAIT_MS, "bob's signal");
  assert.deepEqual(sig.data.signal, offer);
  assert.deepEqual(sig.data.from, { id: alice.user.id, name: "Alice" });
  assert.equal(sig.data.to, bob.user.id);
  assert.equal(sig.data.room, room);
  await a.quiet(received("signal"), "signal echoed to the sender", a);
  await c.quiet(received("signal"), "signal at carol", a);

  b.sub.perform("signal", { to: alice.user.id, signal: { type: "answer", sdp: "v=0\r\n" } });
  const ans = await a.next(received("signal"), WAIT_MS, "alice's answer");
  assert.equal(ans.data.signal.type, "answer");

  b.sub.perform("typing", {});
  const typing = await a.next(received("typing"), WAIT_MS, "typing at alice");
  assert.deepEqual(typing.data.from, { id: bob.user.id, name: "Bob" });

  a.sub.perform("speak", {});
  const err = await a.next(received("error"), WAIT_MS, "error for a speak without body");
  assert.equal(typeof err.data.code, "string");
  await b.quiet(received("error"), "error at bob", a);
  for (const x of [ca, cb, cc]) x.disconnect();
});

test("without a token: unauthorized, and the client does not reconnect", { skip, timeout: 30000 }, async () => {
  const before = sockets.length;
  const c = consumerFor(undefined);
  const s = subscribe(c, { channel: "P2PChannel", room: "int-noauth" });
  const d = await s.next((e) => e.kind === "disconnected", WAIT_MS, "disconnected");
  assert.equal(d.willAttemptReconnect, false);
  assert.equal(c.connection.monitor.isRunning(), false, "monitor stopped");
  assert.ok(!s.events.some((e) => e.kind === "connected"), "never connected");
  // Not a drain: a reconnect would come from the client's own ConnectionMonitor timer (stopped above), not
  // from anything the server sends, so this waits on that timer's scale.
  await sleep(1500);
  assert.equal(sockets.length - before, 1, "exactly one WebSocket was opened");
  c.disconnect();
});

test("without a room: the subscription is rejected", { skip, timeout: 30000 }, async () => {
  const c = consumerFor(signToken({ sub: "dave-int", name: "Dave" }));
  const s = subscribe(c, { channel: "P2PChannel" });
  await s.next((e) => e.kind === "rejected", WAIT_MS, "rejected");
  const s2 = subscribe(c, { channel: "P2PChannel", room: "bad room!" });
  await s2.next((e) => e.kind === "rejected", WAIT_MS, "rejected (invalid room)");
  const ok = subscribe(c, { channel: "P2PChannel", room: "int-after-reject" });
  await ok.next((e) => e.kind === "connected", WAIT_MS, "a valid subscription still works");
  c.disconnect();
});

test("reconnects and resubscribes after the server restarts on the same port", { skip, timeout: 90000 }, async (t) => {
  const tokenA = signToken({ sub: "alice-rc", name: "Alice" });
  const tokenB = signToken({ sub: "bob-rc", name: "Bob" });
  const ca = consumerFor(tokenA);
  const room = "int-restart";
  const a = subscribe(ca, { channel: "P2PChannel", room });
  await a.next((e) => e.kind === "connected", WAIT_MS, "connected");
  const socketsBefore = sockets.length;
  const oldSocket = ca.connection.webSocket;

  const port = server.port;
  const code = await server.stop("SIGTERM");
  assert.equal(code, 0, "peercable exits 0 on SIGTERM");
  const gone = await a.next((e) => e.kind === "disconnected", WAIT_MS, "disconnected on shutdown");
  assert.equal(gone.willAttemptReconnect, true, "server_restart lets the client reconnect");
  assert.ok(oldSocket.received.includes('{"type":"disconnect","reason":"server_restart","reconnect":true}'),
    `server_restart received before the close; got ${JSON.stringify(oldSocket.received.slice(-3))}`);
  const stoppedAt = Date.now();
  server = await startPeercable([], { port });

  // ConnectionMonitor reopens once the connection is stale (6 s without a ping) and polls every 6-12 s.
  const back = await a.next((e) => e.kind === "connected", 45000, "reconnected and resubscribed");
  assert.equal(back.reconnected, true);
  t.diagnostic(`reconnected ${Date.now() - stoppedAt} ms after the stop`);
  assert.ok(sockets.length > socketsBefore, "a new WebSocket was opened");

  const cb = consumerFor(tokenB);
  const b = subscribe(cb, { channel: "P2PChannel", room });
  await b.next((e) => e.kind === "connected", WAIT_MS, "bob connected");
  b.sub.perform("speak", { body: "after the restart" });
  const m = await a.next(received("message", (d) => d.body === "after the restart"), WAIT_MS, "message after restart");
  assert.equal(m.data.from.id, "bob-rc");
  ca.disconnect();
  cb.disconnect();
});
