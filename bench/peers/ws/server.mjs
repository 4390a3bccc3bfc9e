// Benchmark peer: the BenchmarkChannel of Action Cable on Node's `ws`, written the way a `ws` app
// usually is (one send per subscriber). Same frames as Rails.
// Usage: node server.mjs --port P [--host 127.0.0.1] [--deflate]. Any token is accepted.
// --deflate: perMessageDeflate with ws's defaults (context kept per connection) except the threshold,
// set to peercable's: messages under 512 bytes go out uncompressed.
import { WebSocketServer } from "ws";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
    deflate: { type: "boolean", default: false },
  },
});
const PROTOCOL = "actioncable-v1-json";
const streams = new Map(); // stream -> Set of { ws, identifier }
const clients = new Set();

function broadcast(stream, data) {
  const json = JSON.stringify(data);
  const framed = new Map(); // identifier -> frame text, built once per identifier
  for (const sub of streams.get(stream) ?? []) {
    let text = framed.get(sub.identifier);
    if (text === undefined) framed.set(sub.identifier, (text = `{"identifier":${JSON.stringify(sub.identifier)},"message":${json}}`));
    sub.ws.send(text);
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
  if (cmd.command === "subscribe") {
    if (ws.subscriptions.has(cmd.identifier)) return;
    let params;
    try {
      params = JSON.parse(cmd.identifier);
    } catch {
      return;
    }
    if (params?.channel !== "BenchmarkChannel") return;
    const sub = { ws, identifier: cmd.identifier };
    ws.subscriptions.set(cmd.identifier, sub);
    if (!streams.has("all")) streams.set("all", new Set());
    streams.get("all").add(sub);
    ws.send(JSON.stringify({ identifier: cmd.identifier, type: "confirm_subscription" }));
  } else if (cmd.command === "message" && ws.subscriptions.has(cmd.identifier) && typeof cmd.data === "string") {
    let data;
    try {
      data = JSON.parse(cmd.data);
    } catch {
      return;
    }
    if (!data || typeof data !== "object") return;
    const transmit = (message) => ws.send(JSON.stringify({ identifier: cmd.identifier, message }));
    if (data.action === "echo") transmit(data);
    else if (data.action === "broadcast") {
      broadcast("all", data);
      transmit({ ...data, action: "broadcastResult" });
    }
  }
}

const wss = new WebSocketServer({
  host: args.host,
  port: Number(args.port),
  perMessageDeflate: args.deflate ? { threshold: 512 } : false,
  maxPayload: 16 * 1024 * 1024,
  clientTracking: false,
  handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
});

wss.on("connection", (ws) => {
  ws.subscriptions = new Map();
  clients.add(ws);
  ws.send('{"type":"welcome"}');
  ws.on("message", (data, isBinary) => {
    if (!isBinary) onCommand(ws, data.toString("utf8"));
  });
  ws.on("close", () => {
    clients.delete(ws);
    for (const sub of ws.subscriptions.values()) streams.get("all")?.delete(sub);
  });
  ws.on("error", () => {});
});
wss.on("listening", () => console.log(`ws peer listening on ${args.host}:${args.port}`));
wss.on("error", (e) => {
  console.error(`ws peer: ${e.message}`);
  process.exit(1);
});

setInterval(() => {
  const ping = JSON.stringify({ type: "ping", message: Math.floor(Date.now() / 1000) });
  for (const ws of clients) ws.send(ping);
}, 3000).unref();

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
