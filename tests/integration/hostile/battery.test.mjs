// A battery of hostile clients against one server, while a well-behaved pair chats in a P2PChannel room
// from another address. Each case expects a clear error or protocol close (the exact status or close code
// where the server defines one), never a crash or a hang; at the end the pair got every message in order
// with bounded latency, no connection is left over, memory has not grown without bound, and SIGTERM exits 0
// (under ASan a leak makes the exit status non-zero).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, constants as zc } from "node:zlib";
import { startPeercable } from "../../lib/peercable.mjs";
import {
  addr, sleep, prng, tcp, exchange, openWs, closeOf, endOf, cmd, roomId, benchId, goodClient, frame,
  signToken, metrics, health, connectionsSettle, rssKb, isSanitized, lastWords,
} from "./clients.mjs";

const KEY = "battery-broadcast-key";
const HEADER_TIMEOUT_S = 2;
const MAX_MESSAGE = 1 << 20;  // the default --max-message
const CHAT_ROOM = "battery-good";
const LATENCY_BOUND_MS = 2500;

let server;
let chat;
let rssBefore;
let current = "set-up";
const utf8 = new TextDecoder("utf-8", { fatal: true });

// ---- the well-behaved pair ------------------------------------------------------------------------

/** Two clients from 127.0.0.2 that speak in turn every 50 ms and check every delivery, in order. */
async function startChat(port) {
  const users = ["good-alice", "good-bob"];
  const clients = await Promise.all(users.map((sub) => goodClient(port, { sub, localAddress: addr(2) })));
  for (const c of clients) assert.equal(await c.join(CHAT_ROOM), "confirm_subscription");
  const sentAt = Object.fromEntries(users.map((u) => [u, []]));
  const state = clients.map(() => ({ next: Object.fromEntries(users.map((u) => [u, 0])), latencies: [], errors: [] }));
  clients.forEach((c, i) => {
    c.listeners.add((m) => {
      c.inbox.length = 0;  // nothing else is awaited on these clients; keep the inbox small
      if (m.identifier !== roomId(CHAT_ROOM) || m.message?.type !== "message") return;
      const [from, seq] = m.message.body.split("#");
      const st = state[i];
      if (m.message.from.id !== from) st.errors.push(`${users[i]}: body ${m.message.body} from ${m.message.from.id}`);
      if (Number(seq) !== st.next[from]) st.errors.push(`${users[i]}: got ${m.message.body}, expected ${from}#${st.next[from]}`);
      st.next[from] = Number(seq) + 1;
      st.latencies.push({ ms: Date.now() - sentAt[from][Number(seq)], during: current });
    });
  });
  let turn = 0;
  const timer = setInterval(() => {
    const k = turn++ % 2;
    const seq = sentAt[users[k]].length;
    sentAt[users[k]].push(Date.now());
    clients[k].act(CHAT_ROOM, { action: "speak", body: `${users[k]}#${seq}` });
  }, 50);
  timer.unref();  // never what keeps the test process alive
  return {
    clients,
    /** Stops sending, waits for the last deliveries, and returns what was seen. */
    async stop() {
      clearInterval(timer);
      const deadline = Date.now() + 10000;
      const complete = () => state.every((st) => users.every((u) => st.next[u] === sentAt[u].length));
      while (!complete() && Date.now() < deadline) await sleep(50);
      const sent = users.reduce((n, u) => n + sentAt[u].length, 0);
      const all = state.flatMap((st) => st.latencies).sort((a, b) => a.ms - b.ms);
      return {
        sent, complete: complete(), errors: state.flatMap((st) => st.errors), received: all.length,
        p50: all[Math.floor(all.length / 2)]?.ms, p99: all[Math.floor(all.length * 0.99)]?.ms, worst: all.at(-1),
        missing: state.map((st, i) => users.map((u) => `${users[i]}<-${u}: ${st.next[u]}/${sentAt[u].length}`).join(", ")),
      };
    },
    /** Stops sending and disconnects, whatever state the run is in (an after hook calls it). */
    close() {
      clearInterval(timer);
      clients.forEach((c) => c.close());
    },
  };
}

// ---- helpers for the cases -----------------------------------------------------------------------

/** A signed-in raw WebSocket from the case's own address, welcomed. */
async function attacker(ctx, opts = {}) {
  const c = await openWs(server.port, { localAddress: ctx.addr, token: signToken({ sub: `evil-${ctx.n}` }), ...opts });
  assert.equal(c.status, 101, `upgrade from ${ctx.addr}: ${c.status} ${c.body}`);
  assert.deepEqual(await c.reader.json((m) => m.type === "welcome"), { type: "welcome" });
  return c;
}

/** Asserts the server answers `bytes` with a close frame carrying `code`, then ends the TCP connection. */
async function expectClose(c, bytes, code) {
  if (bytes) c.send(bytes);
  assert.equal(await closeOf(c.reader, 10000), code);
  assert.ok(await endOf(c.socket, 5000), "the server ends the TCP connection after its close frame");
}

