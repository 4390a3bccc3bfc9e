// P2PChannel over raw Action Cable frames against the real binary: validation, routing, presence, history.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startPeercable, signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";
import { assertNothingBefore, fenceTag } from "../../lib/drain.mjs";

let server;
before(async () => { server = await startPeercable([]); });
after(async () => { await server.stop(); });

const room = (r) => JSON.stringify({ channel: "P2PChannel", room: r });

/** A connected, welcomed client with an inbox. */
async function client(s, sub, name = sub) {
  const c = openInboxClient(`${s.wsUrl}?token=${signToken({ sub, name })}`, ["actioncable-v1-json"], {}, { name: sub });
  await c.opened;
  Object.assign(c, {
    /**
     * Asserts that nothing matching `pred` came from what `actor` did in room `r` before: the actor speaks a
     * fence into the room, and once it has reached this client (and the actor) what came before it is in too.
     */
    async none(pred, actor, r) {
      const tag = fenceTag();
      const isFence = (m) => m.identifier === room(r) && m.message?.type === "message" && m.message.body === tag;
      await assertNothingBefore(async () => {
        actor.act(r, { action: "speak", body: tag });
        await c.take(isFence);
        if (actor !== c) await actor.take(isFence);
      }, () => c.inbox.filter(pred), `message for ${sub} matching ${pred}`);
    },
    async join(r) {
      c.send({ command: "subscribe", identifier: room(r) });
      await c.take((m) => m.identifier === room(r) && m.type === "confirm_subscription");
      return c.take((m) => m.identifier === room(r) && m.message?.type === "history");
    },
    act: (r, data) => c.send({ command: "message", identifier: room(r), data: JSON.stringify(data) }),
    msg: (type, extra = () => true) => (m) => m.message?.type === type && extra(m.message),
  });
  await c.take((m) => m.type === "welcome");
  return c;
}

test("speak reaches the room with the signed-in identity, never a client-supplied one", async () => {
  const a = await client(server, "u-alice", "Alice");
  const b = await client(server, "u-bob", "Bob");
  await a.join("speak");
  await b.join("speak");
  a.act("speak", { action: "speak", body: "hello <b>", from: { id: "u-bob", name: "Mallory" } });
  for (const c of [a, b]) {
    const m = (await c.take(c.msg("message"))).message;
    assert.equal(m.body, "hello <b>");
    assert.deepEqual(m.from, { id: "u-alice", name: "Alice" });
    assert.equal(m.room, "speak");
    assert.ok(typeof m.id === "string" && m.id.length > 0);
    assert.ok(Math.abs(m.sent_at - Date.now()) < 60000);
  }
  a.ws.close(); b.ws.close();
});

test("direct goes to the target's connections and the sender's other ones, nobody else", async () => {
  const a1 = await client(server, "d-alice");
  const a2 = await client(server, "d-alice");
  const b = await client(server, "d-bob");
  const c = await client(server, "d-carol");
  for (const x of [a1, a2, b, c]) await x.join("dm");
  a1.act("dm", { action: "direct", to: "d-bob", body: "psst" });
  for (const x of [a1, a2, b]) {
    const m = (await x.take(x.msg("direct"))).message;
    assert.equal(m.to, "d-bob");
    assert.equal(m.body, "psst");
    assert.equal(m.from.id, "d-alice");
  }
  await c.none(c.msg("direct"), a1, "dm");
  for (const x of [a1, a2, b, c]) x.ws.close();
});

test("signal relays an opaque object to the target only", async () => {
  const a = await client(server, "s-alice");
  const b = await client(server, "s-bob");
  const c = await client(server, "s-carol");
  for (const x of [a, b, c]) await x.join("call");
  const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", nested: [1, { x: null }] };
  a.act("call", { action: "signal", to: "s-bob", signal: offer });
  const m = (await b.take(b.msg("signal"))).message;
  assert.deepEqual(m.signal, offer);
  assert.equal(m.from.id, "s-alice");
  await c.none(c.msg("signal"), a, "call");
  await a.none(a.msg("signal"), a, "call");
  a.act("call", { action: "signal", to: "s-bob", signal: { blob: "x".repeat(70000) } });
  const err = (await a.take(a.msg("error"))).message;
  assert.equal(err.code, "signal_too_large");
  for (const x of [a, b, c]) x.ws.close();
});

test("invalid input gets an error on that subscription only, and nothing is broadcast", async () => {
  const a = await client(server, "v-alice");
  const b = await client(server, "v-bob");
  await a.join("valid");
  await b.join("valid");
  const cases = [
    [{ action: "speak", body: "" }, "empty_body"],
    [{ action: "speak", body: " \n\t " }, "empty_body"],
    [{ action: "speak", body: 42 }, "invalid_body"],
    [{ action: "speak" }, "invalid_body"],
    [{ action: "speak", body: "x".repeat(4097) }, "body_too_long"],
    [{ action: "direct", body: "hi" }, "invalid_recipient"],
    [{ action: "signal", to: "v-bob", signal: "not an object" }, "invalid_signal"],
    [{ action: "nope" }, "unknown_action"],
  ];
  for (const [data, code] of cases) {
    a.act("valid", data);
    const err = (await a.take(a.msg("error"))).message;
    assert.equal(err.code, code, JSON.stringify(data));
    assert.ok(err.message.length > 0);
  }
  await b.none((m) => m.identifier && m.message && m.message.type !== "presence_diff" && m.message.type !== "presence", a, "valid");
  a.act("valid", { action: "speak", body: "ok\u0001\u0007 fine\n\tline\u0085" });
  const m = (await b.take(b.msg("message"))).message;
  assert.equal(m.body, "ok fine\n\tline", "control characters other than newline and tab are removed");
  a.ws.close(); b.ws.close();
});

