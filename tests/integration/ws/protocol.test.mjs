// RFC 6455 and HTTP edge cases against the real binary: each bad input gets its exact status or close code,
// and a client connected at the same time keeps working.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startPeercable, signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";
import { rawHttp, upgradeRequest, expectedAccept, frame, openRaw, closeCode } from "./rawclient.mjs";

let server;
const token = signToken({ sub: "alice", name: "Alice" });
const bench = JSON.stringify({ channel: "BenchmarkChannel" });

before(async () => {
  server = await startPeercable(["--max-message", "65536", "--header-timeout", "1"]);
});
after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, "server exits 0 on SIGTERM");
});

// A well-behaved client that must keep getting echoes while others misbehave.
async function bystander() {
  const c = openInboxClient(`${server.wsUrl}?token=${token}`, ["actioncable-v1-json"], {}, { name: "bystander" });
  await c.opened;
  c.send({ command: "subscribe", identifier: bench });
  await c.take((m) => m.type === "confirm_subscription");
  let n = 0;
  return {
    async check() {
      const tag = `still-alive-${++n}`;
      c.send({ command: "message", identifier: bench, data: JSON.stringify({ action: "echo", tag }) });
      await c.take((m) => m.message?.tag === tag);
    },
    close: () => c.ws.close(),
  };
}

const handshakeCases = [
  { name: "version 8 -> 426 with Sec-WebSocket-Version: 13", extra: { "Sec-WebSocket-Version": "8" }, status: 426, header: ["sec-websocket-version", "13"] },
  { name: "missing version -> 426", extra: { "Sec-WebSocket-Version": undefined }, status: 426 },
  { name: "missing key -> 400", extra: { "Sec-WebSocket-Key": undefined }, status: 400 },
  { name: "key not 16 bytes -> 400", extra: { "Sec-WebSocket-Key": "c2hvcnQ=" }, status: 400 },
  { name: "Connection without Upgrade -> 400", extra: { Connection: "keep-alive" }, status: 400 },
  { name: "POST upgrade -> 405", method: "POST", status: 405 },
];

for (const c of handshakeCases) {
  test(`handshake: ${c.name}`, async () => {
    const b = await bystander();
    let { request } = upgradeRequest(`/cable?token=${token}`, c.extra ?? {});
    if (c.method) request = request.replace(/^GET/, c.method);
    const r = await rawHttp(server.port, request);
    assert.equal(r.status, c.status);
    if (c.header) assert.equal(r.headers[c.header[0]], c.header[1]);
    assert.match(r.headers["content-type"], /application\/json/);
    assert.ok(JSON.parse(r.body).error);
    await b.check();
    b.close();
  });
}

test("handshake: valid upgrade gets 101, the accept key and the Action Cable subprotocol", async () => {
  const c = await openRaw(server.port, token);
  assert.equal(c.headers["sec-websocket-accept"], expectedAccept(c.key));
  assert.equal(c.headers["sec-websocket-protocol"], "actioncable-v1-json");
  const welcome = await c.reader.json();
  assert.deepEqual(welcome, { type: "welcome" });
  c.socket.destroy();
});

const httpCases = [
  { name: "unknown path -> 404 JSON", req: "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", status: 404 },
  { name: "POST /health -> 405 with Allow", req: "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", status: 405, header: ["allow", "GET, HEAD"] },
  { name: "garbage request line -> 400", req: "HELLO\r\n\r\n", status: 400 },
  { name: "header over 8 KiB -> 431", req: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`, status: 431 },
  { name: "body over 64 KiB -> 413", req: `POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n${"a".repeat(70000)}`, status: 413 },
  { name: "plain GET /cable -> 404 Page not found, as Rails", req: "GET /cable HTTP/1.1\r\nHost: x\r\n\r\n", status: 404, body: "Page not found" },
  { name: "POST /session with bad JSON -> 400", req: "POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}", status: 400 },
];

for (const c of httpCases) {
  test(`http: ${c.name}`, async () => {
    const r = await rawHttp(server.port, c.req);
    assert.equal(r.status, c.status);
    if (c.header) assert.equal(r.headers[c.header[0]], c.header[1]);
    if (c.body) assert.equal(r.body, c.body);
  });
}

test("http: request data is never echoed unescaped", async () => {
  const evil = "/<script>alert(1)</script>";
  const r = await rawHttp(server.port, `GET ${evil} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(r.status, 404);
  assert.ok(!r.body.includes("<script>"));
});

