// Information leakage: at --log-level debug, bad and good sign-ins never put a whole token (or its
// signature) in the logs; no error a client can provoke (HTTP 4xx bodies, Action Cable and P2P errors)
// carries a source path, a stack trace, the JWT secret, the broadcast key or another user's data.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPeercable } from "../../lib/peercable.mjs";
import { fenceTag, waitForLogLines } from "../../lib/drain.mjs";
import { exchange, openWs, closeOf, cmd, roomId, goodClient, signToken, frame, lastWords } from "./clients.mjs";

const SECRET = "leak-check-secret-7f3a9c1e5b2d4068a1c3e5f7092b4d6f";
const KEY = "leak-check-broadcast-key-93b1d7";
const BOB_BODY = "BOB-PRIVATE-MESSAGE-5c1e";
const A = "127.2.0.1";  // the attacker
const B = "127.2.0.2";  // bob and carol, the other users
const FENCE = "127.2.0.77";  // the sentinel sign-in that ends a log check

let server;
const replies = [];  // every error text a client was sent: [what, text]
const tokensUsed = [];

before(async () => {
  server = await startPeercable(["--log-level", "debug", "--jwt-secret", SECRET, "--broadcast-key", KEY,
    "--header-timeout", "1", "--max-guest-signins-per-ip", "2", "--message-limit", "64"]);
});
after(async () => {
  if (server) assert.equal(await server.stop(), 0, `exit status after SIGTERM: ${lastWords(server.logs())}`);
});

/**
 * The drain of a log check: one more sign-in, refused, from FENCE. Its log line is written after anything the
 * requests before it logged, so once it is in, the log holds all they will ever put there.
 */
let fences = 0;
async function logFence() {
  const last = await openWs(server.port, { localAddress: FENCE, path: `/cable?token=${fenceTag("sentinel")}` });
  assert.deepEqual(await last.reader.json(), { type: "disconnect", reason: "unauthorized", reconnect: false });
  last.socket.destroy();
  await waitForLogLines(server, /unauthorized connection from 127\.2\.0\.77\b/, ++fences);
}

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** Bad tokens of every kind, each unique so a log line can be traced to it. */
function badTokens() {
  const now = Math.floor(Date.now() / 1000);
  const good = signToken({ sub: "victim", name: "Victim" }, SECRET);
  const [h, p, sig] = good.split(".");
  return {
    "wrong secret": signToken({ sub: "victim", jti: "w1" }, "not-the-secret"),
    expired: signToken({ sub: "victim", exp: now - 3600, jti: "e1" }, SECRET),
    "not yet valid": signToken({ sub: "victim", nbf: now + 3600, jti: "n1" }, SECRET),
    "tampered payload": `${h}.${b64({ sub: "admin", exp: now + 3600, jti: "t1" })}.${sig}`,
    "tampered signature": `${h}.${p}.${sig.slice(0, -4)}AAAA`,
    "alg none": `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "admin", exp: now + 3600, jti: "a1" })}.`,
    "alg HS512": `${b64({ alg: "HS512", typ: "JWT" })}.${p}.${sig}`,
    "no sub": signToken({ name: "nobody", jti: "s1" }, SECRET),
    garbage: "garbage-token-0123456789-abcdefghijklmnopqrstuvwxyz",
  };
}

test("bad sign-ins by ?token=, Authorization and cookie: refused, and no token appears whole in the debug log", { timeout: 60000 }, async () => {
  for (const [what, token] of Object.entries(badTokens())) {
    tokensUsed.push(token);
    const ways = {
      query: { path: `/cable?token=${encodeURIComponent(token)}` },
      header: { path: "/cable", headers: { Authorization: `Bearer ${token}` } },
      cookie: { path: "/cable", headers: { Cookie: `theme=dark; peercable_token=${token}` } },
    };
    for (const [how, opts] of Object.entries(ways)) {
      const c = await openWs(server.port, { localAddress: A, ...opts });
      assert.equal(c.status, 101, `${what} by ${how}`);
      const m = await c.reader.json();
      assert.deepEqual(m, { type: "disconnect", reason: "unauthorized", reconnect: false }, `${what} by ${how}`);
      assert.equal(await closeOf(c.reader), 1000);
      c.socket.destroy();
    }
  }
  // Good sign-ins too: a signed token, and a guest token issued by POST /session.
  const good = signToken({ sub: "alice", name: "Alice" }, SECRET);
  tokensUsed.push(good);
  const c = await goodClient(server.port, { sub: "alice", token: good, localAddress: A });
  c.close();
  const guest = await fetch(`${server.url}/session`, { method: "POST", body: JSON.stringify({ name: "Guesty" }) });
  const { token: guestToken } = await guest.json();
  tokensUsed.push(guestToken);
  const g = await goodClient(server.port, { sub: "guest", token: guestToken, localAddress: A });
  g.close();
  await Promise.all([c.closed, g.closed]);
  await logFence();

  const logs = server.logs();
  assert.match(logs, /unauthorized/i, "the refusals are logged (the check below is not vacuous)");
  for (const token of tokensUsed) {
    assert.ok(!logs.includes(token), `a whole token is in the log: ${token.slice(0, 20)}…`);
    const sig = token.split(".")[2];
    if (sig && sig.length >= 20) assert.ok(!logs.includes(sig), `a token signature is in the log: ${sig.slice(0, 10)}…`);
  }
  assert.ok(!logs.includes(SECRET), "the JWT secret is not in the log");
});

