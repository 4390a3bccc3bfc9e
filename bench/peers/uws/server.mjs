// Benchmark peer: the BenchmarkChannel of Action Cable on uWebSockets.js, using its native pub/sub.
// Same frames as Rails: welcome, 3 s pings, confirm_subscription, echo, broadcast + broadcastResult.
// Usage: node server.mjs --port P [--host 127.0.0.1] [--deflate]. Any token is accepted.
// --deflate: negotiate permessage-deflate with uWS's SHARED_COMPRESSOR (one compressor, no context kept
// between messages) and compress messages of COMPRESS_MIN bytes or more, as peercable does.
import uWS from "uWebSockets.js";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
    deflate: { type: "boolean", default: false },
  },
});
const COMPRESS_MIN = 512;
/** uWS compresses only what it is told to, and only on connections that negotiated deflate. */
const compress = (text) => args.deflate && text.length >= COMPRESS_MIN;
const PROTOCOL = "actioncable-v1-json";
const PING_TOPIC = "\u0000ping";
// A broadcast is framed once per identifier that subscribes to the stream, as Action Cable does.
const streams = new Map(); // stream -> Map(identifier -> subscriber count)

function topic(stream, identifier) {
  return `${stream}\u0000${identifier}`;
}

function streamFrom(ws, stream, identifier) {
  let ids = streams.get(stream);
  if (!ids) streams.set(stream, (ids = new Map()));
  ids.set(identifier, (ids.get(identifier) ?? 0) + 1);
  ws.subscribe(topic(stream, identifier));
  ws.getUserData().streams.push([stream, identifier]);
}

function stopStreams(ws) {
  for (const [stream, identifier] of ws.getUserData().streams) {
    const ids = streams.get(stream);
    const n = (ids?.get(identifier) ?? 1) - 1;
    if (n > 0) ids.set(identifier, n);
    else ids?.delete(identifier);
  }
}

function broadcast(stream, data) {
  const json = JSON.stringify(data);
  for (const identifier of streams.get(stream)?.keys() ?? []) {
    const text = `{"identifier":${JSON.stringify(identifier)},"message":${json}}`;
    app.publish(topic(stream, identifier), text, false, compress(text));
  }
}

function perform(ws, identifier, data) {
  const transmit = (message) => {
    const text = JSON.stringify({ identifier, message });
    ws.send(text, false, compress(text));
  };
  if (data.action === "echo") transmit(data);
  else if (data.action === "broadcast") {
    broadcast("all", data);
    transmit({ ...data, action: "broadcastResult" });
  }
}

function onCommand(ws, text) {
  let cmd;
  try {
    cmd = JSON.parse(text);
  } catch {
    return; // Rails logs and ignores invalid JSON
  }
  if (!cmd || typeof cmd !== "object" || typeof cmd.identifier !== "string") return;
  const user = ws.getUserData();
  if (cmd.command === "subscribe") {
    if (user.subscriptions.has(cmd.identifier)) return;
    let params;
    try {
      params = JSON.parse(cmd.identifier);
    } catch {
      return;
    }
    if (params?.channel !== "BenchmarkChannel") return;
    user.subscriptions.add(cmd.identifier);
    streamFrom(ws, "all", cmd.identifier);
    ws.send(JSON.stringify({ identifier: cmd.identifier, type: "confirm_subscription" }), false);
  } else if (cmd.command === "message" && user.subscriptions.has(cmd.identifier) && typeof cmd.data === "string") {
    let data;
    try {
      data = JSON.parse(cmd.data);
    } catch {
      return;
    }
    if (data && typeof data === "object") perform(ws, cmd.identifier, data);
  }
}

const app = uWS.App().ws("/*", {
  compression: args.deflate ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, context) => {
    const offered = (req.getHeader("sec-websocket-protocol") || "").split(",").map((s) => s.trim());
    const chosen = offered.includes(PROTOCOL) ? PROTOCOL : "";
    res.upgrade(
      { subscriptions: new Set(), streams: [] },
      req.getHeader("sec-websocket-key"),
      chosen,
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  open: (ws) => {
    ws.send('{"type":"welcome"}', false);
    ws.subscribe(PING_TOPIC);
  },
  message: (ws, message, isBinary) => {
    if (!isBinary) onCommand(ws, Buffer.from(message).toString("utf8"));
  },
  close: (ws) => stopStreams(ws),
});

setInterval(() => {
  app.publish(PING_TOPIC, JSON.stringify({ type: "ping", message: Math.floor(Date.now() / 1000) }), false);
}, 3000).unref();

app.listen(args.host, Number(args.port), (token) => {
  if (!token) {
    console.error(`uws peer: cannot listen on ${args.host}:${args.port}`);
    process.exit(1);
  }
  console.log(`uws peer listening on ${args.host}:${args.port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