test("http: keep-alive serves two requests on one connection", async () => {
  const r1 = await rawHttp(server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", { keepOpen: true });
  assert.equal(r1.status, 200);
  const health = JSON.parse(r1.body);
  assert.equal(health.status, "ok");
  assert.ok(health.connections >= 1);
  const second = await new Promise((resolve) => {
    let buf = "";
    r1.socket.on("data", (d) => { buf += d; if (buf.includes("\r\n\r\n") && buf.endsWith("}")) resolve(buf); });
    r1.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  assert.match(second, /^HTTP\/1\.1 200 OK/);
  r1.socket.destroy();
});

test("http: a request that stalls mid-header is cut off (slowloris)", async () => {
  const r = await rawHttp(server.port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", { timeoutMs: 4000 });
  assert.equal(r.status, 408);
});

const frameCases = [
  { name: "unmasked frame -> 1002", bytes: () => frame(0x81, "x", { mask: false }), code: 1002 },
  { name: "RSV1 without deflate -> 1002", bytes: () => frame(0xc1, "x"), code: 1002 },
  { name: "RSV2 -> 1002", bytes: () => frame(0xa1, "x"), code: 1002 },
  { name: "reserved opcode 3 -> 1002", bytes: () => frame(0x83, "x"), code: 1002 },
  { name: "reserved control opcode 0xB -> 1002", bytes: () => frame(0x8b, "x"), code: 1002 },
  { name: "fragmented ping -> 1002", bytes: () => frame(0x09, "x"), code: 1002 },
  { name: "ping over 125 bytes -> 1002", bytes: () => frame(0x89, "x".repeat(126)), code: 1002 },
  { name: "continuation without a message -> 1002", bytes: () => frame(0x80, "x"), code: 1002 },
  { name: "new message inside a fragmented one -> 1002", bytes: () => Buffer.concat([frame(0x01, "a"), frame(0x81, "b")]), code: 1002 },
  { name: "close with code 1005 -> 1002", bytes: () => frame(0x88, Buffer.from([0x03, 0xed])), code: 1002 },
  { name: "close with a 1-byte payload -> 1002", bytes: () => frame(0x88, Buffer.from([0x03])), code: 1002 },
  { name: "invalid UTF-8 text -> 1007", bytes: () => frame(0x81, Buffer.from([0xc0, 0xaf])), code: 1007 },
  { name: "UTF-8 broken across fragments -> 1007", bytes: () => Buffer.concat([frame(0x01, Buffer.from([0xf0, 0x9f])), frame(0x80, Buffer.from([0x28, 0x80]))]), code: 1007 },
  { name: "close reason not UTF-8 -> 1007", bytes: () => frame(0x88, Buffer.from([0x03, 0xe8, 0xff])), code: 1007 },
  { name: "message over --max-message -> 1009", bytes: () => frame(0x82, Buffer.alloc(70000)), code: 1009 },
  { name: "fragments adding up over --max-message -> 1009", bytes: () => Buffer.concat([frame(0x01, "a".repeat(40000)), frame(0x80, "a".repeat(40000))]), code: 1009 },
];

for (const c of frameCases) {
  test(`frame: ${c.name}`, async () => {
    const b = await bystander();
    const conn = await openRaw(server.port, token);
    await conn.reader.json((m) => m.type === "welcome");
    conn.send(c.bytes());
    const f = await conn.reader.until(8);
    assert.ok(!f.eof, "a close frame arrives before the connection ends");
    assert.equal(closeCode(f), c.code);
    assert.equal(f.masked, false, "server frames are never masked");
    const end = await conn.reader.until(-1).catch(() => ({ eof: false }));
    assert.ok(end.eof, "the server closes the TCP connection after a protocol error");
    await b.check();
    b.close();
  });
}

test("frame: ping is answered with a pong carrying the same payload", async () => {
  const conn = await openRaw(server.port, token);
  conn.send(frame(0x89, "are you there?"));
  const pong = await conn.reader.until(0xa);
  assert.equal(pong.payload.toString(), "are you there?");
  conn.socket.destroy();
});

test("frame: control frames between fragments are handled, the message is reassembled", async () => {
  const conn = await openRaw(server.port, token);
  await conn.reader.json((m) => m.type === "welcome");
  const cmd = JSON.stringify({ command: "subscribe", identifier: bench });
  conn.send(Buffer.concat([frame(0x01, cmd.slice(0, 10)), frame(0x89, "mid"), frame(0x00, cmd.slice(10, 20)), frame(0x80, cmd.slice(20))]));
  const pong = await conn.reader.until(0xa);
  assert.equal(pong.payload.toString(), "mid");
  const confirm = await conn.reader.json((m) => m.type === "confirm_subscription");
  assert.equal(confirm.identifier, bench);
  conn.socket.destroy();
});

test("frame: the close handshake is echoed with the same code", async () => {
  const conn = await openRaw(server.port, token);
  conn.send(frame(0x88, Buffer.from([0x0f, 0xa0, 0x62, 0x79, 0x65])));  // 4000 "bye"
  const f = await conn.reader.until(8);
  assert.equal(closeCode(f), 4000);
  const end = await conn.reader.until(-1).catch(() => ({ eof: false }));
  assert.ok(end.eof);
});

test("frame: binary messages are ignored as Rails ignores them; the connection stays open", async () => {
  const conn = await openRaw(server.port, token);
  await conn.reader.json((m) => m.type === "welcome");
  conn.send(frame(0x82, JSON.stringify({ command: "subscribe", identifier: bench })));
  conn.send(frame(0x89, "after"));
  const f = await conn.reader.next();
  assert.equal(f.opcode, 0xa, "the next frame is the pong, not a confirmation");
  conn.socket.destroy();
});

test("permessage-deflate is negotiated with the offered parameters and used both ways", async () => {
  const ws = new WebSocket(`${server.wsUrl}?token=${token}`, ["actioncable-v1-json"], {
    perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, threshold: 0 },
  });
  const agreed = new Promise((res) => ws.once("upgrade", (r) => res(r.headers["sec-websocket-extensions"])));
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  assert.equal(await agreed,
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
  const got = [];
  ws.on("message", (d) => got.push(JSON.parse(d.toString())));
  ws.send(JSON.stringify({ command: "subscribe", identifier: bench }));
  const big = "compressible ".repeat(500);
  const deadline = Date.now() + 5000;
  while (!got.some((m) => m.type === "confirm_subscription") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 3; i++) ws.send(JSON.stringify({ command: "message", identifier: bench, data: JSON.stringify({ action: "echo", i, big }) }));
  while (got.filter((m) => m.message?.big).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got.filter((m) => m.message?.big).map((m) => m.message.i), [0, 1, 2]);
  assert.equal(got.find((m) => m.message?.big).message.big, big);
  ws.close();
});

test("a slow consumer is closed and counted; others keep receiving", async () => {
  const slowServer = await startPeercable(["--max-backlog", "1048576", "--max-commands-per-second", "0"]);
  try {
    const slow = await openRaw(slowServer.port, token);
    slow.socket.pause();  // never reads: its queue grows
    slow.send(frame(0x81, JSON.stringify({ command: "subscribe", identifier: bench })));
    const fast = new WebSocket(`${slowServer.wsUrl}?token=${token}`, ["actioncable-v1-json"]);
    let received = 0;
    let confirmed;
    const subscribed = new Promise((res) => { confirmed = res; });
    fast.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === "confirm_subscription") confirmed();
      if (m.message?.action === "broadcast") received++;
    });
    await new Promise((res) => fast.once("open", res));
    fast.send(JSON.stringify({ command: "subscribe", identifier: bench }));
    // The slow client's subscribe went out before the fast one connected; once the fast one is confirmed,
    // both are in the stream.
    await subscribed;
    const payload = "p".repeat(30000);
    const total = 400;  // 12 MB towards the paused client: far over its kernel buffers and its backlog
    // Paced in batches the fast client can absorb, so only the paused one falls behind.
    const deadline = Date.now() + 30000;
    for (let sent = 0; sent < total && Date.now() < deadline;) {
      for (let k = 0; k < 10; k++, sent++)
        fast.send(JSON.stringify({ command: "message", identifier: bench, data: JSON.stringify({ action: "broadcast", payload }) }));
      while (received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(received, total, "the fast client got every broadcast");
    const health = await (await fetch(`${slowServer.url}/health`)).json();
    assert.ok(health.slow_consumer_closes >= 1, "the slow consumer was dropped and counted");
    fast.close();
    slow.socket.destroy();
  } finally {
    await slowServer.stop();
  }
});

test("SIGTERM: every client gets server_restart and a 1001 close, and the process exits 0", async () => {
  const s = await startPeercable([]);
  const conn = await openRaw(s.port, token);
  await conn.reader.json((m) => m.type === "welcome");
  const exit = s.stop("SIGTERM");
  const msg = await conn.reader.json((m) => m.type === "disconnect");
  assert.deepEqual(msg, { type: "disconnect", reason: "server_restart", reconnect: true });
  const f = await conn.reader.until(8);
  assert.equal(closeCode(f), 1001);
  conn.send(frame(0x88, Buffer.from([0x03, 0xe9])));
  const started = Date.now();
  assert.equal(await exit, 0);
  assert.ok(Date.now() - started < 8000);
});

test("unauthorized: disconnect message then close 1000, never a welcome", async () => {
  for (const t of ["", "garbage", signToken({ sub: "x" }, "wrong-secret"), signToken({ sub: "x", exp: 1 })]) {
    const conn = await openRaw(server.port, t);
    const first = await conn.reader.next();
    assert.equal(first.opcode, 1);
    assert.deepEqual(JSON.parse(first.payload), { type: "disconnect", reason: "unauthorized", reconnect: false });
    const f = await conn.reader.next();
    assert.equal(f.opcode, 8);
    assert.equal(closeCode(f), 1000);
  }
});