test("HTTP error bodies carry no paths, stack traces, secrets or echoed credentials", { timeout: 60000 }, async () => {
  const bobToken = signToken({ sub: "bob", name: "Bob" }, SECRET);
  const cookie = `peercable_token=${bobToken}`;
  const raw = {
    "404": `GET /src/app/router.cpp HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`,
    "405": "DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "400 malformed": `BREW /pot HTCPCP/1.0\r\nCookie: ${cookie}\r\n\r\n`,
    "400 session JSON": post("/session", '{"name":}', `Cookie: ${cookie}\r\n`),
    "400 session name": post("/session", '{"name":"a\\u0001bc"}'),
    "400 session long name": post("/session", JSON.stringify({ name: `${bobToken}${"n".repeat(50)}` })),
    "401 broadcast": post("/broadcast", "{}", `Authorization: Bearer ${KEY.slice(0, -1)}X\r\n`),
    "400 broadcast": post("/broadcast", '{"stream":1}', `Authorization: Bearer ${KEY}\r\n`),
    "400 broadcast stream": post("/broadcast", JSON.stringify({ stream: "s".repeat(300), data: { t: bobToken } }), `Authorization: Bearer ${KEY}\r\n`),
    "413": `POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n${"a".repeat(70000)}`,
    "431": `GET /health HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}${"a".repeat(9000)}\r\n\r\n`,
    "408": "GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ",
    "426": `GET /cable HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\nCookie: ${cookie}\r\n\r\n`,
    "400 upgrade": `GET /cable?token=${bobToken} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  };
  for (const [what, req] of Object.entries(raw)) {
    const r = await exchange(server.port, req, { localAddress: A, timeoutMs: 4000, firstResponse: true });
    assert.ok(r.responses.length >= 1, `${what}: an answer`);
    const resp = r.responses[0];
    assert.ok(resp.status >= 400 && resp.status < 500, `${what}: ${resp.status}`);
    replies.push([`HTTP ${what}`, resp.body, [bobToken]]);
  }
  // Guest sign-ins over the limit (2 per minute here): 429.
  for (let i = 0; i < 3; ++i) {
    const r = await exchange(server.port, post("/session", '{"name":"Eve"}'), { localAddress: "127.2.0.9", firstResponse: true });
    if (r.responses[0].status !== 200) replies.push(["HTTP guest limit", r.responses[0].body, []]);
  }
  assert.ok(replies.some(([w]) => w === "HTTP guest limit"), "the guest limit answered");
  for (const [what, text, others] of replies) checkReply(what, text, others);
});

test("Action Cable and P2P errors carry no paths, secrets or other users' data", { timeout: 60000 }, async () => {
  const bob = await goodClient(server.port, { sub: "bob", name: "Bob", token: signToken({ sub: "bob", name: "Bob" }, SECRET), localAddress: B });
  const carol = await goodClient(server.port, { sub: "carol", name: "Carol", token: signToken({ sub: "carol", name: "Carol" }, SECRET), localAddress: B });
  const room = "leaky";
  await bob.join(room);
  await carol.join(room);
  bob.act(room, { action: "direct", to: "carol", body: BOB_BODY.slice(0, 30) });
  bob.act(room, { action: "signal", to: "carol", signal: { sdp: BOB_BODY } });
  await carol.take((m) => m.message?.type === "signal");

  const eveToken = signToken({ sub: "eve", name: "Eve" }, SECRET);
  const eve = await openWs(server.port, { localAddress: A, token: eveToken });
  await eve.reader.json((m) => m.type === "welcome");
  const eveRoom = roomId(room);
  eve.send(cmd({ command: "subscribe", identifier: eveRoom }));
  await eve.reader.json((m) => m.message?.type === "history");
  const actions = [
    { action: "speak", body: "x".repeat(65) },
    { action: "speak", body: "" },
    { action: "speak", body: { $ne: 1 } },
    { action: "direct", to: "bob", body: "y".repeat(65) },
    { action: "direct", body: "to nobody" },
    { action: "signal", to: "carol", signal: "not an object" },
    { action: "signal", to: "carol", signal: { blob: "z".repeat(70000) } },
    { action: "../../../../etc/passwd" },
    { action: "__proto__" },
    { action: "readHistory", room: "secret-room", user: "bob" },
  ];
  for (const data of actions) eve.send(cmd({ command: "message", identifier: eveRoom, data: JSON.stringify(data) }));
  for (const bad of [JSON.stringify({ channel: "P2PChannel", room: "../etc" }), JSON.stringify({ channel: "P2PChannel", room: "r".repeat(70) }), JSON.stringify({ channel: "P2PChannel", room: "x".repeat(5), pad: "p".repeat(2000) })])
    eve.send(cmd({ command: "subscribe", identifier: bad }));
  eve.send(frame(0x89, "done"));
  const texts = [];
  for (;;) {
    const f = await eve.reader.next(5000);
    assert.ok(!f.eof);
    if (f.opcode === 0xa) break;
    if (f.opcode === 1) texts.push(f.payload.toString());
  }
  const errors = texts.filter((t) => /"error"|reject_subscription/.test(t));
  assert.ok(errors.length >= actions.length, `every bad action and subscribe was answered (${errors.length})`);
  for (const t of errors) checkReply("cable error", t, [BOB_BODY, signToken({ sub: "bob", name: "Bob" }, SECRET)]);
  for (const t of texts) assert.ok(!t.includes(BOB_BODY), "bob's private data never reaches eve");
  eve.send(frame(0x88, Buffer.from([0x03, 0xe8])));  // a polite close: abrupt ends are the battery's business
  await closeOf(eve.reader);
  eve.socket.destroy();
  bob.close(); carol.close();
});

test("client-supplied text in the debug log cannot forge a log line", { timeout: 60000 }, async () => {
  const c = await openWs(server.port, { localAddress: A, token: signToken({ sub: "forger" }, SECRET) });
  await c.reader.json((m) => m.type === "welcome");
  const forged = "[2000-01-01 00:00:00.000] [info] FORGED";
  c.send(cmd({ command: "subscribe", identifier: JSON.stringify({ channel: `Nope\n${forged}` }) }));
  c.send(cmd({ command: "subscribe", identifier: JSON.stringify({ channel: "P2PChannel", room: `r\n${forged}` }) }));
  c.send(cmd({ command: `x\n${forged}`, identifier: "{}" }));
  c.send(frame(0x89, "done"));
  await c.reader.until(0xa);
  await logFence();
  c.socket.destroy();
  const lines = server.logs().split("\n");
  assert.deepEqual(lines.filter((l) => l.startsWith(forged)), [], "a newline from a client starts a new log line");
});

/** A whole POST request with its Content-Length. */
function post(path, body, headers = "") {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Asserts one error text a client received reveals nothing it should not. */
function checkReply(what, text, others) {
  const bad = [
    [/\/src\/|\/work\/|\.cpp\b|\.hpp\b|\.h:\d/, "a source path"],
    [/#\d+ 0x[0-9a-f]+|\bat \S+ \(.*:\d+|terminate called|what\(\)|std::|boost::|Traceback|AddressSanitizer/, "a stack trace or C++ internals"],
  ];
  for (const [re, label] of bad) assert.ok(!re.test(text), `${what}: ${label} in ${text.slice(0, 300)}`);
  assert.ok(!text.includes(SECRET), `${what}: the JWT secret`);
  assert.ok(!text.includes(KEY), `${what}: the broadcast key`);
  for (const o of others) assert.ok(!text.includes(o), `${what}: another user's data (${o.slice(0, 16)}…) in ${text.slice(0, 200)}`);
}
