// Bounds in HTTP state: a client that pipelines requests and never reads the answers makes the server hold at
// most --max-http-queue of responses (reading pauses), and static files are served from memory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeercable } from "../../lib/peercable.mjs";
import { rssKb, sleep, lastWords } from "./clients.mjs";
import { rawHttp } from "../ws/rawclient.mjs";

const webRoot = mkdtempSync(join(tmpdir(), "peercable-web-"));
const page = "<!doctype html><title>page</title>" + "<p>filler paragraph to make the page two kilobytes</p>".repeat(38);
writeFileSync(join(webRoot, "index.html"), page);
mkdirSync(join(webRoot, "js"));
writeFileSync(join(webRoot, "js", "app.js"), "console.log('hi');\n");
const outside = mkdtempSync(join(tmpdir(), "peercable-outside-"));
writeFileSync(join(outside, "secret.txt"), "not for the web");
symlinkSync(join(outside, "secret.txt"), join(webRoot, "leak.txt"));

let server;
before(async () => { server = await startPeercable(["--web-root", webRoot, "--max-connections-per-ip", "0"]); });
after(async () => {
  await server.stop();
  rmSync(webRoot, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

test("a pipelining client that never reads: server memory stays bounded and others are served", async (t) => {
  // Python gives the socket a 4 KiB receive buffer before connecting, then writes 400,000 pipelined GET /
  // (11 MB of requests, each answered with 2 KiB: 800 MiB if nothing bounded it) until the server stops
  // taking them.
  const requests = 400000;
  const py = spawn("/usr/bin/python3", ["-c", `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", ${server.port}))
s.setblocking(False)
data = b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" * ${requests}
sent, idle = 0, time.time()
while sent < len(data) and time.time() - idle < 3:
    try:
        n = s.send(data[sent:sent + 65536])
        sent += n
        idle = time.time()
    except BlockingIOError:
        time.sleep(0.01)
print("stalled" if sent < len(data) else "all sent", sent // len(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"), flush=True)
time.sleep(60)
`], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => py.kill("SIGKILL"));
  const startRss = rssKb(server.proc.pid);
  // The whole line: a pipe may hand it over in pieces.
  const line = await new Promise((resolve) => {
    let out = "";
    py.stdout.on("data", (d) => {
      out += String(d);
      if (out.includes("\n")) resolve(out.trim());
    });
  });
  // The server stopped reading long before all requests were in: the client's writes stalled.
  assert.match(line, /^stalled \d+/, `the client could write everything: ${line}`);
  const taken = Number(line.split(" ")[1]);
  assert.ok(taken < requests, `requests written before the stall: ${taken}`);
  // Meanwhile another client is served.
  const r = await fetch(`${server.url}/health`);
  assert.equal(r.status, 200);
  const page2 = await (await fetch(`${server.url}/`)).text();
  assert.equal(page2, page);
  await sleep(500);
  const grown = rssKb(server.proc.pid) - startRss;
  // A generous bound: a 1 MiB queue plus socket and parser buffers, far below the hundreds of MiB of answers.
  assert.ok(grown < 64 * 1024, `server grew ${grown} KiB; logs: ${lastWords(server.logs())}`);
});

test("static files come from memory, with Content-Type and ETag/304; links out of the root are refused", async () => {
  const r = await fetch(`${server.url}/js/app.js`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/javascript; charset=utf-8");
  const etag = r.headers.get("etag");
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  assert.equal(await r.text(), "console.log('hi');\n");
  const again = await fetch(`${server.url}/js/app.js`, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  // Loaded at start: the disk is not read per request, so a file removed afterwards is still served.
  rmSync(join(webRoot, "js", "app.js"));
  assert.equal(await (await fetch(`${server.url}/js/app.js`)).text(), "console.log('hi');\n");
  assert.equal((await fetch(`${server.url}/leak.txt`)).status, 404);
  assert.equal((await fetch(`${server.url}/js/../index.html`)).status, 200);  // fetch normalises the path
  // Raw, as fetch would resolve the dots itself.
  const dots = await rawHttp(server.port, "GET /js/%2e%2e/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(dots.status, 404);
  assert.equal((await fetch(`${server.url}/nope.html`)).status, 404);
});

test("a web root over the in-memory bound is a clear start-up error", async () => {
  const big = mkdtempSync(join(tmpdir(), "peercable-bigweb-"));
  try {
    const chunk = Buffer.alloc(16 << 20, 97);
    for (let i = 0; i < 5; i++) writeFileSync(join(big, `blob${i}.bin`), chunk);
    await assert.rejects(startPeercable(["--web-root", big]), /--web-root: .* over 64 MiB/);
  } finally {
    rmSync(big, { recursive: true, force: true });
  }
});
