// The extended protocol frame by frame with a raw WebSocket client: what plain Action Cable clients keep
// seeing, stream positions, history replays, and bad input (malformed history, huge offsets, unknown epochs,
// another user's sid, expired and unknown sids) getting a clear refusal with nothing else changed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startPeercable, signToken } from "../../lib/peercable.mjs";

const broadcastKey = "resume-protocol-key";
const ext = "actioncable-v1-ext-json";
let server;

before(async () => {
  server = await startPeercable(["--public-streams", "--broadcast-key", broadcastKey, "--session-ttl", "2"]);
});
after(() => server.stop());

/** A raw client: `frames` holds every message, `next(pred)` waits for the first unread one matching. */
async function open(user, { protocol = ext, query = "", headers = {} } = {}) {
  const token = signToken({ sub: user, name: user });
  const ws = new WebSocket(`${server.wsUrl}?token=${token}${query}`, protocol, { headers });
  const frames = [];
  const waiters = [];
  let read = 0;
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === "ping") return;
    frames.push(m);
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const client = {
    ws, frames,
    send: (o) => ws.send(JSON.stringify(o)),
    /** The next message (after those already taken) matching `pred`; those before it are skipped. */
    next(pred = () => true, what = "a message") {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.slice(read))}`)), 5000);
        const check = () => {
          while (read < frames.length) {
            const m = frames[read++];
            if (pred(m)) {
              clearTimeout(timer);
              waiters.splice(waiters.indexOf(check), 1);
              resolve(m);
              return;
            }
          }
        };
        waiters.push(check);
        check();
      });
    },
    close() {
      ws.close();
      return new Promise((r) => ws.once("close", r));
    },
  };
  client.welcome = await client.next((m) => m.type === "welcome", "welcome");
  return client;
}

async function publish(stream, data) {
  const r = await fetch(`${server.url}/broadcast`, {
    method: "POST",
    headers: { authorization: `Bearer ${broadcastKey}`, "content-type": "application/json" },
    body: JSON.stringify({ stream, data }),
  });
  assert.equal(r.status, 202);
}

const idOf = (stream) => JSON.stringify({ channel: "$pubsub", stream_name: stream });

async function subscribe(c, stream, history) {
  const identifier = idOf(stream);
  c.send({ command: "subscribe", identifier, ...(history ? { history } : {}) });
  await c.next((m) => m.type === "confirm_subscription" && m.identifier === identifier, "confirm_subscription");
  return identifier;
}

test("plain clients see Action Cable's frames unchanged; extended ones get a sid and stream positions", async () => {
  const plain = await open("pat", { protocol: "actioncable-v1-json" });
  const extc = await open("eve");
  assert.equal(plain.ws.protocol, "actioncable-v1-json");
  assert.equal(extc.ws.protocol, ext);
  assert.deepEqual(plain.welcome, { type: "welcome" });
  assert.match(extc.welcome.sid, /^[0-9a-f]{32}$/);
  assert.equal(extc.welcome.restored, undefined);
  const id = await subscribe(plain, "positions");
  await subscribe(extc, "positions");
  for (let n = 1; n <= 3; n++) await publish("positions", { n });
  for (let n = 1; n <= 3; n++) {
    const p = await plain.next((m) => m.message);
    assert.deepEqual(p, { identifier: id, message: { n } });
    const e = await extc.next((m) => m.message);
    assert.equal(e.stream_id, "positions");
    assert.equal(e.offset, n);
    assert.match(e.epoch, /^[0-9a-f]+-[0-9a-f]+$/);
    assert.deepEqual(e.message, { n });
  }
  // Extended commands are unknown commands to a plain client: ignored, the connection goes on.
  plain.send({ command: "history", identifier: id, history: { since: 0 } });
  plain.send({ command: "pong" });
  await publish("positions", { n: 4 });
  assert.deepEqual(await plain.next((m) => m.message || m.type), { identifier: id, message: { n: 4 } });
  await plain.close();
  await extc.close();
});

test("history replays after an offset or since a time, exactly once, then confirm_history", async () => {
  const c = await open("hana");
  const id = await subscribe(c, "replay");
  for (let n = 1; n <= 5; n++) await publish("replay", { n });
  const firsts = [];
  for (let n = 1; n <= 5; n++) firsts.push(await c.next((m) => m.message));
  const epoch = firsts[0].epoch;
  // Everything was sent on this connection already: nothing comes twice.
  c.send({ command: "history", identifier: id, history: { streams: { replay: { epoch, offset: 2 } } } });
  const done = await c.next((m) => m.type === "confirm_history" || m.message, "confirm_history");
  assert.deepEqual(done, { identifier: id, type: "confirm_history" });

  // A new connection subscribing with a position gets what came after it, before anything live.
  const d = await open("hana2");
  await subscribe(d, "replay", { since: 0, streams: { replay: { epoch, offset: 2 } } });
  const replayed = [];
  for (let i = 0; i < 3; i++) replayed.push(await d.next((m) => m.message));
  assert.deepEqual(replayed.map((m) => m.offset), [3, 4, 5]);
  assert.deepEqual(await d.next((m) => m.type === "confirm_history"), { identifier: id, type: "confirm_history" });
  await publish("replay", { n: 6 });
  assert.equal((await d.next((m) => m.message)).offset, 6);

  // Only `since`: the broadcasts made since then.
  const e = await open("hana3");
  await subscribe(e, "replay", { since: Math.floor(Date.now() / 1000) - 60 });
  const all = [];
  for (let i = 0; i < 6; i++) all.push(await e.next((m) => m.message));
  assert.deepEqual(all.map((m) => m.offset), [1, 2, 3, 4, 5, 6]);
  await e.next((m) => m.type === "confirm_history");
  for (const x of [c, d, e]) await x.close();
});

test("bad history requests get reject_history and change nothing", async () => {
  const c = await open("ivan");
  const id = await subscribe(c, "bad");
  await publish("bad", { n: 1 });
  const first = await c.next((m) => m.message);
  const bad = [
    { history: "yesterday" },
    { history: { since: -5 } },
    { history: { streams: { bad: { epoch: first.epoch, offset: -1 } } } },
    { history: { streams: { bad: { epoch: first.epoch, offset: "1" } } } },
    { history: { streams: { bad: { offset: 0 } } } },
    { history: { streams: { bad: { epoch: "x".repeat(65), offset: 0 } } } },
    { history: { streams: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`s${i}`, { epoch: "e", offset: 0 }])) } },
    { history: { streams: { bad: { epoch: first.epoch, offset: 2 ** 60 } } } },  // beyond the last offset
    { history: { streams: { bad: { epoch: "not-the-epoch", offset: 0 } } } },   // unknown epoch
    {},                                                                          // no history at all
  ];
  for (const b of bad) {
    c.send({ command: "history", identifier: id, ...b });
    assert.deepEqual(await c.next((m) => m.type || m.message), { identifier: id, type: "reject_history" },
      JSON.stringify(b).slice(0, 80));
  }
  // Not subscribed: refused too.
  c.send({ command: "history", identifier: idOf("elsewhere"), history: { since: 0 } });
  assert.deepEqual(await c.next((m) => m.type || m.message), { identifier: idOf("elsewhere"), type: "reject_history" });
  // A stream the subscription is not on is ignored: nothing learnt about it.
  c.send({ command: "history", identifier: id, history: { streams: { positions: { epoch: first.epoch, offset: 0 } } } });
  assert.deepEqual(await c.next((m) => m.type || m.message), { identifier: id, type: "confirm_history" });
  // The subscription is unchanged: the next broadcast arrives once, with the next offset.
  await publish("bad", { n: 2 });
  const next = await c.next((m) => m.message || m.type);
  assert.equal(next.offset, 2);
  assert.deepEqual(next.message, { n: 2 });
  await c.close();
});

test("sessions: restored by sid; another user's, expired, unknown or empty sids give a fresh session", async () => {
  const a = await open("amy");
  const id = await subscribe(a, "sessions");
  const sid = a.welcome.sid;
  await a.close();

  const fresh = (w) => {
    assert.match(w.sid, /^[0-9a-f]{32}$/);
    assert.notEqual(w.sid, sid);
    assert.equal(w.restored, undefined);
  };
  // Another user with amy's sid: a session of their own, nothing of amy's.
  const b = await open("bill", { query: `&sid=${sid}` });
  fresh(b.welcome);
  await b.close();
  fresh((await open("amy", { query: "&sid=" })).welcome);
  fresh((await open("amy", { query: "&sid=00000000000000000000000000000000" })).welcome);

  // amy's session is still there for amy (header form).
  const back = await open("amy", { headers: { "X-AnyCable-Restore-Sid": sid } });
  assert.equal(back.welcome.restored, true);
  assert.deepEqual(back.welcome.restored_ids, [id]);
  // Held until the history request; then live broadcasts flow again, without a new subscribe.
  back.send({ command: "history", identifier: id, history: { since: 0 } });
  await back.next((m) => m.type === "confirm_history");
  await publish("sessions", { n: 1 });
  assert.deepEqual((await back.next((m) => m.message)).message, { n: 1 });
  // Used up: the same sid again gives a fresh session.
  fresh((await open("amy", { query: `&sid=${sid}` })).welcome);

  // Expired (--session-ttl 2).
  const sid2 = back.welcome.sid;
  await back.close();
  await new Promise((r) => setTimeout(r, 2100));
  fresh((await open("amy", { query: `&sid=${sid2}` })).welcome);
});

test("whisper: relayed as is to the room's other subscribers, never to the sender, never kept", async () => {
  const a = await open("wanda");
  const b = await open("walt");
  const identifier = JSON.stringify({ channel: "P2PChannel", room: "whispers" });
  for (const c of [a, b]) {
    c.send({ command: "subscribe", identifier });
    await c.next((m) => m.type === "confirm_subscription", "confirm_subscription");
  }
  a.send({ command: "whisper", identifier, data: { event: "typing", who: "wanda" } });
  assert.deepEqual(await b.next((m) => m.message?.event === "typing", "the whisper"),
    { identifier, message: { event: "typing", who: "wanda" } });
  // The sender: the next thing on its subscription after the whisper is a later room broadcast, not the whisper.
  await publish("p2p:whispers", { marker: 1 });
  const next = await a.next((m) => m.message?.event === "typing" || m.message?.marker, "the marker");
  assert.deepEqual(next.message, { marker: 1 });
  // Not kept: a history request since long ago brings back the marker only.
  a.send({ command: "history", identifier, history: { since: 0 } });
  const replayed = await a.next((m) => m.type === "confirm_history" || m.message?.event === "typing", "confirm_history");
  assert.equal(replayed.type, "confirm_history");
  // A channel that takes no whispers ignores them; a plain client's whisper is an unknown command.
  const id = await subscribe(a, "nowhisper");
  a.send({ command: "whisper", identifier: id, data: { x: 1 } });
  await publish("nowhisper", { after: 1 });
  assert.deepEqual((await a.next((m) => m.identifier === id && m.message)).message, { after: 1 });
  await a.close();
  await b.close();
});
