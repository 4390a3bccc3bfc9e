// permessage-deflate with real clients: what every offer gets back, broadcasts compressed once per message and
// shared, client messages inflated by the loop's shared inflater, and the opt-in per-connection context.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, inflateRawSync, constants } from "node:zlib";
import WebSocket from "ws";
import { startPeercable, signToken } from "../../lib/peercable.mjs";
import { frame, openRaw } from "./rawclient.mjs";

let server;
before(async () => { server = await startPeercable(["--max-commands-per-second", "0"]); });
after(async () => { await server.stop(); });

const room = (r) => JSON.stringify({ channel: "P2PChannel", room: r });
const tail = Buffer.from([0x00, 0x00, 0xff, 0xff]);
// Each message inflated alone, by a fresh inflater: what no context takeover promises.
const inflateAlone = (payload) => JSON.parse(inflateRawSync(Buffer.concat([payload, tail]), { finishFlush: constants.Z_SYNC_FLUSH }).toString());
const textOf = (f) => (f.rsv1 ? inflateAlone(f.payload) : JSON.parse(f.payload.toString()));

/** A raw client's next text message satisfying `pred`, with the frame it came in. */
async function next(conn, pred, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const f = await conn.reader.next(Math.max(1, deadline - Date.now()));
    if (f.eof) throw new Error("closed while waiting");
    if (f.opcode !== 1) continue;
    const m = textOf(f);
    if (pred(m)) return { m, f };
  }
}

async function rawMember(s, sub, extensions, r) {
  const extra = extensions ? { "Sec-WebSocket-Extensions": extensions } : {};
  const c = await openRaw(s.port, signToken({ sub, name: sub }), extra);
  await next(c, (m) => m.type === "welcome");
  c.send(frame(0x81, JSON.stringify({ command: "subscribe", identifier: room(r) })));
  await next(c, (m) => m.type === "confirm_subscription");
  return c;
}

test("a Chromium-like offer gets no context takeover both ways; broadcasts arrive compressed, each one alone", async () => {
  const z = await rawMember(server, "z-chromium", "permessage-deflate; client_max_window_bits", "deflate-a");
  assert.equal(z.headers["sec-websocket-extensions"],
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  const plain = await rawMember(server, "z-plain", null, "deflate-a");
  assert.equal(plain.headers["sec-websocket-extensions"], undefined);
  const speaker = await rawMember(server, "z-speaker", null, "deflate-a");
  const bodies = ["a chat line, said once", "short", "second ".repeat(40)];
  for (const body of bodies)
    speaker.send(frame(0x81, JSON.stringify({ command: "message", identifier: room("deflate-a"), data: JSON.stringify({ action: "speak", body }) })));
  for (const body of bodies) {
    const got = await next(z, (m) => m.message?.type === "message");
    assert.equal(got.m.message.body, body);
    // Chat envelopes (over --deflate-min-size, 128 bytes) compressed, and inflatable with no history.
    assert.equal(got.f.rsv1, true, `RSV1 for ${body.slice(0, 10)}`);
    const p = await next(plain, (m) => m.message?.type === "message");
    assert.equal(p.f.rsv1, false);
    assert.deepEqual(p.m, got.m);
  }
  for (const c of [z, plain, speaker]) c.socket.destroy();
});

test("compressed client messages are inflated (the loop's shared inflater, interleaved clients)", async () => {
  const offer = "permessage-deflate; client_max_window_bits";
  const a = await rawMember(server, "zc-a", offer, "deflate-b");
  const b = await rawMember(server, "zc-b", offer, "deflate-b");
  const listener = await rawMember(server, "zc-l", null, "deflate-b");
  const compressed = (obj) => {
    const z = deflateRawSync(Buffer.from(JSON.stringify(obj)), { finishFlush: constants.Z_SYNC_FLUSH });
    return z.subarray(0, z.length - 4);
  };
  const speak = (body) => ({ command: "message", identifier: room("deflate-b"), data: JSON.stringify({ action: "speak", body }) });
  for (let i = 0; i < 3; i++) {
    a.send(frame(0xc1, compressed(speak(`from a ${i} `.repeat(20)))));
    // b's message in two fragments: RSV1 on the first only (RFC 7692 §6.1).
    const zb = compressed(speak(`from b ${i} `.repeat(20)));
    b.send(Buffer.concat([frame(0x41, zb.subarray(0, 10)), frame(0x80, zb.subarray(10))]));
  }
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push((await next(listener, (m) => m.message?.type === "message")).m.message.body);
  for (let i = 0; i < 3; i++) {
    assert.ok(seen.includes(`from a ${i} `.repeat(20)));
    assert.ok(seen.includes(`from b ${i} `.repeat(20)));
  }
  for (const c of [a, b, listener]) c.socket.destroy();
});

/** A welcomed, subscribed `ws` client collecting room messages. */
async function wsMember(s, sub, perMessageDeflate, r) {
  const ws = new WebSocket(`${s.wsUrl}?token=${signToken({ sub, name: sub })}`, ["actioncable-v1-json"], { perMessageDeflate });
  const agreed = new Promise((res) => ws.once("upgrade", (u) => res(u.headers["sec-websocket-extensions"])));
  const got = [];
  let wake = () => {};
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier: room(r) }));
    got.push(m);
    wake();
  });
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  const until = async (pred, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!pred() && Date.now() < deadline) await new Promise((res) => { wake = res; setTimeout(res, 50); });
    assert.ok(pred(), `${sub}: timed out; got ${JSON.stringify(got).slice(0, 300)}`);
  };
  await until(() => got.some((m) => m.type === "confirm_subscription"));
  return { ws, got, until, agreed: await agreed,
    speak: (body) => ws.send(JSON.stringify({ command: "message", identifier: room(r), data: JSON.stringify({ action: "speak", body }) })) };
}

