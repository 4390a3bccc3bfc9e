// Server memory per idle WebSocket, with a Chromium-like permessage-deflate offer and without one.
// usage: node bench/idle_memory.mjs [--bin path/to/peercable] [--clients 3000]
// For each mode it starts the server (one loop), opens the clients (Node `ws`; with deflate on, `ws` offers
// "permessage-deflate; client_max_window_bits", which is what Chromium sends), waits for every welcome, lets
// the server settle and reads its VmRSS from /proc. Prints one line per mode and the ratio. Bounded: the
// clients are closed and the server stopped before the next mode.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/package.json", import.meta.url));
const WebSocket = require("ws");

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const clients = Math.min(Number(opt("clients", 3000)), 15000);
if (opt("bin")) process.env.PEERCABLE_BIN = opt("bin");
// Imported after PEERCABLE_BIN is set: the helper reads it when loaded.
const { startPeercable, signToken } = await import("../tests/lib/peercable.mjs");

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(url, deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["actioncable-v1-json"], { perMessageDeflate: deflate });
    const timer = setTimeout(() => reject(new Error("no welcome in 20 s")), 20000);
    ws.on("message", (d) => {
      if (JSON.parse(d.toString()).type === "welcome") {
        clearTimeout(timer);
        resolve(ws);
      }
    });
    ws.on("error", reject);
  });
}

async function measure(deflate) {
  const server = await startPeercable(["--threads", "1", "--history", "memory", "--max-connections-per-ip", "0",
    "--max-new-connections-per-ip", "0"]);
  try {
    const url = `${server.wsUrl}?token=${signToken({ sub: "idle", name: "Idle" })}`;
    // Warm up: the first connections allocate the loop's buffers (and, with deflate, its shared zlib state).
    const warm = await Promise.all(Array.from({ length: 20 }, () => connect(url, deflate)));
    await sleep(1000);
    const before = rssKb(server.proc.pid);
    const open = [];
    for (let i = 0; i < clients; i += 200) {
      const batch = Array.from({ length: Math.min(200, clients - i) }, () => connect(url, deflate));
      open.push(...(await Promise.all(batch)));
    }
    const extensions = open[0]._extensions && Object.keys(open[0]._extensions).join(",");
    await sleep(3000);
    const after = rssKb(server.proc.pid);
    for (const ws of [...warm, ...open]) ws.terminate();
    return { before, after, perConnection: ((after - before) * 1024) / clients, extensions };
  } finally {
    await server.stop();
  }
}

const plain = await measure(false);
const deflate = await measure(true);
const kb = (b) => (b / 1024).toFixed(1);
console.log(`clients: ${clients}, binary: ${process.env.PEERCABLE_BIN || "build/peercable"}`);
console.log(`without deflate: ${kb(plain.perConnection)} KB per connection (VmRSS ${plain.before} -> ${plain.after} kB)`);
console.log(`with deflate (${deflate.extensions || "none"}): ${kb(deflate.perConnection)} KB per connection ` +
  `(VmRSS ${deflate.before} -> ${deflate.after} kB)`);
console.log(`ratio: ${(deflate.perConnection / plain.perConnection).toFixed(2)}`);
