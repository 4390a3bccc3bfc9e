// Presence that scales: coalesced diffs, counts only above --presence-list-max, member pages on request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startPeercable, signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

const room = (r) => JSON.stringify({ channel: "P2PChannel", room: r });

async function client(s, sub) {
  const c = openInboxClient(`${s.wsUrl}?token=${signToken({ sub, name: sub.toUpperCase() })}`, ["actioncable-v1-json"], {}, { name: sub });
  await c.opened;
  await c.take((m) => m.type === "welcome");
  c.subscribe = (r) => c.send({ command: "subscribe", identifier: room(r) });
  c.act = (r, data) => c.send({ command: "message", identifier: room(r), data: JSON.stringify(data) });
  c.msg = (type, extra = () => true) => (m) => m.message?.type === type && extra(m.message);
  return c;
}

test("joins within one window reach the room as one diff, not one event per join", async () => {
  const s = await startPeercable(["--presence-window", "1000"]);
  try {
    const watcher = await client(s, "w");
    watcher.subscribe("burst");
    await watcher.take(watcher.msg("history"));
    const others = await Promise.all(Array.from({ length: 20 }, (_, i) => client(s, `u${String(i).padStart(2, "0")}`)));
    for (const o of others) o.subscribe("burst");
    for (const o of others) await o.take(o.msg("history"));
    // Every join is told, and in at most a few diffs (the burst may straddle a window boundary).
    const seen = new Set();
    let diffs = 0;
    while (seen.size < 20) {
      const d = (await watcher.take(watcher.msg("presence_diff"))).message;
      diffs += 1;
      for (const u of d.joined) seen.add(u.id);
      assert.deepEqual(d.left, []);
    }
    assert.ok(diffs <= 3, `${diffs} diffs for 20 joins in one burst`);
    for (const o of [watcher, ...others]) o.ws.close();
  } finally {
    await s.stop();
  }
});

test("a room above --presence-list-max gets counts, a bounded snapshot, and names a page at a time", async () => {
  const s = await startPeercable(["--presence-list-max", "3", "--presence-window", "50"]);
  try {
    const first = await client(s, "a1");
    first.subscribe("big");
    await first.take(first.msg("history"));
    const rest = [];
    for (const id of ["a2", "a3", "a4", "a5"]) {
      const c = await client(s, id);
      c.subscribe("big");
      await c.take(c.msg("history"));
      rest.push(c);
    }
    const snap = (await rest[3].take(rest[3].msg("presence"))).message;
    assert.equal(snap.count, 5);
    assert.equal(snap.users.length, 3, "the snapshot lists at most --presence-list-max people");
    assert.equal(snap.more, true);
    // Once the room is above the limit, diffs carry only the count.
    const big = (await first.take(first.msg("presence_diff", (m) => m.count === 5))).message;
    assert.equal(big.joined, undefined);
    assert.equal(big.left, undefined);
    // Everyone, a page at a time.
    const ids = [];
    let after;
    for (;;) {
      first.act("big", after ? { action: "members", after } : { action: "members" });
      const page = (await first.take(first.msg("members"))).message;
      assert.ok(page.users.length <= 3);
      assert.equal(page.count, 5);
      ids.push(...page.users.map((u) => u.id));
      if (page.next === null) break;
      after = page.next;
    }
    assert.deepEqual(ids, ["a1", "a2", "a3", "a4", "a5"]);
    first.act("big", { action: "members", after: 7 });
    assert.equal((await first.take(first.msg("error"))).message.code, "invalid_after");
    for (const c of [first, ...rest]) c.ws.close();
  } finally {
    await s.stop();
  }
});

test("--max-rooms: a subscription to one room too many is rejected until an empty room expires", async () => {
  const s = await startPeercable(["--max-rooms", "2", "--room-ttl", "1"]);
  try {
    const c = await client(s, "lim");
    c.subscribe("r1");
    await c.take(c.msg("history"));
    c.subscribe("r2");
    await c.take(c.msg("history"));
    c.subscribe("r3");
    assert.equal((await c.take((m) => m.identifier === room("r3"))).type, "reject_subscription");
    // A live room still takes new subscribers.
    const d = await client(s, "lim2");
    d.subscribe("r1");
    await d.take(d.msg("history"));
    c.send({ command: "unsubscribe", identifier: room("r2") });
    // r2 is empty; once its second of idleness is over it is forgotten and r3 fits.
    const deadline = Date.now() + 10000;
    for (;;) {
      c.subscribe("r3");
      const r = await c.take((m) => m.identifier === room("r3") && m.type !== undefined);
      if (r.type === "confirm_subscription") break;
      assert.equal(r.type, "reject_subscription");
      assert.ok(Date.now() < deadline, "r2 never expired");
      await new Promise((res) => setTimeout(res, 200));
    }
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /peercable_rooms_refused_total [1-9]/);
    c.ws.close(); d.ws.close();
  } finally {
    await s.stop();
  }
});