test("node ws clients: compressed broadcasts and compressed client messages round-trip, with and without deflate", async () => {
  const clients = [
    await wsMember(server, "w-z1", { threshold: 0 }, "deflate-c"),
    await wsMember(server, "w-z2", { threshold: 0, serverMaxWindowBits: 10 }, "deflate-c"),
    await wsMember(server, "w-plain", false, "deflate-c"),
  ];
  assert.equal(clients[0].agreed, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  assert.equal(clients[1].agreed,
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
  const bodies = [];
  for (let i = 0; i < 10; i++) {
    const c = clients[i % 3];
    const body = `message ${i}: ` + "lorem ipsum dolor sit amet ".repeat(i * 3);
    bodies.push(body);
    c.speak(body);
    await clients[0].until(() => clients[0].got.filter((m) => m.message?.type === "message").length > i);
  }
  for (const c of clients) {
    await c.until(() => c.got.filter((m) => m.message?.type === "message").length === bodies.length);
    assert.deepEqual(c.got.filter((m) => m.message?.type === "message").map((m) => m.message.body), bodies);
    c.ws.close();
  }
});

test("--deflate-context-takeover: per-connection context, messages both ways still intact", async () => {
  const s = await startPeercable(["--deflate-context-takeover", "--deflate-window-bits", "12", "--max-commands-per-second", "0"]);
  try {
    const a = await wsMember(s, "t-a", { threshold: 0 }, "takeover");
    const b = await wsMember(s, "t-b", { threshold: 0, clientNoContextTakeover: true }, "takeover");
    // ws offers client_max_window_bits, so our window limits the client's too.
    assert.equal(a.agreed, "permessage-deflate; client_max_window_bits=12");
    // A client that keeps no context needs no window limit.
    assert.equal(b.agreed, "permessage-deflate; client_no_context_takeover");
    const bodies = [];
    for (let i = 0; i < 8; i++) {
      const body = `takeover ${i} ` + "the same words again and again ".repeat(10);
      bodies.push(body);
      (i % 2 ? b : a).speak(body);
    }
    for (const c of [a, b]) {
      await c.until(() => c.got.filter((m) => m.message?.type === "message").length === bodies.length);
      // Two senders: the order between them is not fixed (ws compresses asynchronously); the contents are.
      assert.deepEqual(c.got.filter((m) => m.message?.type === "message").map((m) => m.message.body).sort(), [...bodies].sort());
      c.ws.close();
    }
  } finally {
    await s.stop();
  }
});
