// Creates many rooms quickly through a few connections: each subscribes to batches of rooms and speaks once in
// each (so every store holds something for it); the rooms stay subscribed until leaveRooms(). Shared by the
// SQLite and Redis tests.
import { readFileSync } from "node:fs";
import { signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

const ident = (r) => JSON.stringify({ channel: "P2PChannel", room: r });

/** Server options that let a few connections create rooms fast: no command rate limit, short room ttl. */
export const manyRoomsArgs = ["--max-commands-per-second", "0", "--max-subscriptions", "0", "--max-rooms", "200000",
  "--room-ttl", "1", "--history-size", "2"];

/** Resident memory of process `pid`, kB. */
export function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
}

/** The value of gauge `name` in /metrics. */
export async function metric(s, name) {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)[1]);
}

/** Polls `probe` until it returns true (bounded). */
export async function until(probe, what, ms = 30000) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates rooms `${prefix}-0` … `${prefix}-${count - 1}` over `connections` connections, `batch` at a time each,
 * with one message in every `speakEvery`-th room (what the stores keep on disk or in Redis), and resolves with the clients, still subscribed (pass them to leaveRooms).
 */
export async function createRooms(s, { prefix, count, connections = 4, batch = 500, speakEvery = 10 }) {
  const clients = await Promise.all(Array.from({ length: connections }, async (_, k) => {
    const c = openInboxClient(`${s.wsUrl}?token=${signToken({ sub: `maker-${k}`, name: `maker ${k}` })}`, ["actioncable-v1-json"], {}, { name: `maker-${k}`, timeoutMs: 30000 });
    await c.opened;
    await c.take((m) => m.type === "welcome");
    return c;
  }));
  const per = Math.ceil(count / connections);
  await Promise.all(clients.map(async (c, k) => {
    // Counts instead of one take() per room: a batch is done when every history (then every message) is in.
    let histories = 0, messages = 0, wake = () => {};
    c.listeners.add((m) => {
      if (m.message?.type === "history") histories++;
      else if (m.message?.type === "message") messages++;
      else return;
      wake();
    });
    const reach = async (get, n) => {
      const deadline = Date.now() + 60000;
      while (get() < n) {
        if (Date.now() > deadline) throw new Error(`maker-${k}: ${get()} of ${n} answers`);
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
    };
    for (let start = k * per; start < Math.min(count, (k + 1) * per); start += batch) {
      const rooms = [];
      for (let i = start; i < Math.min(start + batch, (k + 1) * per, count); i++) rooms.push(`${prefix}-${i}`);
      for (const r of rooms) c.send({ command: "subscribe", identifier: ident(r) });
      await reach(() => histories, histories + rooms.length);
      const spoken = rooms.filter((_, i) => (start + i) % speakEvery === 0);
      for (const r of spoken)
        c.send({ command: "message", identifier: ident(r), data: JSON.stringify({ action: "speak", body: r }) });
      await reach(() => messages, messages + spoken.length);
      c.inbox.length = 0;
    }
  }));
  return clients;
}

/** Closes the clients of createRooms: every room they made becomes empty. */
export async function leaveRooms(clients) {
  for (const c of clients) {
    c.ws.close();
    await c.closed;
  }
}