/** Asserts the connection still works: a ping is answered with its pong; returns the text frames seen before. */
async function stillServes(c, tag = "alive") {
  c.send(frame(0x89, tag));
  const texts = [];
  const deadline = Date.now() + 10000;
  for (;;) {
    const f = await c.reader.next(Math.max(1, deadline - Date.now()));
    assert.ok(!f.eof, "connection still open");
    assert.notEqual(f.opcode, 8, `unexpected close ${f.payload?.readUInt16BE?.(0)}`);
    if (f.opcode === 0xa && f.payload.toString() === tag) return texts;
    if (f.opcode === 1) {
      const m = JSON.parse(utf8.decode(f.payload));
      if (m.type !== "ping") texts.push(m);
    }
  }
}

/** Ends a raw WebSocket politely (close 1000) and waits for the server's side to end too. */
async function bye(c) {
  if (c.socket.destroyed) return;
  c.send(frame(0x88, Buffer.from([0x03, 0xe8])));
  await endOf(c.socket, 5000);
  c.socket.destroy();
}

/** A message compressed as permessage-deflate sends it (RFC 7692 §7.2.1: the trailing 00 00 ff ff removed). */
function deflated(data) {
  const z = deflateRawSync(data, { flush: zc.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
}

/** A frame header declaring `len` bytes (64-bit length form), masked, with no payload yet. */
function bigHeader(first, len) {
  const h = Buffer.alloc(14);
  h[0] = first;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(len, 2);
  return h;  // the last 4 bytes are a zero mask key
}

async function post(path, body, headers = {}) {
  const r = await fetch(`${server.url}${path}`, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** Asserts an HTTP exchange ended in exactly one error response of `status` with a JSON body, then a close. */
function assertOneError(r, status, what) {
  assert.equal(r.responses.length, 1, `${what}: exactly one response (got ${r.responses.map((x) => x.status).join(", ") || "none"})`);
  assert.equal(r.responses[0].status, status, `${what}: status`);
  assert.ok(JSON.parse(r.responses[0].body).error, `${what}: JSON error body`);
  assert.ok(r.closed, `${what}: connection closed after the error`);
}

const slowConsumerCloses = async () => (await health(server.url)).slow_consumer_closes;

// ---- the cases -------------------------------------------------------------------------------------

const cases = [
  {
    name: "command flood: 3000 echo commands in one write -> a burst of 200 echoed in order, then rate_limited + 1008",
    async run(ctx) {
      const c = await attacker(ctx);
      c.send(cmd({ command: "subscribe", identifier: benchId }));
      await c.reader.json((m) => m.type === "confirm_subscription");
      const N = 3000;
      c.send(Buffer.concat(Array.from({ length: N }, (_, n) => cmd({ command: "message", identifier: benchId, data: JSON.stringify({ action: "echo", n }) }))));
      let next = 0, disconnect = null, close = null;
      while (next < N) {
        const f = await c.reader.next(15000);
        if (f.eof) break;
        if (f.opcode === 8) { close = f.payload.readUInt16BE(0); break; }
        if (f.opcode !== 1) continue;
        const m = JSON.parse(f.payload.toString());
        if (m.type === "disconnect") disconnect = m;
        else if (m.message?.action === "echo") assert.equal(m.message.n, next++, "echoes arrive in order");
      }
      // --max-commands-per-second 100 (the default) allows a burst of 200; the subscribe was one of them.
      assert.ok(next >= 199 && next < N, `${next} echoes before the limit`);
      assert.deepEqual(disconnect, { type: "disconnect", reason: "rate_limited", reconnect: true });
      assert.equal(close, 1008);
      assert.ok(await endOf(c.socket, 5000));
    },
  },
  {
    name: "subscribe flood: 300 rooms in one write -> 100 confirmed, the rest rejected until rate_limited + 1008; all left",
    async run(ctx) {
      const c = await attacker(ctx);
      const rooms = Array.from({ length: 300 }, (_, i) => `flood-${ctx.n}-${i}`);
      c.send(Buffer.concat(rooms.map((r) => cmd({ command: "subscribe", identifier: roomId(r) }))));
      const answered = new Map();
      let disconnect = null, close = null;
      while (answered.size < rooms.length) {
        const f = await c.reader.next(15000);
        if (f.eof) break;
        if (f.opcode === 8) { close = f.payload.readUInt16BE(0); break; }
        if (f.opcode !== 1) continue;
        const m = JSON.parse(f.payload.toString());
        if (m.type === "disconnect") disconnect = m;
        if (m.type === "confirm_subscription" || m.type === "reject_subscription") {
          assert.ok(!answered.has(m.identifier), "one answer per identifier");
          answered.set(m.identifier, m.type);
        }
      }
      // The defaults: 100 subscriptions per connection, a burst of 200 commands.
      const confirmed = rooms.filter((r) => answered.get(roomId(r)) === "confirm_subscription");
      assert.deepEqual(confirmed, rooms.slice(0, 100), "the first 100 are confirmed");
      assert.ok(rooms.slice(100, 199).every((r) => answered.get(roomId(r)) === "reject_subscription"), "then rejected");
      assert.deepEqual(disconnect, { type: "disconnect", reason: "rate_limited", reconnect: true });
      assert.equal(close, 1008);
      assert.ok(await endOf(c.socket, 5000));
      // The flooder's presence is gone from the rooms it joined.
      const probe = await goodClient(server.port, { sub: `probe-${ctx.n}`, localAddress: ctx.addr });
      assert.equal(await probe.join(rooms[0]), "confirm_subscription");
      const p = await probe.take((m) => m.message?.type === "presence");
      assert.deepEqual(p.message.users.map((u) => u.id), [`probe-${ctx.n}`]);
      probe.close();
    },
  },
  {
    name: "ping flood: 5000 pings in one write -> 5000 pongs with the same payloads, in order",
    async run(ctx) {
      const c = await attacker(ctx);
      const N = 5000;
      c.send(Buffer.concat(Array.from({ length: N }, (_, i) => frame(0x89, `p${i}`))));
      for (let i = 0; i < N; ++i) {
        const f = await c.reader.until(0xa, 10000);
        assert.ok(!f.eof, `connection ended after ${i} pongs`);
        assert.equal(f.payload.toString(), `p${i}`);
      }
      await bye(c);
    },
  },
  {
    name: "ping flood from a client that never reads (pong reflection) -> dropped as a slow consumer",
    async run(ctx) {
      const c = await attacker(ctx);
      const before = await slowConsumerCloses();
      c.socket.pause();
      const ping = frame(0x89, Buffer.alloc(125, 0x61));
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => ping));
      let dropped = false;
      for (let i = 0; i < 100 && !dropped && !c.socket.destroyed; ++i) {  // at most 100 × 131 KB
        await new Promise((r) => c.socket.write(burst, r));
        if (i % 10 === 9) dropped = (await slowConsumerCloses()) > before;
      }
      const deadline = Date.now() + 10000;
      while (!dropped && Date.now() < deadline) { await sleep(100); dropped = (await slowConsumerCloses()) > before; }
      assert.ok(dropped, "counted as a slow-consumer close");
      assert.ok(await endOf(c.socket, 10000), "the connection is closed");
    },
  },
  {
    name: "slow consumer: stops reading while its room is broadcast to -> closed (1013 counted), others unaffected",
    async run(ctx) {
      const c = await attacker(ctx);
      const room = `slow-${ctx.n}`;
      c.send(cmd({ command: "subscribe", identifier: roomId(room) }));
      await c.reader.json((m) => m.message?.type === "history");
      const before = await slowConsumerCloses();
      c.socket.pause();
      const one = { stream: `p2p:${room}`, data: { pad: "x".repeat(5000) } };
      const body = JSON.stringify({ broadcasts: Array.from({ length: 12 }, () => one) });
      let dropped = false;
      for (let i = 0; i < 400 && !dropped; ++i) {  // at most 400 × 60 KB
        const r = await post("/broadcast", body, { Authorization: `Bearer ${KEY}` });
        assert.equal(r.status, 202);
        if (i % 10 === 9) dropped = (await slowConsumerCloses()) > before;
      }
      assert.ok(dropped, "counted as a slow-consumer close");
      c.socket.resume();
      assert.ok(await endOf(c.socket, 10000), "the connection is closed");
    },
  },
  {
    name: "frame declaring 2^63 bytes -> 1002",
    async run(ctx) { await expectClose(await attacker(ctx), bigHeader(0x81, 1n << 63n), 1002); },
  },
  {
    name: "frame declaring 2^40 bytes -> 1009 from the header alone",
    async run(ctx) { await expectClose(await attacker(ctx), bigHeader(0x82, 1n << 40n), 1009); },
  },
  {
    name: "frame declaring --max-message + 1 bytes -> 1009 before the payload",
    async run(ctx) {
      const c = await attacker(ctx);
      await expectClose(c, Buffer.concat([bigHeader(0x81, BigInt(MAX_MESSAGE + 1)), Buffer.alloc(100, 0x20)]), 1009);
    },
  },
  {
    name: "oversize message in 64 KiB fragments -> 1009",
    async run(ctx) {
      const c = await attacker(ctx);
      const part = Buffer.alloc(64 << 10, 0x61);
      const frames = [frame(0x02, part), ...Array.from({ length: 19 }, () => frame(0x00, part))];
      await expectClose(c, Buffer.concat(frames), 1009);
    },
  },
  {
    name: "never-ending fragmented message, 16 KiB every 5 ms -> 1009 once over --max-message",
    async run(ctx) {
      const c = await attacker(ctx);
      const part = Buffer.alloc(16 << 10, 0x61);
      c.send(frame(0x01, part));
      const closed = closeOf(c.reader, 15000);
      let sent = 1;
      for (; sent < 200 && !c.socket.destroyed; ++sent) {  // bounded: 3.2 MB at most
        const settled = await Promise.race([closed.then(() => true), sleep(5).then(() => false)]);
        if (settled) break;
        c.send(frame(0x00, part));
      }
      assert.equal(await closed, 1009);
      assert.ok(sent * part.length > MAX_MESSAGE && sent < 200, `closed after ${sent} fragments`);
    },
  },
  {
    name: "20000 empty continuation frames inside one message -> still served, message completes",
    async run(ctx) {
      const c = await attacker(ctx);
      const command = JSON.stringify({ command: "subscribe", identifier: benchId });
      const empty = frame(0x00, "");
      c.send(Buffer.concat([frame(0x01, command.slice(0, 12)), ...Array.from({ length: 20000 }, () => empty)]));
      await stillServes(c, "between-fragments");
      c.send(frame(0x80, command.slice(12)));
      await c.reader.json((m) => m.type === "confirm_subscription", 10000);
      await bye(c);
    },
  },
  {
    name: "deflate bomb: 16 MiB of zeros in a 16 KB compressed message (also in fragments) -> 1009",
    async run(ctx) {
      const z = deflated(Buffer.alloc(16 << 20));
      assert.ok(z.length < 40000);
      for (const bytes of [frame(0xc1, z), Buffer.concat([frame(0x41, z.subarray(0, 1000)), frame(0x80, z.subarray(1000))])]) {
        const c = await attacker(ctx, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" } });
        assert.match(c.headers["sec-websocket-extensions"] ?? "", /permessage-deflate/);
        await expectClose(c, bytes, 1009);
      }
    },
  },
  {
    name: "corrupt deflate data and compressed invalid UTF-8 -> 1007",
    async run(ctx) {
      for (const bytes of [frame(0xc1, Buffer.from([0xff, 0xff, 0xff, 0x00, 0x13, 0x37])), frame(0xc1, deflated(Buffer.from([0x7b, 0xc0, 0xaf, 0x7d])))]) {
        const c = await attacker(ctx, { headers: { "Sec-WebSocket-Extensions": "permessage-deflate" } });
        await expectClose(c, bytes, 1007);
      }
    },
  },
  {
    name: "garbage bytes after the handshake (an HTTP request as frames) -> 1002",
    async run(ctx) { await expectClose(await attacker(ctx), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1002); },
  },
  {
    name: "garbage bytes before the handshake (TLS ClientHello, NULs, binary) -> 400 JSON, closed",
    async run(ctx) {
      const inputs = [
        Buffer.from("160301020001000001fc0303", "hex"),
        Buffer.concat([Buffer.alloc(64), Buffer.from("\r\n\r\n")]),
        Buffer.from("\xff\xfe\x00GET /cable HTTP/1.1\r\n\r\n", "latin1"),
      ];
      for (const bytes of inputs) assertOneError(await exchange(server.port, bytes, { localAddress: ctx.addr }), 400, bytes.toString("hex").slice(0, 16));
    },
  },
  {
    name: "invalid UTF-8 text (overlong, surrogate, truncated) -> 1007",
    async run(ctx) {
      for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x7b, 0xe2, 0x82]]) {
        await expectClose(await attacker(ctx), frame(0x81, Buffer.from(bad)), 1007);
      }
    },
  },
  {
    name: "bad JSON and JSON escapes to lone surrogates -> ignored, the server never sends invalid UTF-8",
    async run(ctx) {
      const c = await attacker(ctx);
      c.send(cmd({ command: "subscribe", identifier: benchId }));
      await c.reader.json((m) => m.type === "confirm_subscription");
      const bad = ["{", "nul", "\"str\"", "[]", "{\"command\":1}", "{\"command\":\"subscribe\"}", "{\"command\":\"subscribe\",\"identifier\":{}}",
        "{\"command\":\"message\",\"identifier\":" + JSON.stringify(benchId) + ",\"data\":\"{\\\"action\\\":\\\"echo\\\",\\\"x\\\":1e400}\"}",
        "{\"command\":\"x\",\"command\":\"subscribe\"}", "\uFEFF{}", "{\"command\":\"subscribe\",\"identifier\":\"{\\\"channel\\\":\\\"BenchmarkChannel\\\"}\"}garbage"];
      for (const b of bad) c.send(frame(0x81, b));
      const lone = `{"command":"message","identifier":${JSON.stringify(benchId)},"data":"{\\"action\\":\\"echo\\",\\"x\\":\\"\\\\ud800\\"}"}`;
      c.send(frame(0x81, lone));
      const texts = await stillServes(c, "after-bad-json");  // every text frame was decoded as strict UTF-8
      for (const m of texts) assert.ok(m.message?.action === "echo", `only a possible echo arrives, not ${JSON.stringify(m)}`);
      await bye(c);
    },
  },
  {
    name: "deep JSON nesting (100k '[' as command, identifier, data, signal; 60k on /session and /broadcast) -> ignored or 400",
    async run(ctx) {
      const c = await attacker(ctx);
      const deep = "[".repeat(100000);
      c.send(frame(0x81, deep));
      c.send(cmd({ command: "subscribe", identifier: deep }));
      c.send(cmd({ command: "subscribe", identifier: roomId(`deep-${ctx.n}`) }));
      await c.reader.json((m) => m.message?.type === "history");
      c.send(cmd({ command: "message", identifier: roomId(`deep-${ctx.n}`), data: deep }));
      const nested = `{"action":"signal","to":"x","signal":${"{\"a\":".repeat(30000)}1${"}".repeat(30000)}}`;
      c.send(cmd({ command: "message", identifier: roomId(`deep-${ctx.n}`), data: nested }));
      const texts = await stillServes(c, "after-deep");
      for (const m of texts) assert.ok(["error", "presence_diff"].includes(m.message?.type), `only an error may answer, not ${JSON.stringify(m).slice(0, 200)}`);
      await bye(c);
      assert.equal((await post("/session", "[".repeat(60000))).status, 400);
      assert.equal((await post("/broadcast", "[".repeat(60000), { Authorization: `Bearer ${KEY}` })).status, 400);
      assert.equal((await post("/session", "[".repeat(100000))).status, 413);
    },
  },
  {
    name: "enormous identifiers (600 KB) on subscribe and message -> reject_subscription (over --max-identifier), message ignored",
    async run(ctx) {
      const c = await attacker(ctx);
      for (let i = 0; i < 3; ++i) {
        const ident = JSON.stringify({ channel: "P2PChannel", room: `huge-${ctx.n}`, pad: `${i}${"x".repeat(600000)}` });
        c.send(cmd({ command: "subscribe", identifier: ident }));
        const r = await c.reader.json((m) => m.type === "confirm_subscription" || m.type === "reject_subscription", 10000);
        assert.equal(r.identifier, ident);
        assert.equal(r.type, "reject_subscription");
        c.send(cmd({ command: "message", identifier: `${ident} `, data: "{}" }));  // unknown identifier: ignored
      }
      await stillServes(c, "after-huge");
      await bye(c);
    },
  },
  {
    name: "unknown channels and odd identifiers -> ignored silently (as Rails)",
    async run(ctx) {
      const c = await attacker(ctx);
      for (const identifier of [JSON.stringify({ channel: "Nope" }), JSON.stringify({ channel: "ApplicationCable::Channel" }),
        JSON.stringify({ channel: "../../../etc/passwd" }), JSON.stringify({ channel: 7 }), "not json", "{}", JSON.stringify({ channel: "P2PChannel\u0000" })]) {
        c.send(cmd({ command: "subscribe", identifier }));
        c.send(cmd({ command: "message", identifier, data: JSON.stringify({ action: "speak", body: "x" }) }));
        c.send(cmd({ command: "unsubscribe", identifier }));
      }
      assert.deepEqual(await stillServes(c, "after-unknown"), []);
      await bye(c);
    },
  },
  {
    name: "1000 binary frames (even valid commands) -> ignored, connection stays",
    async run(ctx) {
      const c = await attacker(ctx);
      const bin = frame(0x82, JSON.stringify({ command: "subscribe", identifier: benchId }));
      c.send(Buffer.concat(Array.from({ length: 1000 }, () => bin)));
      assert.deepEqual(await stillServes(c, "after-binary"), []);
      await bye(c);
    },
  },
  {
    name: "40 bad sign-ins (garbage, wrong secret, expired, alg none, tampered) -> unauthorized disconnect and close 1000 each",
    async run(ctx) {
      const good = signToken({ sub: "mallory" });
      const [h, p] = good.split(".");
      const noneTok = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${p}.`;
      const tokens = ["garbage", signToken({ sub: "mallory" }, "wrong-secret"), signToken({ sub: "mallory", exp: 1 }), noneTok,
        `${h}.${Buffer.from(JSON.stringify({ sub: "admin", exp: 4102444800 })).toString("base64url")}.${good.split(".")[2]}`];
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const c = await openWs(server.port, { localAddress: ctx.addr, token: encodeURIComponent(tokens[i % tokens.length]) });
        assert.equal(c.status, 101);
        assert.deepEqual(await c.reader.json(), { type: "disconnect", reason: "unauthorized", reconnect: false });
        assert.equal(await closeOf(c.reader), 1000);
        c.socket.destroy();
      }));
    },
  },
  {
    name: "half-open: 20 TCP connections that say nothing -> closed without a byte after the header timeout",
    async run(ctx) {
      const t0 = Date.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => exchange(server.port, [], { localAddress: ctx.addr, timeoutMs: HEADER_TIMEOUT_S * 1000 + 4000 })));
      for (const r of results) {
        assert.ok(r.closed, "closed by the server");
        assert.equal(r.raw.length, 0, "nothing is sent to a silent connection");
      }
      assert.ok(Date.now() - t0 < HEADER_TIMEOUT_S * 1000 + 4000);
    },
  },
  {
    name: "half-open: half an HTTP request, then silence -> 408",
    async run(ctx) {
      const r = await exchange(server.port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Half: ", { localAddress: ctx.addr, timeoutMs: HEADER_TIMEOUT_S * 1000 + 3000 });
      assertOneError(r, 408, "half a request");
    },
  },
  {
    name: "half-open: half a frame, then silence -> kept (no idle timeout by default) and still pinged; gone after an RST",
    async run(ctx) {
      const c = await attacker(ctx);
      c.send(frame(0x81, "x".repeat(1000)).subarray(0, 500));
      const ping = await c.reader.json((m) => m.type === "ping", 5000);  // the server still writes to it
      assert.equal(typeof ping.message, "number");
      c.socket.resetAndDestroy();
    },
  },
  {
    name: "slowloris: request header one byte per second -> 408 within the header timeout",
    async run(ctx) {
      const bytes = [..."GET /health HTTP/1.1\r\nHost: x\r\n\r\n"];
      const r = await exchange(server.port, bytes, { localAddress: ctx.addr, gapMs: 1000, timeoutMs: HEADER_TIMEOUT_S * 1000 + 4000 });
      assertOneError(r, 408, "slowloris");
      assert.ok(r.ms < HEADER_TIMEOUT_S * 1000 + 2500, `cut off after ${r.ms} ms`);
    },
  },
  {
    name: "slowloris: POST /session body one byte per second -> 408 within the header timeout",
    async run(ctx) {
      const body = JSON.stringify({ name: "slow" });
      const r = await exchange(server.port, [`POST /session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, ...body],
        { localAddress: ctx.addr, gapMs: 1000, timeoutMs: HEADER_TIMEOUT_S * 1000 + 4000 });
      assertOneError(r, 408, "body trickle");
      assert.ok(r.ms < HEADER_TIMEOUT_S * 1000 + 2500, `cut off after ${r.ms} ms`);
    },
  },
  {
    name: "300 simultaneous WebSockets from 127.0.0.1 -> each upgraded or refused with 429 (JSON, Retry-After)",
    async run(ctx) {
      const token = signToken({ sub: `crowd-${ctx.n}` });
      const conns = await Promise.all(Array.from({ length: 300 }, () => openWs(server.port, { localAddress: addr(1), token })));
      let upgraded = 0;
      for (const c of conns) {
        if (c.status === 101) { upgraded++; continue; }
        assert.equal(c.status, 429, `${c.status} ${c.body}`);
        assert.ok(JSON.parse(c.body).error);
        assert.ok(Number(c.headers["retry-after"]) >= 1, "Retry-After");
      }
      // --max-new-connections-per-ip 100 (the default): about 100 get in, the others are told to come back.
      ctx.diagnostic(`${upgraded} upgraded, ${conns.length - upgraded} refused with 429`);
      assert.ok(upgraded >= 100 && upgraded < conns.length, `${upgraded} of ${conns.length} upgraded`);
      for (const c of conns) c.socket.destroy();
    },
  },
  {
    name: "smuggling-ish requests on /session -> one 400 and close (CL+TE, two CLs, bad chunk, odd CL, TE not ending in chunked)",
    async run(ctx) { await smuggling(ctx, "/session", {}); },
  },
  {
    name: "smuggling-ish requests on /broadcast (with the key) -> one 400 and close",
    async run(ctx) { await smuggling(ctx, "/broadcast", { Authorization: `Bearer ${KEY}` }); },
  },
  {
    name: "oversize headers: one 9 KB header, 2000 headers, a 9 KB URL, a 20 KB token cookie on the upgrade -> 431",
    async run(ctx) {
      const reqs = [
        `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`,
        `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-${i}: y\r\n`).join("")}\r\n`,
        `GET /${"u".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET /cable HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: peercable_token=${"t".repeat(20000)}\r\n\r\n`,
      ];
      for (const [i, req] of reqs.entries()) assertOneError(await exchange(server.port, req, { localAddress: ctx.addr }), 431, `request ${i}`);
    },
  },
  {
    name: "fuzz: 160 seeded random-byte bursts at the HTTP parser -> a 4xx (never 5xx) or a close, in bounded time",
    async run(ctx) {
      const rnd = prng(0x5eed0001);
      const prefixes = ["", "GET / HTTP/1.1\r\n", "POST /session HTTP/1.1\r\nContent-Length: 10\r\n", "GET /cable HTTP/1.1\r\nUpgrade: websocket\r\n", "POST /broadcast HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"];
      const inputs = Array.from({ length: 160 }, () => {
        const tail = rnd.bytes(1 + rnd.int(600));
        if (rnd.next() < 0.5) tail.write("\r\n\r\n", tail.length - Math.min(4, tail.length), "latin1");
        return Buffer.concat([Buffer.from(prefixes[rnd.int(prefixes.length)]), tail]);
      });
      // All at once, 20 per address (under the new-connections limit); each ends in a response or a close.
      const rs = await Promise.all(inputs.map((b, k) => exchange(server.port, b, { localAddress: ctx.at(1 + (k % 8)), timeoutMs: HEADER_TIMEOUT_S * 1000 + 3000 })));
      const statuses = {};
      for (const [k, r] of rs.entries()) {
        const what = `burst ${k}: ${inputs[k].toString("hex").slice(0, 60)}`;
        assert.ok(r.closed || r.responses.length > 0, `${what}: no answer and not closed`);
        for (const resp of r.responses) {
          assert.ok(resp.status >= 200 && resp.status < 500, `${what}: status ${resp.status}`);
          statuses[resp.status] = (statuses[resp.status] ?? 0) + 1;
        }
        if (!r.responses.length) statuses.closed = (statuses.closed ?? 0) + 1;
      }
      ctx.diagnostic(`answers: ${JSON.stringify(statuses)}`);
    },
  },
  {
    name: "fuzz: 160 seeded random frame bursts after the handshake -> a close 1002/1007/1009 or still served",
    async run(ctx) {
      const rnd = prng(0x5eed0002);
      const token = signToken({ sub: `fuzz-${ctx.n}` });
      const burst = () => {
        if (rnd.next() < 0.3) return rnd.bytes(1 + rnd.int(300));  // raw bytes
        const frames = [];
        for (let j = 1 + rnd.int(6); j > 0; --j) {
          const first = rnd.next() < 0.8 ? (rnd.next() < 0.7 ? 0x80 : 0) | [0, 1, 2, 8, 9, 10][rnd.int(6)] : rnd.int(256);
          const len = rnd.next() < 0.8 ? rnd.int(140) : rnd.int(70000);
          frames.push(frame(first, rnd.bytes(len), { mask: rnd.next() < 0.95 }));
        }
        return Buffer.concat(frames);
      };
      const inputs = Array.from({ length: 160 }, burst);
      const outcomes = { served: 0, waiting: 0 };
      for (let i = 0; i < inputs.length; i += 40) {
        await Promise.all(inputs.slice(i, i + 40).map(async (bytes, k) => {
          const c = await openWs(server.port, { localAddress: ctx.at(1 + (k % 4)), token });
          assert.equal(c.status, 101);
          c.send(bytes);
          c.send(frame(0x89, "fuzz-end"));
          const what = `burst ${i + k} (${bytes.toString("hex").slice(0, 80)})`;
          const deadline = Date.now() + 4000;
          for (;;) {
            // No answer in time: the burst ended inside a frame that declared more bytes (our ping became
            // its payload); the server is waiting for the rest, which is what it should do.
            const f = await c.reader.next(Math.max(1, deadline - Date.now())).catch(() => ({ waiting: true }));
            if (f.waiting) { outcomes.waiting++; break; }
            assert.ok(!f.eof, `${what}: ended without a close frame`);
            if (f.opcode === 8) {
              const code = f.payload.readUInt16BE(0);
              // A protocol close, or the echo of a valid close frame that was part of the burst.
              assert.ok([1002, 1007, 1009].includes(code) || code === 1000 || code === 1001 || (code >= 3000 && code <= 4999) || [1003, 1008, 1010, 1011].includes(code), `${what}: close ${code}`);
              outcomes[code] = (outcomes[code] ?? 0) + 1;
              assert.ok(await endOf(c.socket, 5000), `${what}: TCP connection ended after the close`);
              break;
            }
            if (f.opcode === 0xa && f.payload.toString() === "fuzz-end") { outcomes.served++; break; }
          }
          c.socket.destroy();
        }));
      }
      ctx.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
    },
  },
  // Abrupt ends come last: a crash here (ASan) would otherwise hide what the cases above find.
  {
    name: "leaving a P2P room without a close frame (TCP FIN, then RST) -> the room is told the user left",
    async run(ctx) {
      const room = `vanish-${ctx.n}`;
      const watcher = await goodClient(server.port, { sub: `watcher-${ctx.n}`, localAddress: ctx.at(1) });
      assert.equal(await watcher.join(room), "confirm_subscription");
      for (const [i, how] of ["end", "resetAndDestroy"].entries()) {
        const sub = `vanisher-${ctx.n}-${i}`;
        const c = await openWs(server.port, { localAddress: ctx.at(2), token: signToken({ sub }) });
        c.send(cmd({ command: "subscribe", identifier: roomId(room) }));
        await c.reader.json((m) => m.message?.type === "history");
        await watcher.take((m) => m.message?.type === "presence_diff" && m.message.joined?.some((u) => u.id === sub));
        c.socket[how]();  // a closed laptop lid or a killed tab: no close frame
        await watcher.take((m) => m.message?.type === "presence_diff" && m.message.left?.some((u) => u.id === sub));
      }
      watcher.close();
    },
  },
  {
    name: "abrupt RSTs: mid-frame, mid-request, before the 101, mid-fragments, while broadcast to (10 each)",
    async run(ctx) {
      const token = signToken({ sub: `rst-${ctx.n}` });
      const room = `rst-${ctx.n}`;
      for (let i = 0; i < 10; ++i) {
        ctx.addr = ctx.at(1 + i);  // five connections per address, under the new-connections-per-second limit
        const a = await openWs(server.port, { localAddress: ctx.addr, token });
        a.send(frame(0x81, "y".repeat(5000)).subarray(0, 2000));
        a.socket.resetAndDestroy();
        const b = await tcp(server.port, ctx.addr);
        b.write("POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na");
        b.resetAndDestroy();
        const c = await tcp(server.port, ctx.addr);
        c.write("GET /cable HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        c.resetAndDestroy();
        const d = await openWs(server.port, { localAddress: ctx.addr, token });
        d.send(Buffer.concat([frame(0x01, "{\"comm"), frame(0x00, "and\":")]));
        d.socket.resetAndDestroy();
        const e = await openWs(server.port, { localAddress: ctx.addr, token });
        e.send(cmd({ command: "subscribe", identifier: roomId(room) }));
        await e.reader.json((m) => m.type === "confirm_subscription");
        const r = post("/broadcast", JSON.stringify({ stream: `p2p:${room}`, data: { pad: "z".repeat(30000) } }), { Authorization: `Bearer ${KEY}` });
        e.socket.resetAndDestroy();
        assert.equal((await r).status, 202);
      }
    },
  },
];

/** The same request-smuggling shapes against `path`; every one must end in a single 400 and a close. */
async function smuggling(ctx, path, extra) {
  const hdrs = Object.entries({ Host: "x", ...extra }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const inner = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const shapes = {
    "Content-Length and Transfer-Encoding": `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`,
    "Transfer-Encoding and Content-Length": `Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n${inner}`,
    "two different Content-Lengths": `Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}${inner}`,
    "a bad chunk size": `Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n${inner}`,
    "Content-Length +2": `Content-Length: +2\r\n\r\n{}${inner}`,
    "Content-Length with a space before the colon": `Content-Length : 2\r\n\r\n{}${inner}`,
    "Transfer-Encoding: xchunked": `Transfer-Encoding: xchunked\r\n\r\n${inner}`,
    "Transfer-Encoding: chunked, identity": `Transfer-Encoding: chunked, identity\r\n\r\n${inner}`,
    "Transfer-Encoding: gzip": `Transfer-Encoding: gzip\r\n\r\n${inner}`,
  };
  const failures = [];
  for (const [what, rest] of Object.entries(shapes)) {
    const r = await exchange(server.port, `POST ${path} HTTP/1.1\r\n${hdrs}${rest}`, { localAddress: ctx.addr, timeoutMs: 1500 });
    try {
      assertOneError(r, 400, what);
    } catch (e) {
      failures.push(e.message);
    }
  }
  assert.deepEqual(failures, [], "request-smuggling shapes answered with more than one response or kept open");
}

// ---- the run -------------------------------------------------------------------------------------

before(async () => {
  server = await startPeercable(["--broadcast-key", KEY, "--header-timeout", String(HEADER_TIMEOUT_S)]);
  chat = await startChat(server.port);
  await sleep(300);
  rssBefore = rssKb(server.proc.pid);
});

after(async () => {
  chat?.close();
  if (server && server.proc.exitCode === null) await server.stop("SIGKILL");
});

let diedDuring = null;
const dead = () => server.proc.exitCode !== null || server.proc.signalCode !== null;


for (const [i, c] of cases.entries()) {
  test(`hostile ${i + 1}/${cases.length}: ${c.name}`, { timeout: 60000 }, async (t) => {
    assert.equal(diedDuring, null, `the server died earlier, during "${diedDuring}"`);
    current = c.name;
    try {
      // Each case attacks from its own addresses (127.0.<case>.x), so per-address limits do not carry over.
      await c.run({ n: i + 1, addr: `127.0.${i + 1}.1`, at: (k) => `127.0.${i + 1}.${k}`, diagnostic: (m) => t.diagnostic(m) });
    } catch (e) {
      await sleep(200);
      if (dead()) e.message = `the server died (${server.proc.exitCode ?? server.proc.signalCode}): ${lastWords(server.logs())}\n${e.message}`;
      throw e;
    } finally {
      current = "between cases";
      if (dead()) diedDuring ??= c.name;
    }
    assert.ok(!dead(), `the server died: ${lastWords(server.logs())}`);
    assert.equal((await health(server.url)).httpStatus, 200);
  });
}

test(`after the ${cases.length} hostile cases: the pair got every message in order, nothing leaked, SIGTERM exits 0`, { timeout: 60000 }, async (t) => {
  assert.equal(diedDuring, null, `the server died during "${diedDuring}"`);
  const r = await chat.stop();
  t.diagnostic(`pair: ${r.sent} messages sent, ${r.received} deliveries, p50 ${r.p50} ms, p99 ${r.p99} ms, worst ${r.worst?.ms} ms during "${r.worst?.during}"`);
  assert.deepEqual(r.errors, [], "every message arrives once, in order, from its real sender");
  assert.ok(r.complete, `every message delivered to both: ${r.missing.join("; ")}`);
  assert.equal(r.received, 2 * r.sent);
  assert.ok(r.worst.ms < LATENCY_BOUND_MS, `worst latency ${r.worst.ms} ms during "${r.worst.during}"`);

  const h = await connectionsSettle(server.url, 3);  // the pair and this /health request
  assert.equal(h.connections, 3, "every hostile connection is gone");
  assert.equal(h.websockets, 2);
  const m = await metrics(server.url);
  assert.ok(m.get("peercable_protocol_errors_total") > 20, "protocol errors are counted");
  assert.ok(h.slow_consumer_closes >= 2, "slow consumers are counted");

  const rssAfter = rssKb(server.proc.pid);
  const bound = isSanitized(server.proc.pid) ? 768 * 1024 : 128 * 1024;
  t.diagnostic(`VmRSS ${rssBefore} KiB -> ${rssAfter} KiB (bound +${bound} KiB)`);
  assert.ok(rssAfter - rssBefore < bound, `RSS grew by ${rssAfter - rssBefore} KiB`);

  chat.close();
  assert.equal(await server.stop("SIGTERM"), 0, `exit status after SIGTERM (a leak under ASan makes it non-zero): ${lastWords(server.logs())}`);
});
