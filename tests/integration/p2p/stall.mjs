// The stalled-store scenario shared by the SQLite and Redis tests: while the store cannot answer, a bystander
// in another room keeps exchanging messages, and a newcomer waits for its history.
import assert from "node:assert/strict";
import { signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

export const room = (r) => JSON.stringify({ channel: "P2PChannel", room: r });

/** A welcomed client with subscribe/speak helpers. */
export async function stallClient(s, sub) {
  const c = openInboxClient(`${s.wsUrl}?token=${signToken({ sub, name: sub })}`, ["actioncable-v1-json"], {}, { name: sub, timeoutMs: 20000 });
  await c.opened;
  await c.take((m) => m.type === "welcome");
  c.subscribe = (r) => c.send({ command: "subscribe", identifier: room(r) });
  c.speak = (r, body) => c.send({ command: "message", identifier: room(r), data: JSON.stringify({ action: "speak", body }) });
  c.msg = (r, type, extra = () => true) => (m) => m.identifier === room(r) && m.message?.type === type && extra(m.message);
  return c;
}

/**
 * With the store stalled by the caller (`stall` resolves once it is): the speaker's message in "busy" puts a
 * store write in the queue, a newcomer subscribes to "busy", and the bystander, subscribed to "calm" before
 * the stall, does `trips` round trips (speak, get it back). Resolves with the order of events: every
 * "trip" must come before "newcomer-history", which waits behind the stalled store. `release` ends the stall.
 */
export async function bystanderDuringStall(s, { stall, release, trips = 10 }) {
  const bystander = await stallClient(s, "bystander");
  const speaker = await stallClient(s, "speaker");
  bystander.subscribe("calm");
  await bystander.take(bystander.msg("calm", "history"));
  speaker.subscribe("busy");
  await speaker.take(speaker.msg("busy", "history"));
  const events = [];
  await stall();
  speaker.speak("busy", "written while the store is stalled");
  await speaker.take(speaker.msg("busy", "message"));
  const newcomer = await stallClient(s, "newcomer");
  newcomer.subscribe("busy");
  await newcomer.take((m) => m.identifier === room("busy") && m.type === "confirm_subscription");
  const history = newcomer.take(newcomer.msg("busy", "history"), 60000).then((m) => { events.push("newcomer-history"); return m; });
  for (let i = 0; i < trips; i++) {
    bystander.speak("calm", `trip ${i}`);
    await bystander.take(bystander.msg("calm", "message", (m) => m.body === `trip ${i}`));
    events.push("trip");
  }
  events.push("bystander-done");
  await release();
  await history;
  for (const c of [bystander, speaker, newcomer]) c.ws.close();
  assert.deepEqual(events, [...Array(trips).fill("trip"), "bystander-done", "newcomer-history"],
    "the bystander's round trips complete while the store is still stalled");
  return events;
}
