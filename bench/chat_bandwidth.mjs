// Bytes on the wire for a chat-like workload, with permessage-deflate and without.
// usage: node bench/chat_bandwidth.mjs [--bin path/to/peercable] [--messages 300] [-- extra server options]
// Half the receivers offer deflate (Node `ws`, the Chromium-like offer), half do not; all join one P2P room,
// one sender speaks `messages` chat lines of ordinary length, and the bytes each receiver's socket read
// during that phase are compared. Bounded: 20 receivers, at most 2000 messages.
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/package.json", import.meta.url));
const WebSocket = require("ws");

const args = process.argv.slice(2);
const dash = args.indexOf("--");
const extra = dash >= 0 ? args.slice(dash + 1) : [];
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && (dash < 0 || i < dash) ? args[i + 1] : def;
};
if (opt("bin")) process.env.PEERCABLE_BIN = opt("bin");
const messages = Math.min(Number(opt("messages", 300)), 2000);
const { startPeercable, signToken } = await import("../tests/lib/peercable.mjs");

const lines = [
  "hi all", "hey! how's it going?", "anyone tried the new build yet?", "yes, works fine on my machine",
  "the call dropped for a second there, can you hear me now?", "lol", "brb, coffee",
  "I pushed the fix for the reconnect bug, could someone review it before lunch?", "sure, looking now",
  "looks good to me, one small comment about the retry delay", "thanks!", "see you tomorrow 👋",
];
const room = JSON.stringify({ channel: "P2PChannel", room: "bench" });

function client(url, deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["actioncable-v1-json"], { perMessageDeflate: deflate });
    const c = { ws, got: 0, wait: null };
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === "welcome") {
        ws.send(JSON.stringify({ command: "subscribe", identifier: room }));
      } else if (m.type === "confirm_subscription") {
        resolve(c);
      } else if (m.message?.type === "message") {
        c.got++;
        if (c.got === messages && c.wait) c.wait();
      }
    });
    ws.on("error", reject);
  });
}

const server = await startPeercable(["--history", "memory", "--max-commands-per-second", "0", ...extra]);
try {
  const url = (i) => `${server.wsUrl}?token=${signToken({ sub: `u${i}`, name: `User ${i}` })}`;
  const receivers = [];
  for (let i = 0; i < 20; i++) receivers.push(await client(url(i), i % 2 === 0));
  const sender = await client(url(99), false);
  await new Promise((r) => setTimeout(r, 300));
  const start = receivers.map((c) => c.ws._socket.bytesRead);
  const done = Promise.all(receivers.map((c) => new Promise((r) => (c.wait = r))));
  for (let i = 0; i < messages; i++) {
    const body = lines[i % lines.length];
    sender.ws.send(JSON.stringify({ command: "message", identifier: room, data: JSON.stringify({ action: "speak", body }) }));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
  }
  await done;
  const bytes = receivers.map((c, i) => c.ws._socket.bytesRead - start[i]);
  const avg = (odd) => bytes.filter((_, i) => i % 2 === (odd ? 1 : 0)).reduce((a, b) => a + b, 0) / 10;
  const z = avg(false), plain = avg(true);
  console.log(`messages: ${messages}, server options: ${extra.join(" ") || "(defaults)"}`);
  console.log(`bytes per receiver: ${Math.round(plain)} uncompressed, ${Math.round(z)} with deflate ` +
    `(${(100 * (1 - z / plain)).toFixed(1)}% saved; ${(plain / messages).toFixed(0)} vs ${(z / messages).toFixed(0)} bytes a message)`);
  for (const c of [...receivers, sender]) c.ws.terminate();
} finally {
  await server.stop();
}
