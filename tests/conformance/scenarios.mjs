// The conformance scenarios. Each one drives a Session (see harness.mjs) against one server; the suite runs
// it against Rails and against peercable and compares the recorded transcripts. Expected counts in the
// steps are what Rails sends; they only decide how long a step waits, the comparison decides the verdict.
import { signToken, testSecret } from "../lib/peercable.mjs";
import { rawRequest, httpGet, EXPECT_TIMEOUT_MS } from "./harness.mjs";

const ALICE = { sub: "alice", name: "Alice" };
const BOB = { sub: "bob", name: "Bob" };
const tokenQuery = (claims = ALICE) => `token=${signToken(claims)}`;

const p2p = (room) => JSON.stringify({ channel: "P2PChannel", room });
const BENCH = JSON.stringify({ channel: "BenchmarkChannel" });
const subscribe = (identifier) => ({ command: "subscribe", identifier });
const unsubscribe = (identifier) => ({ command: "unsubscribe", identifier });
const message = (identifier, data) => ({ command: "message", identifier, data: JSON.stringify(data) });

function b64url(v) {
  return Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
}

/** Every scenario: { name, run(session) }. Order matters only for the last one (it stops the server). */
export const SCENARIOS = [
  // ---- handshake -------------------------------------------------------------------------------
  {
    name: "handshake: both subprotocols offered (raw TCP)",
    async run(s) {
      s.lines.push(...(await rawRequest(s.target.port, {
        path: `/cable?${tokenQuery()}`,
        headers: { "Sec-WebSocket-Protocol": "actioncable-v1-json, actioncable-unsupported" },
      })));
    },
  },
  {
    name: "handshake: only foo offered (raw TCP)",
    async run(s) {
      s.lines.push(...(await rawRequest(s.target.port, { path: `/cable?${tokenQuery()}`, headers: { "Sec-WebSocket-Protocol": "foo" } })));
    },
  },
  {
    name: "handshake: no subprotocol offered (raw TCP)",
    async run(s) {
      s.lines.push(...(await rawRequest(s.target.port, { path: `/cable?${tokenQuery()}` })));
    },
  },
  {
    name: "handshake: only actioncable-unsupported offered (raw TCP)",
    async run(s) {
      s.lines.push(...(await rawRequest(s.target.port, { path: `/cable?${tokenQuery()}`, headers: { "Sec-WebSocket-Protocol": "actioncable-unsupported" } })));
    },
  },
  {
    name: "handshake: unauthorized, exact bytes incl. close frame (raw TCP)",
    async run(s) {
      s.lines.push(...(await rawRequest(s.target.port, { path: "/cable", headers: { "Sec-WebSocket-Protocol": "actioncable-v1-json" }, frames: 2 })));
    },
  },
  {
    name: "handshake: only foo offered (ws client)",
    async run(s) {
      await s.open("alice", { query: tokenQuery(), protocols: ["foo"] });
    },
  },
  {
    name: "handshake: no subprotocol offered (ws client), then subscribe",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery(), protocols: [] });
      await s.send(a, subscribe(p2p("hs-none")), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "handshake: only actioncable-unsupported offered (ws client)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery(), protocols: ["actioncable-unsupported"] });
      await s.close(a);
    },
  },
  {
    name: "handshake: foreign Origin header",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery(), headers: { Origin: "http://evil.example" } });
      await s.close(a);
    },
  },

  // ---- welcome, pings, authentication -----------------------------------------------------------
  {
    name: "welcome, then application pings every 3 s",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const deadline = Date.now() + 8000;
      while (a.pings.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const now = Date.now() / 1000;
      const shapes = a.pings.slice(0, 2).map(({ raw }) => {
        const j = JSON.parse(raw);
        const okShape = raw === `{"type":"ping","message":${j.message}}` && Number.isInteger(j.message);
        return okShape && Math.abs(j.message - now) < 30 ? "ping {type,message:<unix seconds>}" : `bad ping ${raw}`;
      });
      s.lines.push(`pings within 8 s: ${a.pings.length >= 2 ? "at least 2" : a.pings.length}`, ...shapes);
      if (a.pings.length >= 2) {
        const gap = a.pings[1].at - a.pings[0].at;
        s.lines.push(`gap between pings ${gap > 1500 && gap < 5000 ? "about 3 s" : `${gap} ms`}`);
      }
      await s.close(a);
    },
  },
  {
    name: "unauthorized: no token, empty token",
    async run(s) {
      await s.open("none", { expect: 2 });
      await s.open("empty", { query: "token=", expect: 2 });
    },
  },
  {
    name: "unauthorized: bad signature, expired, no sub, alg none, garbage",
    async run(s) {
      await s.open("badsig", { query: `token=${signToken(ALICE, testSecret + "x")}`, expect: 2 });
      await s.open("expired", { query: `token=${signToken({ ...ALICE, exp: Math.floor(Date.now() / 1000) - 60 })}`, expect: 2 });
      await s.open("nosub", { query: `token=${signToken({ name: "Nobody" })}`, expect: 2 });
      const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      await s.open("algnone", { query: `token=${none}`, expect: 2 });
      await s.open("garbage", { query: "token=not.a.jwt", expect: 2 });
      await s.open("notyet", { query: `token=${signToken({ ...ALICE, nbf: Math.floor(Date.now() / 1000) + 600 })}`, expect: 2 });
      await s.open("longsub", { query: `token=${signToken({ sub: "u".repeat(129) })}`, expect: 2 });
      await s.open("objsub", { query: `token=${signToken({ sub: { id: "alice" } })}`, expect: 2 });
    },
  },
  {
    name: "token claims: numeric sub, missing name, long multibyte name",
    async run(s) {
      const a = await s.open("numeric", { query: `token=${signToken({ sub: 42 })}` });
      const b = await s.open("longname", { query: `token=${signToken({ sub: "erin", name: "n".repeat(79) + "é and more" })}` });
      const room = p2p("conf-claims");
      await s.send(a, subscribe(room), { expect: 1 });
      await s.send(b, subscribe(room), { expect: { longname: 1 } });
      await s.send(a, message(room, { action: "typing" }), { expect: { numeric: 1, longname: 1 } });
      await s.send(b, message(room, { action: "typing" }), { expect: { numeric: 1, longname: 1 } });
      await s.close(a);
      await s.close(b);
    },
  },
  {
    name: "authorized through Authorization: Bearer and through the peercable_token cookie",
    async run(s) {
      const a = await s.open("bearer", { headers: { Authorization: `Bearer ${signToken(ALICE)}` } });
      const b = await s.open("cookie", { headers: { Cookie: `peercable_token=${signToken(BOB)}` } });
      await s.close(a);
      await s.close(b);
    },
  },

  // ---- subscriptions ------------------------------------------------------------------------------
  {
    name: "subscribe, confirm, speak, direct to self",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-basic");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "hello" }), { expect: 1 });
      await s.send(a, message(id, { action: "direct", to: "alice", body: "to myself" }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "subscribe sent before welcome is confirmed after it",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery(), onOpenSend: subscribe(p2p("conf-early")), expect: 2 });
      await s.close(a);
    },
  },
  {
    name: "reject: no room, again, empty room, invalid rooms, then message to the rejected identifier",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const noRoom = JSON.stringify({ channel: "P2PChannel" });
      await s.send(a, subscribe(noRoom), { expect: 1 });
      await s.send(a, message(noRoom, { action: "speak", body: "x" }));
      await s.send(a, subscribe(noRoom), { expect: 1 });
      await s.send(a, subscribe(p2p("")), { expect: 1 });
      await s.send(a, subscribe(p2p("has space")), { expect: 1 });
      await s.send(a, subscribe(p2p("x".repeat(65))), { expect: 1 });
      await s.send(a, subscribe(p2p("semi;colon")), { expect: 1 });
      await s.send(a, subscribe(JSON.stringify({ channel: "P2PChannel", room: 42 })), { expect: 1 });
      await s.send(a, subscribe(p2p("A-z_0.9:" + "x".repeat(56))), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "duplicate subscribe with the same identifier is ignored",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-dup");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, subscribe(id));
      await s.send(a, message(id, { action: "speak", body: "once?" }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "same params, different identifier string: two subscriptions",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-order");
      const reordered = JSON.stringify({ room: "conf-order", channel: "P2PChannel" });
      const spaced = '{ "channel": "P2PChannel", "room": "conf-order", "x": "<&>" }';
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, subscribe(reordered), { expect: 1 });
      await s.send(a, subscribe(spaced), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "three identifiers, same room" }), { expect: 3, unordered: true });
      await s.close(a);
    },
  },
  {
    name: "unsubscribe: silent; message and unsubscribe afterwards silent; resubscribe confirmed",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-unsub");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, unsubscribe(id));
      await s.send(a, message(id, { action: "speak", body: "after unsubscribe" }));
      await s.send(a, unsubscribe(id));
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "back" }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "unsubscribed stream gets no more broadcasts",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const b = await s.open("bob", { query: tokenQuery(BOB) });
      const id = p2p("conf-unsub2");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(b, subscribe(id), { expect: 1 });
      await s.send(a, unsubscribe(id));
      await s.send(b, message(id, { action: "speak", body: "only bob hears this" }), { expect: { bob: 1 } });
      await s.close(a);
      await s.close(b);
    },
  },

  // ---- bad input (transcripts §5-§7) -------------------------------------------------------------
  {
    name: "invalid JSON and non-object commands are ignored (§5)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, "this is not json");
      await s.send(a, '{"command":"subscribe",');
      await s.send(a, "[1,2,3]");
      await s.send(a, '"just a string"');
      await s.send(a, "null");
      await s.send(a, "42");
      await s.send(a, "");
      await s.send(a, subscribe(p2p("conf-badjson")), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "binary frame is ignored (§5b)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, Buffer.from(JSON.stringify(subscribe(p2p("conf-binary")))), { binary: true });
      await s.send(a, subscribe(p2p("conf-binary2")), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "text frame with invalid UTF-8",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false, expect: 1 });
    },
  },
  {
    name: "unknown or missing command, bad identifier, bad data, unknown action (§6)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-bad");
      await s.send(a, { command: "foo", identifier: id });
      await s.send(a, { identifier: id });
      await s.send(a, { command: "subscribe", identifier: "not json" });
      await s.send(a, { command: "subscribe", identifier: { channel: "P2PChannel", room: "conf-bad" } });
      await s.send(a, { command: "subscribe" });
      await s.send(a, { command: "subscribe", identifier: "[1,2]" });
      await s.send(a, message(id, { action: "speak", body: "not subscribed" }));
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, { command: "message", identifier: id, data: "not json" });
      await s.send(a, { command: "message", identifier: id, data: { action: "speak", body: "data as object" } });
      await s.send(a, { command: "message", identifier: id });
      await s.send(a, message(id, { action: "no_such_action" }));
      await s.send(a, message(id, { body: "no action key" }));
      await s.send(a, message(id, { action: "x".repeat(63) + "é" }));
      await s.send(a, message(id, { action: "speak", body: "still works" }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "action named after a callback (subscribed) (§6)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-callback");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, message(id, { action: "subscribed" }));
      await s.send(a, message(id, { action: "unsubscribed" }));
      await s.send(a, message(id, { action: "speak", body: "how many copies?" }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "unknown channel is ignored, not rejected (§7)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(JSON.stringify({ channel: "NoSuchChannel" })));
      await s.send(a, subscribe(JSON.stringify({ channel: "String" })));
      await s.send(a, subscribe(JSON.stringify({ room: "lobby" })));
      await s.send(a, subscribe(JSON.stringify({ channel: 5 })));
      await s.send(a, subscribe(JSON.stringify({ channel: "BenchmarkChannel" })), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "ApplicationCable::Channel is subscribable in Rails (§7)",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(JSON.stringify({ channel: "ApplicationCable::Channel" })), { expect: 1 });
      await s.close(a);
    },
  },

  // ---- BenchmarkChannel ---------------------------------------------------------------------------
  {
    name: "BenchmarkChannel echo and broadcast",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const b = await s.open("bob", { query: tokenQuery(BOB) });
      await s.send(a, subscribe(BENCH), { expect: 1 });
      await s.send(b, subscribe(BENCH), { expect: 1 });
      await s.send(a, message(BENCH, { action: "echo", payload: { n: 1, s: "x" } }), { expect: 1 });
      await s.send(a, message(BENCH, { action: "broadcast", payload: "fanout" }), { expect: { alice: 2, bob: 1 }, unordered: true });
      await s.send(a, message(BENCH, { payload: "x", action: "broadcast" }), { expect: { alice: 2, bob: 1 }, unordered: true });
      await s.close(a);
      await s.close(b);
    },
  },
  {
    name: "BenchmarkChannel echo: JSON escaping of strings",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(BENCH), { expect: 1 });
      const str = "<b>&amp;</b> ' \" \\ / é 😀 \u2028 \u2029 \u0001 \t \u007f \u001f";
      await s.send(a, message(BENCH, { action: "echo", s: str, k: { "<key>": "&" } }), { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "BenchmarkChannel echo: numbers, literals, nesting",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(BENCH), { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","n":1.5,"i":-7,"z":0,"t":true,"f":false,"nul":null,"a":[],"o":{},"deep":[[1,[2,{"x":[]}]]]}' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","big":12345678901234567000,"e":1e+21,"small":1e-7,"neg":-0.5,"exp":2E3}' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{ "action" : "echo" , "ws" : [ 1 , 2 ] }' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","a":1e16,"b":1e15,"c":0.0001,"d":0.00001,"e":5e-324,"f":1.7976931348623157e308,"g":0.30000000000000004,"h":1.0,"i":-0,"j":-0.0,"k":100e0,"l":123456789.123456789,"m":1234567890123456.0,"n":999999999999999.9,"o":100000000000000.0}' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","esc":"\\u00e9\\u0041\\/\\b\\f\\n\\r\\ud83d\\ude00"}' }, { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "BenchmarkChannel echo: duplicate keys, integers beyond 64 bits, overflowing floats",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(BENCH), { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","dup":1,"x":0,"dup":2}' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","huge":123456789012345678901234567890}' }, { expect: 1 });
      await s.send(a, { command: "message", identifier: BENCH, data: '{"action":"echo","inf":1e400}' }, { expect: 1 });
      await s.close(a);
    },
  },
  {
    name: "BenchmarkChannel echo of 1 MiB",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(BENCH), { expect: 1 });
      const big = "x".repeat(1 << 20);
      await s.send(a, message(BENCH, { action: "echo", s: big }), { expect: 1 });
      const got = a.raw.find((r) => r.raw.length > big.length);
      const want = `{"identifier":${JSON.stringify(BENCH)},"message":{"action":"echo","s":"${big}"}}`;
      s.lines.push(`1 MiB echo ${got && got.raw === want ? "came back intact" : "MISSING OR ALTERED"}`);
      await s.close(a);
    },
  },

  // ---- P2PChannel between users -------------------------------------------------------------------
  {
    name: "P2P: speak, typing, direct and signal between two users",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const b = await s.open("bob", { query: tokenQuery(BOB) });
      const id = p2p("conf-two");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(b, subscribe(id), { expect: { bob: 1 } });
      await s.send(a, message(id, { action: "speak", body: "hi bob" }), { expect: { alice: 1, bob: 1 } });
      await s.send(b, message(id, { action: "typing" }), { expect: { alice: 1, bob: 1 } });
      await s.send(a, message(id, { action: "direct", to: "bob", body: "psst" }), { expect: { alice: 1, bob: 1 } });
      await s.send(a, message(id, { action: "signal", to: "bob", signal: { type: "offer", sdp: "v=0\r\n" } }), { expect: { bob: 1 } });
      await s.send(b, message(id, { action: "signal", to: "alice", signal: { type: "answer", sdp: "v=0\r\n" } }), { expect: { alice: 1 } });
      await s.send(b, message(id, { action: "signal", to: "alice", signal: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } }), { expect: { alice: 1 } });
      await s.close(a);
      await s.close(b);
    },
  },
  {
    name: "P2P: direct reaches every subscription of the target; other rooms don't hear speak",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const b = await s.open("bob", { query: tokenQuery(BOB) });
      const r1 = p2p("conf-r1");
      const r2 = p2p("conf-r2");
      await s.send(a, subscribe(r1), { expect: 1 });
      await s.send(b, subscribe(r1), { expect: { bob: 1 } });
      await s.send(b, subscribe(r2), { expect: { bob: 1 } });
      await s.send(a, message(r1, { action: "speak", body: "room one" }), { expect: { alice: 1, bob: 1 } });
      await s.send(a, message(r1, { action: "direct", to: "bob", body: "both of your rooms" }), { expect: { alice: 1, bob: 2 }, unordered: true });
      await s.send(a, message(r1, { action: "direct", to: "nobody-here", body: "offline" }), { expect: { alice: 1 } });
      await s.close(a);
      await s.close(b);
    },
  },
  {
    name: "P2P: invalid input answers an error on that subscription only",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      const id = p2p("conf-err");
      const other = p2p("conf-err-other");
      await s.send(a, subscribe(id), { expect: 1 });
      await s.send(a, subscribe(other), { expect: 1 });
      await s.send(a, message(id, { action: "speak" }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "" }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: 5 }), { expect: 1 });
      await s.send(a, message(id, { action: "direct", body: "no target" }), { expect: 1 });
      await s.send(a, message(id, { action: "direct", to: "bob" }), { expect: 1 });
      await s.send(a, message(id, { action: "signal", to: "bob", signal: "not an object" }), { expect: 1 });
      await s.send(a, message(id, { action: "signal", signal: { type: "offer" } }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: " \n\t " }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "\u0001\u007f\u0085" }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "y".repeat(4097) }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "é".repeat(2048) }), { expect: 1 });
      await s.send(a, message(id, { action: "direct", to: "t".repeat(129), body: "x" }), { expect: 1 });
      await s.send(a, message(id, { action: "direct", to: 7, body: "x" }), { expect: 1 });
      await s.send(a, message(id, { action: "signal", to: "bob", signal: { sdp: "s".repeat(70000) } }), { expect: 1 });
      await s.send(a, message(id, { action: "signal", to: "bob", signal: [1, 2] }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "fine" }), { expect: 1 });
      await s.send(a, message(id, { action: "speak", body: "a\u0001b\rc\u0085d\u00a0e\n\tf <&> \u2028" }), { expect: 1 });
      await s.close(a);
    },
  },

  {
    name: "client offers permessage-deflate",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery(), deflate: true });
      s.lines.push(`negotiated extensions: ${JSON.stringify(a.ws.extensions)}`);
      await s.send(a, subscribe(BENCH), { expect: 1 });
      await s.send(a, message(BENCH, { action: "echo", s: "z".repeat(2000) }), { expect: 1 });
      await s.close(a);
    },
  },

  // ---- plain HTTP ---------------------------------------------------------------------------------
  {
    name: "plain HTTP GET /cable (no upgrade)",
    async run(s) {
      s.lines.push(...(await httpGet(s.target.port, "/cable")));
    },
  },
  {
    name: "upgrade on a wrong path",
    async run(s) {
      await s.open("alice", { path: "/nope", query: tokenQuery(), expect: 1 });
      const raw = await rawRequest(s.target.port, { path: `/nope?${tokenQuery()}`, headers: { "Sec-WebSocket-Protocol": "actioncable-v1-json" } });
      s.lines.push(raw[0], raw[raw.length - 1]);
    },
  },

  // ---- WebSocket control frames and closing ---------------------------------------------------------
  {
    name: "WebSocket ping control frame is answered with a pong",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.ping(a, "are you there");
      await s.close(a);
    },
  },
  {
    name: "client close 1000 is answered with close 1000; 4000 likewise",
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.close(a);
      const b = await s.open("bob", { query: tokenQuery(BOB) });
      await s.close(b, { code: 4000 });
    },
  },

  // ---- must stay last: stops the server -----------------------------------------------------------
  {
    name: "server shutdown (SIGTERM) with a subscribed client",
    stopsServer: true,
    async run(s) {
      const a = await s.open("alice", { query: tokenQuery() });
      await s.send(a, subscribe(p2p("conf-shutdown")), { expect: 1 });
      s.lines.push("# server receives SIGTERM");
      const stopped = s.target.stop("SIGTERM");
      await s.wait({ alice: 1 });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, EXPECT_TIMEOUT_MS))]);
    },
  },
];
