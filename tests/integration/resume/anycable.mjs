// The unmodified @anycable/web client (Node, over `ws`) as the resume tests drive it: a cable that reconnects
// quickly after a cut, a stream subscription that records what arrives, and numbered broadcasts through
// POST /broadcast.
import assert from "node:assert/strict";
import WebSocket from "ws";
import { createCable } from "@anycable/web";
import { signToken } from "../../lib/peercable.mjs";
import { until as untilWithin } from "../../lib/drain.mjs";

/** The key servers in these tests take with --broadcast-key. */
export const broadcastKey = "resume-test-key";

/** An @anycable/web cable to 127.0.0.1:`port` (a server or a proxy), signed in as `user`. */
export function connectCable(port, user) {
  const token = signToken({ sub: user, name: user });
  return createCable(`ws://127.0.0.1:${port}/cable?token=${token}`, {
    protocol: "actioncable-v1-ext-json",
    websocketImplementation: WebSocket,
    reconnectStrategy: (attempts) => Math.min(100 * 2 ** attempts, 500),  // ms; the default waits far longer
    logLevel: "error",
  });
}

/** POST /broadcast of `data` on `stream`. */
export async function publish(server, stream, data) {
  const r = await fetch(`${server.url}/broadcast`, {
    method: "POST",
    headers: { authorization: `Bearer ${broadcastKey}`, "content-type": "application/json" },
    body: JSON.stringify({ stream, data }),
  });
  assert.equal(r.status, 202, await r.text());
}

/** Resolves once `pred()` holds, checking every 20 ms; rejects after `ms` with `what`. */
export const until = (pred, what, ms = 15000) => untilWithin(pred, what, ms, 20);

/**
 * Subscribes `cable` to `stream`; resolves once confirmed with what it records: `got` (each message's n),
 * `positions` (each message's stream position, when it has one) and `infos` (the info events).
 */
export async function record(cable, stream) {
  const got = [];
  const positions = [];
  const infos = [];
  const channel = cable.streamFrom(stream);
  channel.on("message", (m, meta) => {
    got.push(m.n);
    positions.push(meta);
  });
  channel.on("info", (i) => infos.push(i));
  await channel.ensureSubscribed();
  return { got, positions, infos };
}
