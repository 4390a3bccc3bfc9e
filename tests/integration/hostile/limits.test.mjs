// One test per configurable limit: it trips with its documented answer, is counted in
// peercable_limit_refusals_total{limit="…"}, follows its option (lower, higher, 0 = off where the option
// allows it, and its default), and a client from another address is not affected.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startPeercable } from "../../lib/peercable.mjs";
import { until } from "../../lib/drain.mjs";
import {
  sleep, exchange, openWs, closeOf, endOf, cmd, roomId, benchId, goodClient, frame, signToken, refusals, tcp,
  connectionsSettle, lastWords,
} from "./clients.mjs";

// Servers are started on first use and shared by the tests; each test uses its own addresses
// (127.1.<test>.x), so per-address state never carries over from one test to another.
const configs = {
  low: ["--max-connections-per-ip", "5", "--max-new-connections-per-ip", "10", "--max-commands-per-second", "10",
    "--max-subscriptions", "3", "--max-identifier", "256", "--max-room-name", "8", "--message-limit", "100",
    "--max-signal", "200", "--max-guest-signins-per-ip", "3", "--origin-check", "on",
    "--allowed-origins", "http://allowed.example, https://other.example"],
  off: ["--max-connections-per-ip", "0", "--max-new-connections-per-ip", "0", "--max-commands-per-second", "0",
    "--max-subscriptions", "0", "--max-identifier", "4096", "--max-room-name", "128", "--message-limit", "8192",
    "--max-signal", "100000", "--max-guest-signins-per-ip", "0", "--origin-check", "off"],
  defaults: [],
  // Defaults, except that 1000 connections may open at once (the default rate would take ten seconds).
  defaultsNoRate: ["--max-new-connections-per-ip", "0"],
  // Listening on every interface: the automatic origin check is on. Only loopback clients connect to it.
  anyHost: ["--host", "0.0.0.0"],
};
const started = new Map();
function server(name) {
  if (!started.has(name)) started.set(name, startPeercable(configs[name]));
  return started.get(name);
}
after(async () => {
  for (const [name, s] of started) {
    const srv = await s.catch(() => null);
    if (srv) assert.equal(await srv.stop(), 0, `${name}: exit status after SIGTERM: ${lastWords(srv.logs())}`);
  }
});

const ip = (t, k) => `127.1.${t}.${k}`;

/** Asserts `r` (an openWs or exchange response) is the documented 429: JSON {"error"}, Retry-After. */
function assert429(r, what) {
  assert.equal(r.status, 429, `${what}: ${r.status} ${r.body}`);
  assert.equal(typeof JSON.parse(r.body).error, "string", `${what}: JSON error body`);
  assert.ok(Number(r.headers["retry-after"]) >= 1, `${what}: Retry-After`);
}

async function counted(s, name, fn) {
  const before = await refusals(s.url, name);
  assert.notEqual(before, undefined, `/metrics has peercable_limit_refusals_total{limit="${name}"}`);
  // Every refusal is counted on its loop before the answer that `fn` waits for is sent: no wait is needed.
  await fn();
  return (await refusals(s.url, name)) - before;
}

/**
 * An authorized raw WebSocket from `address`: {status, …, reader} (no wait for the welcome). It sends the
 * server's own origin (the raw client's Host is 127.0.0.1), as a browser on the server's page would, so the
 * origin check of the "low" server lets it in.
 */
const wsFrom = (s, address, sub = `u-${address}`, headers = {}) =>
  openWs(s.port, { localAddress: address, token: signToken({ sub }), headers: { Origin: "http://127.0.0.1", ...headers } });

/** A well-behaved client (the `ws` package, Host 127.0.0.1:<port>) from `address`, with the server's own origin. */
const clientFrom = (s, address, sub) => goodClient(s.port, { sub, localAddress: address, origin: `http://127.0.0.1:${s.port}` });

/** One plain HTTP request from `address`; resolves with its first response (or a close without one). */
async function getFrom(s, address, path = "/health") {
  const r = await exchange(s.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { localAddress: address, firstResponse: true });
  return r.responses[0] ?? { status: 0 };
}