test("rooms are validated: missing, empty, too long or odd characters are rejected", async () => {
  const a = await client(server, "r-alice");
  for (const ident of [
    JSON.stringify({ channel: "P2PChannel" }),
    JSON.stringify({ channel: "P2PChannel", room: "" }),
    JSON.stringify({ channel: "P2PChannel", room: "x".repeat(65) }),
    JSON.stringify({ channel: "P2PChannel", room: "a b" }),
    JSON.stringify({ channel: "P2PChannel", room: "<script>" }),
    JSON.stringify({ channel: "P2PChannel", room: 7 }),
  ]) {
    a.send({ command: "subscribe", identifier: ident });
    const r = await a.take((m) => m.identifier === ident);
    assert.equal(r.type, "reject_subscription", ident);
  }
  await a.join("ok_room-1.2:3");
  a.ws.close();
});

test("presence: a snapshot on subscribe, coalesced diffs, one join and one leave per user whatever the tabs", async () => {
  const a = await client(server, "p-alice", "Alice");
  await a.join("pres");
  const b1 = await client(server, "p-bob", "Bob");
  b1.send({ command: "subscribe", identifier: room("pres") });
  const snap = (await b1.take(b1.msg("presence"))).message;
  assert.deepEqual(snap.users.map((u) => u.id).sort(), ["p-alice", "p-bob"]);
  assert.equal(snap.count, 2);
  assert.equal(snap.more, false);
  // Diffs in order: Alice's own join (maybe in the same window), then Bob's.
  let joined;
  do {
    joined = (await a.take(a.msg("presence_diff"))).message;
    assert.deepEqual(joined.left, []);
    for (const u of joined.joined) assert.ok(["p-alice", "p-bob"].includes(u.id), u.id);
  } while (!joined.joined.some((u) => u.id === "p-bob"));
  assert.ok(joined.joined.some((u) => u.id === "p-bob" && u.name === "Bob"));
  assert.equal(joined.count, 2);
  // A second tab of Bob is no change; Carol's join, which comes after it, is the next diff Alice sees.
  const b2 = await client(server, "p-bob", "Bob");
  await b2.join("pres");
  const c = await client(server, "p-carol", "Carol");
  await c.join("pres");
  const next = (await a.take(a.msg("presence_diff"))).message;
  assert.deepEqual(next.joined, [{ id: "p-carol", name: "Carol" }]);
  assert.equal(next.count, 3);
  // Bob's first tab closing is no leave; Carol's leave, after it, is the next diff.
  b1.ws.close();
  await b1.closed;
  c.send({ command: "unsubscribe", identifier: room("pres") });
  const carolLeft = (await a.take(a.msg("presence_diff"))).message;
  assert.deepEqual(carolLeft.left, [{ id: "p-carol", name: "Carol" }]);
  assert.deepEqual(carolLeft.joined, []);
  assert.equal(carolLeft.count, 2);
  b2.send({ command: "unsubscribe", identifier: room("pres") });
  const left = (await a.take(a.msg("presence_diff"))).message;
  assert.deepEqual(left.left, [{ id: "p-bob", name: "Bob" }]);
  assert.equal(left.count, 1);
  a.ws.close(); b2.ws.close(); c.ws.close();
});

test("history is replayed to new subscribers and survives a restart with the same data dir", async () => {
  const s = await startPeercable(["--history-size", "3"]);
  let a = await client(s, "h-alice");
  await a.join("hist");
  for (let i = 1; i <= 5; i++) {
    a.act("hist", { action: "speak", body: `m${i}` });
    await a.take(a.msg("message", (m) => m.body === `m${i}`));
  }
  a.ws.close();
  await s.stop();
  const again = await startPeercable(["--history-size", "3", "--data-dir", s.dataDir], { port: s.port });
  try {
    const b = await client(again, "h-bob");
    const hist = await b.join("hist");
    assert.deepEqual(hist.message.messages.map((m) => m.body), ["m3", "m4", "m5"]);
    b.ws.close();
  } finally {
    await again.stop();
  }
});

test("typing is an ephemeral room event and is not kept in history", async () => {
  const a = await client(server, "t-alice");
  const b = await client(server, "t-bob");
  await a.join("typ");
  await b.join("typ");
  a.act("typ", { action: "typing" });
  const t = (await b.take(b.msg("typing"))).message;
  assert.equal(t.from.id, "t-alice");
  const c = await client(server, "t-carol");
  const hist = await c.join("typ");
  assert.equal(hist.message.messages.length, 0);
  for (const x of [a, b, c]) x.ws.close();
});
