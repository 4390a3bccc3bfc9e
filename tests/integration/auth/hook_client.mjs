// Action Cable clients for the auth hook tests: sign in with chosen request headers, expect a welcome or
// exactly the unauthorized disconnect, read the lobby's presence.
import assert from "node:assert/strict";
import { openInboxClient } from "../../lib/inbox_client.mjs";

export const UNAUTHORIZED = { type: "disconnect", reason: "unauthorized", reconnect: false };
export const lobby = JSON.stringify({ channel: "P2PChannel", room: "lobby" });
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens a WebSocket to `s` with these request headers; collects every message until the close. */
export function open(s, headers = {}, query = "") {
  return openInboxClient(s.wsUrl + query, ["actioncable-v1-json"], { headers });
}

/** Signs in with `headers` and expects a welcome; returns the open client. */
export async function welcomed(s, headers, query) {
  const c = open(s, headers, query);
  await c.opened;
  const first = await c.take((m) => m.type === "welcome" || m.type === "disconnect");
  assert.equal(first.type, "welcome", `expected a welcome, got ${JSON.stringify(first)}`);
  return c;
}

/** Signs in with `headers` and expects exactly the unauthorized disconnect, then the close, never a welcome. */
export async function refused(s, headers, ms = 5000) {
  const c = open(s, headers);
  await c.opened;
  const code = await Promise.race([c.closed, sleep(ms).then(() => "still open")]);
  assert.notEqual(code, "still open", `not closed within ${ms} ms; inbox ${JSON.stringify(c.inbox)}`);
  assert.deepEqual(c.inbox.filter((m) => m.type !== "ping"), [UNAUTHORIZED]);
  return c;
}

/** Subscribes to the lobby and returns the users of the presence snapshot. */
export async function lobbyUsers(c) {
  c.ws.send(JSON.stringify({ command: "subscribe", identifier: lobby }));
  await c.take((m) => m.identifier === lobby && m.type === "confirm_subscription");
  const p = await c.take((m) => m.identifier === lobby && m.message?.type === "presence");
  return p.message.users;
}