async function signinFrom(s, address, name = "Guest") {
  const body = JSON.stringify({ name });
  const r = await exchange(s.port, `POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, { localAddress: address, firstResponse: true });
  return r.responses[0] ?? { status: 0 };
}

// ---- per address ---------------------------------------------------------------------------------

test("connections_per_ip: over --max-connections-per-ip -> 429 JSON + Retry-After and closed; a closed one frees a slot; 0 = off; default 1000", { timeout: 60000 }, async () => {
  const s = await server("low");
  const open = [];
  const n = await counted(s, "connections_per_ip", async () => {
    for (let i = 0; i < 5; ++i) open.push(await wsFrom(s, ip(1, 1)));
    for (const c of open) assert.equal(c.status, 101);
    const over = await wsFrom(s, ip(1, 1));
    assert429(over, "6th connection");
    assert.ok(await endOf(over.socket, 3000), "the refused connection is closed");
    const other = await wsFrom(s, ip(1, 2));
    assert.equal(other.status, 101, "another address is not affected");
    other.socket.destroy();
  });
  assert.equal(n, 1, "one refusal counted");
  open.pop().socket.destroy();
  // The slot is free once the server has seen the close: retried until then (bounded by until()).
  let again;
  await until(async () => {
    again = await wsFrom(s, ip(1, 1));
    if (again.status !== 101) again.socket.destroy();
    return again.status === 101;
  }, "closing one frees a slot");
  for (const c of [...open, again]) c.socket.destroy();

  const off = await server("off");
  const many = await Promise.all(Array.from({ length: 40 }, () => wsFrom(off, ip(1, 3))));
  assert.ok(many.every((c) => c.status === 101), "0 = no limit: 40 from one address");
  for (const c of many) c.socket.destroy();

  // Default 1000: the 1001st open connection from one address is refused, at accept, before any request.
  const d = await server("defaultsNoRate");
  const socks = [];
  try {
    for (let i = 0; i < 1000; i += 100) socks.push(...(await Promise.all(Array.from({ length: 100 }, () => tcp(d.port, ip(1, 4))))));
    assert429(await getFrom(d, ip(1, 4)), "1001st connection");
    assert.equal((await getFrom(d, ip(1, 5))).status, 200, "another address is not affected");
  } finally {
    for (const sock of socks) sock.destroy();
  }
});

test("new_connections_per_ip: over --max-new-connections-per-ip per second -> 429; refills; 0 = off; default 100", { timeout: 60000 }, async () => {
  const s = await server("low");
  let statuses;
  const n = await counted(s, "new_connections_per_ip", async () => {
    statuses = [];
    for (let i = 0; i < 16; ++i) statuses.push((await getFrom(s, ip(2, 1))).status);
  });
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200), "the first 10 in a second are served");
  const refused = statuses.filter((x) => x === 429).length;
  assert.ok(refused >= 4 && statuses.every((x) => x === 200 || x === 429), `statuses ${statuses}`);
  assert.equal(n, refused, "each refusal counted");
  const r = await exchange(s.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", { localAddress: ip(2, 1) });
  if (r.responses[0]?.status === 429) assert429(r.responses[0], "refused arrival");
  assert.equal((await getFrom(s, ip(2, 2))).status, 200, "another address is not affected");
  await sleep(1200);
  assert.equal((await getFrom(s, ip(2, 1))).status, 200, "a second later the address may connect again");

  const off = await server("off");
  const all = await Promise.all(Array.from({ length: 150 }, () => getFrom(off, ip(2, 3))));
  assert.ok(all.every((x) => x.status === 200), "0 = no limit: 150 at once");

  const d = await server("defaults");
  const burst = await Promise.all(Array.from({ length: 130 }, () => getFrom(d, ip(2, 4))));
  const ok = burst.filter((x) => x.status === 200).length;
  assert.ok(ok >= 100 && ok < 130, `default 100 per second: ${ok} of 130 served at once`);
  for (const x of burst) if (x.status !== 200) assert429(x, "default rate");
});

test("guest_signins: over --max-guest-signins-per-ip per minute -> POST /session 429 JSON + Retry-After; 0 = off; default 10", { timeout: 60000 }, async () => {
  const s = await server("low");
  const n = await counted(s, "guest_signins", async () => {
    for (let i = 0; i < 3; ++i) assert.equal((await signinFrom(s, ip(3, 1))).status, 200);
    assert429(await signinFrom(s, ip(3, 1)), "4th sign-in in a minute");
    assert.equal((await signinFrom(s, ip(3, 2))).status, 200, "another address is not affected");
  });
  assert.equal(n, 1);
  const off = await server("off");
  for (let i = 0; i < 15; ++i) assert.equal((await signinFrom(off, ip(3, 3))).status, 200, `0 = off: sign-in ${i + 1}`);
  const d = await server("defaults");
  for (let i = 0; i < 10; ++i) assert.equal((await signinFrom(d, ip(3, 4))).status, 200, `default: sign-in ${i + 1}`);
  assert429(await signinFrom(d, ip(3, 4)), "default: 11th sign-in");
});

// ---- per connection ------------------------------------------------------------------------------

/** A welcomed raw WebSocket subscribed to BenchmarkChannel. */
async function benchClient(s, address) {
  const c = await wsFrom(s, address);
  assert.equal(c.status, 101);
  await c.reader.json((m) => m.type === "welcome");
  c.send(cmd({ command: "subscribe", identifier: benchId }));
  await c.reader.json((m) => m.type === "confirm_subscription");
  return c;
}

/** Sends `count` echo commands in one write; returns {echoes, disconnect, close}. */
async function echoBurst(c, count) {
  c.send(Buffer.concat(Array.from({ length: count }, (_, n) => cmd({ command: "message", identifier: benchId, data: JSON.stringify({ action: "echo", n }) }))));
  let echoes = 0, disconnect = null, close = null;
  while (echoes < count) {
    const f = await c.reader.next(10000);
    if (f.eof) break;
    if (f.opcode === 8) { close = f.payload.readUInt16BE(0); break; }
    if (f.opcode !== 1) continue;
    const m = JSON.parse(f.payload.toString());
    if (m.type === "disconnect") disconnect = m;
    else if (m.message?.action === "echo") echoes++;
  }
  return { echoes, disconnect, close };
}

test("commands: over --max-commands-per-second (bursts of 2N) -> rate_limited disconnect and close 1008; 0 = off; default 100", { timeout: 60000 }, async () => {
  const s = await server("low");
  const bystander = await benchClient(s, ip(4, 2));
  let r;
  const n = await counted(s, "commands", async () => {
    const c = await benchClient(s, ip(4, 1));  // the subscribe was one command of the burst
    r = await echoBurst(c, 40);
    c.socket.destroy();
  });
  assert.ok(r.echoes >= 19 && r.echoes < 40, `a burst of 2N = 20 commands is allowed, then refused (${r.echoes} echoed)`);
  assert.deepEqual(r.disconnect, { type: "disconnect", reason: "rate_limited", reconnect: true });
  assert.equal(r.close, 1008);
  assert.ok(n >= 1);
  assert.deepEqual(await echoBurst(bystander, 5), { echoes: 5, disconnect: null, close: null }, "another client is not affected");

  // Under the rate: 8 commands a second for 3 seconds is fine.
  const steady = await benchClient(s, ip(4, 3));
  for (let i = 0; i < 6; ++i) {
    assert.equal((await echoBurst(steady, 4)).echoes, 4);
    await sleep(500);
  }
  for (const c of [bystander, steady]) c.socket.destroy();

  const off = await server("off");
  const free = await benchClient(off, ip(4, 4));
  assert.deepEqual(await echoBurst(free, 1000), { echoes: 1000, disconnect: null, close: null }, "0 = off");
  free.socket.destroy();

  const d = await server("defaults");
  const a = await benchClient(d, ip(4, 5));
  assert.equal((await echoBurst(a, 190)).echoes, 190, "default: a burst under 200 is allowed");
  a.socket.destroy();
  const b = await benchClient(d, ip(4, 6));
  const over = await echoBurst(b, 300);
  assert.ok(over.echoes >= 199 && over.echoes < 300 && over.close === 1008, `default: ${over.echoes} echoed, close ${over.close}`);
  b.socket.destroy();
});

/** Waits for the answer to a subscribe: "confirm_subscription" or "reject_subscription". */
async function answer(client, identifier) {
  const r = await client.take((m) => m.identifier === identifier && (m.type === "confirm_subscription" || m.type === "reject_subscription"));
  return r.type;
}

/** Subscribes `client` (a goodClient) to `identifier` and waits for the answer. */
function subscribeTo(client, identifier) {
  client.send({ command: "subscribe", identifier });
  return answer(client, identifier);
}

test("subscriptions: over --max-subscriptions per connection -> reject_subscription; unsubscribing frees one; 0 = off; default 100", { timeout: 60000 }, async () => {
  const s = await server("low");
  const c = await clientFrom(s, ip(5, 1), "subs-a");
  const n = await counted(s, "subscriptions", async () => {
    for (const r of ["s1", "s2", "s3"]) assert.equal(await subscribeTo(c, roomId(r)), "confirm_subscription");
    assert.equal(await subscribeTo(c, roomId("s4")), "reject_subscription");
  });
  assert.equal(n, 1);
  const other = await clientFrom(s, ip(5, 2), "subs-b");
  for (const r of ["s1", "s2", "s3"]) assert.equal(await subscribeTo(other, roomId(r)), "confirm_subscription", "another client has its own count");
  c.send({ command: "unsubscribe", identifier: roomId("s1") });
  assert.equal(await subscribeTo(c, roomId("s4")), "confirm_subscription", "unsubscribing frees a place");
  c.close(); other.close();

  const off = await server("off");
  const free = await clientFrom(off, ip(5, 3), "subs-c");
  const rooms = Array.from({ length: 150 }, (_, i) => roomId(`free-${i}`));
  for (const id of rooms) free.send({ command: "subscribe", identifier: id });
  for (const id of rooms) assert.equal(await answer(free, id), "confirm_subscription", "0 = off");
  free.close();

  const d = await server("defaults");
  const dc = await clientFrom(d, ip(5, 4), "subs-d");
  const hundred = Array.from({ length: 101 }, (_, i) => roomId(`def-${i}`));
  for (const id of hundred) dc.send({ command: "subscribe", identifier: id });
  for (const id of hundred.slice(0, 100)) assert.equal(await answer(dc, id), "confirm_subscription");
  assert.equal(await answer(dc, hundred[100]), "reject_subscription", "default: the 101st is rejected");
  dc.close();
});

/** A P2PChannel identifier of exactly `bytes` bytes. */
function identifierOf(bytes, room = "ident") {
  const base = JSON.stringify({ channel: "P2PChannel", room, pad: "" });
  return JSON.stringify({ channel: "P2PChannel", room, pad: "x".repeat(bytes - base.length) });
}

test("identifier: a subscribe identifier over --max-identifier bytes -> reject_subscription; default 1024", { timeout: 60000 }, async () => {
  const s = await server("low");
  const c = await clientFrom(s, ip(6, 1), "ident-a");
  const n = await counted(s, "identifier", async () => {
    assert.equal(await subscribeTo(c, identifierOf(257)), "reject_subscription", "257 bytes over 256");
  });
  assert.equal(n, 1);
  assert.equal(await subscribeTo(c, identifierOf(256)), "confirm_subscription", "exactly 256 bytes");
  const other = await clientFrom(s, ip(6, 2), "ident-b");
  assert.equal(await subscribeTo(other, identifierOf(200)), "confirm_subscription", "another client is not affected");
  c.close(); other.close();

  const hi = await server("off");
  const h = await clientFrom(hi, ip(6, 3), "ident-c");
  assert.equal(await subscribeTo(h, identifierOf(4000)), "confirm_subscription", "--max-identifier 4096");
  assert.equal(await subscribeTo(h, identifierOf(4097)), "reject_subscription");
  h.close();

  const d = await server("defaults");
  const dc = await clientFrom(d, ip(6, 4), "ident-d");
  assert.equal(await subscribeTo(dc, identifierOf(1024)), "confirm_subscription", "default: 1024 bytes");
  assert.equal(await subscribeTo(dc, identifierOf(1025)), "reject_subscription", "default: 1025 bytes");
  dc.close();
});

test("room_name: a room longer than --max-room-name characters -> reject_subscription; default 64", { timeout: 60000 }, async () => {
  const s = await server("low");
  const c = await clientFrom(s, ip(7, 1), "room-a");
  const n = await counted(s, "room_name", async () => {
    assert.equal(await subscribeTo(c, roomId("abcdefghi")), "reject_subscription", "9 characters over 8");
  });
  assert.equal(n, 1);
  assert.equal(await subscribeTo(c, roomId("abcdefgh")), "confirm_subscription", "exactly 8");
  const other = await clientFrom(s, ip(7, 2), "room-b");
  assert.equal(await subscribeTo(other, roomId("abcdefgh")), "confirm_subscription", "another client is not affected");
  c.close(); other.close();

  const hi = await server("off");
  const h = await clientFrom(hi, ip(7, 3), "room-c");
  assert.equal(await subscribeTo(h, roomId("r".repeat(128))), "confirm_subscription", "--max-room-name 128");
  assert.equal(await subscribeTo(h, roomId("r".repeat(129))), "reject_subscription");
  h.close();

  const d = await server("defaults");
  const dc = await clientFrom(d, ip(7, 4), "room-d");
  assert.equal(await subscribeTo(dc, roomId("d".repeat(64))), "confirm_subscription", "default: 64");
  assert.equal(await subscribeTo(dc, roomId("d".repeat(65))), "reject_subscription", "default: 65");
  dc.close();
});

/** Two clients in one room; `a` acts, `b` watches. */
async function roomPair(s, t, room) {
  const a = await clientFrom(s, ip(t, 1), `${room}-a`);
  const b = await clientFrom(s, ip(t, 2), `${room}-b`);
  assert.equal(await a.join(room), "confirm_subscription");
  assert.equal(await b.join(room), "confirm_subscription");
  return { a, b };
}

/** `a` sends one over-limit and one at-limit action; asserts the error, and that `b` gets only the second. */
async function actionSize(s, t, room, { limit, kind }) {
  const { a, b } = await roomPair(s, t, room);
  const speak = (len) => ({ action: "speak", body: "b".repeat(len) });
  const signal = (len) => {
    const base = JSON.stringify({ sdp: "" });
    return { action: "signal", to: `${room}-b`, signal: { sdp: "s".repeat(len - base.length) } };
  };
  const make = kind === "speak" ? speak : signal;
  const expectCode = kind === "speak" ? "body_too_long" : "signal_too_large";
  const type = kind === "speak" ? "message" : "signal";
  a.act(room, make(limit + 1));
  const err = await a.take((m) => m.identifier === roomId(room) && m.message?.type === "error");
  assert.equal(err.message.code, expectCode);
  assert.equal(typeof err.message.message, "string");
  // The at-limit action is the drain: sent after the over-limit one on the same connection and through the
  // same path, so had the over-limit one been delivered it would be in b's inbox before it.
  a.act(room, make(limit));
  const got = await b.take((m) => m.message?.type === type);
  const size = kind === "speak" ? got.message.body.length : JSON.stringify(got.message.signal).length;
  assert.equal(size, limit, "only the action within the limit reached the other client");
  assert.equal(b.inbox.filter((m) => m.message?.type === type).length, 0, "nothing over the limit was delivered");
  a.close(); b.close();
}

test("action_size: --message-limit and --max-signal -> an error on the subscription, nothing delivered; defaults 4096 and 65536", { timeout: 60000 }, async () => {
  const s = await server("low");
  const n = await counted(s, "action_size", async () => {
    await actionSize(s, 8, "sizes", { limit: 100, kind: "speak" });
    await actionSize(s, 9, "sigs", { limit: 200, kind: "signal" });
  });
  assert.equal(n, 2, "both refusals counted");
  const hi = await server("off");
  await actionSize(hi, 10, "hsizes", { limit: 8192, kind: "speak" });
  await actionSize(hi, 11, "hsigs", { limit: 100000, kind: "signal" });
  const d = await server("defaults");
  await actionSize(d, 12, "dsizes", { limit: 4096, kind: "speak" });
  await actionSize(d, 13, "dsigs", { limit: 65536, kind: "signal" });
});

// ---- origins -------------------------------------------------------------------------------------

test("origin: with the check on, a foreign Origin -> 403 before the upgrade; own and listed origins upgrade; auto = on off loopback", { timeout: 60000 }, async () => {
  const s = await server("low");
  let refused;
  const n = await counted(s, "origin", async () => {
    refused = await wsFrom(s, ip(14, 1), "o-a", { Origin: "http://evil.example" });
  });
  assert.equal(refused.status, 403, "no 101 for a foreign origin");
  assert.equal(typeof JSON.parse(refused.body).error, "string");
  assert.equal(n, 1);
  for (const origin of ["http://allowed.example", "https://other.example", "http://127.0.0.1"]) {
    const ok = await wsFrom(s, ip(14, 2), "o-b", { Origin: origin });  // upgradeRequest sends Host: 127.0.0.1
    assert.equal(ok.status, 101, `${origin} is allowed`);
    ok.socket.destroy();
  }
  const off = await server("off");
  const anyOrigin = await wsFrom(off, ip(14, 3), "o-c", { Origin: "http://evil.example" });
  assert.equal(anyOrigin.status, 101, "--origin-check off");
  anyOrigin.socket.destroy();
  const loop = await server("defaults");
  const auto = await wsFrom(loop, ip(14, 4), "o-d", { Origin: "http://evil.example" });
  assert.equal(auto.status, 101, "auto on a loopback listener: off");
  auto.socket.destroy();
  const every = await server("anyHost");
  const autoOn = await wsFrom(every, ip(14, 5), "o-e", { Origin: "http://evil.example" });
  assert.equal(autoOn.status, 403, "auto on 0.0.0.0: on");
  assert.equal((await refusals(every.url, "origin")), 1);
});

test("limits leave no connection behind", { timeout: 60000 }, async () => {
  for (const [name, p] of started) {
    const s = await p;
    const h = await connectionsSettle(s.url, 1);
    assert.equal(h.connections, 1, `${name}: only the /health request is open`);
  }
});
