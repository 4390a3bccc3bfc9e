// peercable behind real load balancers with its default per-address limits: Debian's nginx (X-Forwarded-For)
// and HAProxy (PROXY protocol v2 and v1). Clients bind to different loopback addresses (127.0.0.x), each a
// different person behind the proxy; the proxies reach peercable from 127.0.0.2, the only trusted address.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeercable, signToken, binary, freePort, testSecret } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";
import { startNginx, startHaproxy, PROXY_ADDRESS } from "./proxies.mjs";

const CLIENTS = 1500;
const ADDRESSES = 15;  // 100 clients each: the default 100 new connections per second per address never bites
const BATCH = 150;
const token = signToken({ sub: "proxy", name: "P" });
const stops = [];
after(async () => { for (const s of stops.reverse()) await s(); });

async function start(what) {
  const p = await what;
  stops.push(() => p.stop());
  return p;
}

/** Opens a cable client from `localAddress` through `port` and waits for its welcome; resolves with the client. */
async function welcomed(port, localAddress, headers = {}) {
  const c = openInboxClient(`ws://127.0.0.1:${port}/cable?token=${token}`, ["actioncable-v1-json"],
    { localAddress, headers });
  await c.opened;
  await c.take((m) => m.type === "welcome");
  return c;
}

/** The status of a refused upgrade (0 if it was accepted, then closed at once). */
async function refusal(port, localAddress, headers = {}) {
  const c = openInboxClient(`ws://127.0.0.1:${port}/cable?token=${token}`, ["actioncable-v1-json"], { localAddress, headers });
  try {
    await c.opened;
    c.ws.terminate();
    return 0;
  } catch (e) {
    const m = /upgrade refused: (\d+)/.exec(e.message);
    if (!m) throw e;
    return Number(m[1]);
  }
}

/** CLIENTS clients through `port` from ADDRESSES loopback addresses starting at 127.0.0.`first`, in batches. */
async function crowd(port, first) {
  const clients = [];
  try {
    for (let i = 0; i < CLIENTS; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, CLIENTS - i) },
        (_, j) => welcomed(port, `127.0.0.${first + ((i + j) % ADDRESSES)}`));
      clients.push(...(await Promise.all(batch)));
    }
    return clients.length;
  } finally {
    await Promise.all(clients.map((c) => { c.ws.close(); return c.closed; }));
  }
}

/** Sends `bytes` on a raw TCP connection from `localAddress` and resolves with {data, closed} when the server ends it. */
function raw(port, bytes, localAddress = PROXY_ADDRESS, ms = 8000) {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1", localAddress });
    let data = "";
    const timer = setTimeout(() => { s.destroy(); resolve({ data, closed: false }); }, ms);
    s.on("data", (d) => (data += d.toString("latin1")));
    s.on("error", () => {});
    s.on("close", () => { clearTimeout(timer); resolve({ data, closed: true }); });
    s.write(bytes);
  });
}

const v1Header = (src) => `PROXY TCP4 ${src} 127.0.0.1 40000 443\r\n`;
const health = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

test("nginx: 1,500 clients with default limits all get welcome; limits and logs see each real address", { timeout: 240000 }, async () => {
  const server = await start(startPeercable(["--trusted-proxies", PROXY_ADDRESS, "--log-level", "info"]));
  const nginx = await start(startNginx(server.port));
  assert.equal(await crowd(nginx.port, 10), CLIENTS);

  // Per address behind the proxy: a low limit hits the one real address over it, not the others.
  const low = await start(startPeercable(["--trusted-proxies", PROXY_ADDRESS, "--max-connections-per-ip", "3",
    "--origin-check", "on", "--allowed-origins", "http://app.example", "--log-level", "info"]));
  const lowNginx = await start(startNginx(low.port));
  const origin = { Origin: "http://app.example" };
  const held = [];
  for (let i = 0; i < 3; i++) held.push(await welcomed(lowNginx.port, "127.0.0.40", origin));
  assert.equal(await refusal(lowNginx.port, "127.0.0.40", origin), 429, "4th from one real address");
  // Forging X-Forwarded-For through nginx does not help: nginx appends the address it saw.
  assert.equal(await refusal(lowNginx.port, "127.0.0.40", { ...origin, "X-Forwarded-For": "198.51.100.7" }), 429);
  held.push(await welcomed(lowNginx.port, "127.0.0.41", origin));  // another real address is not affected

  // Logs name the real client: an upgrade from a foreign origin is refused and logged with its address.
  assert.equal(await refusal(lowNginx.port, "127.0.0.42", { Origin: "http://evil.example" }), 403);
  await low.waitForLog(/refused a WebSocket from 127\.0\.0\.42: origin/);
  assert.doesNotMatch(low.logs(), /refused a WebSocket from 127\.0\.0\.2:/);

  // A client connecting directly with a forged header is not believed: its own address is limited and logged.
  const direct = [];
  for (let i = 0; i < 3; i++)
    direct.push(await welcomed(low.port, "127.0.0.43", { ...origin, "X-Forwarded-For": `198.51.100.${i}` }));
  assert.equal(await refusal(low.port, "127.0.0.43", { ...origin, "X-Forwarded-For": "198.51.100.9" }), 429);
  assert.equal(await refusal(low.port, "127.0.0.44", { Origin: "http://evil.example", "X-Forwarded-For": "203.0.113.9" }), 403);
  await low.waitForLog(/refused a WebSocket from 127\.0\.0\.44: origin/);
  assert.doesNotMatch(low.logs(), /203\.0\.113\.9/);
  for (const c of [...held, ...direct]) c.ws.close();
});

test("HAProxy: 1,500 clients through the PROXY protocol v2 and 1,500 through v1 with default limits all get welcome", { timeout: 240000 }, async () => {
  const server = await start(startPeercable(["--trusted-proxies", PROXY_ADDRESS, "--proxy-protocol"]));
  const haproxy = await start(startHaproxy(server.port));
  assert.equal(await crowd(haproxy.portV2, 10), CLIENTS);
  assert.equal(await crowd(haproxy.portV1, 30), CLIENTS);

  const low = await start(startPeercable(["--trusted-proxies", PROXY_ADDRESS, "--proxy-protocol",
    "--max-connections-per-ip", "3", "--origin-check", "on", "--allowed-origins", "http://app.example", "--log-level", "info"]));
  const lowHaproxy = await start(startHaproxy(low.port));
  const origin = { Origin: "http://app.example" };
  for (const port of [lowHaproxy.portV2, lowHaproxy.portV1]) {
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await welcomed(port, "127.0.0.50", origin));
    assert.equal(await refusal(port, "127.0.0.50", origin), 429, "4th from one real address");
    held.push(await welcomed(port, "127.0.0.51", origin));
    await Promise.all(held.map((c) => { c.ws.close(); return c.closed; }));
  }
  assert.equal(await refusal(lowHaproxy.portV2, "127.0.0.52", { Origin: "http://evil.example" }), 403);
  await low.waitForLog(/refused a WebSocket from 127\.0\.0\.52: origin/);
});

test("PROXY headers: refused when the option is off and from untrusted peers; required from trusted ones; bounded in time", { timeout: 60000 }, async () => {
  const off = await start(startPeercable([]));
  const v2Local = Buffer.concat([Buffer.from("\r\n\r\n\0\r\nQUIT\n", "latin1"), Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  let r = await raw(off.port, v1Header("198.51.100.1") + health, "127.0.0.60");
  assert.match(r.data, /^HTTP\/1\.1 400 /, "option off: a PROXY line is a bad request");
  r = await raw(off.port, Buffer.concat([v2Local, Buffer.from(health)]), "127.0.0.60");
  assert.ok(r.closed && !/^HTTP\/1\.1 200/.test(r.data), "option off: a v2 header is refused");

  const on = await start(startPeercable(["--trusted-proxies", PROXY_ADDRESS, "--proxy-protocol", "--header-timeout", "1"]));
  r = await raw(on.port, v1Header("198.51.100.1") + health, "127.0.0.61");
  assert.match(r.data, /^HTTP\/1\.1 400 /, "an untrusted peer's PROXY line is not believed");
  r = await raw(on.port, health, "127.0.0.61");
  assert.match(r.data, /^HTTP\/1\.1 200 /, "an untrusted peer speaks HTTP directly");
  // From the trusted address: the header is required, then HTTP follows on the same connection.
  r = await raw(on.port, v1Header("198.51.100.1") + health);
  assert.match(r.data, /^HTTP\/1\.1 200 /);
  r = await raw(on.port, Buffer.concat([v2Local, Buffer.from(health)]));
  assert.match(r.data, /^HTTP\/1\.1 200 /, "LOCAL (a balancer's health check) stands for itself");
  r = await raw(on.port, health);
  assert.ok(r.closed && r.data === "", "no header from a trusted peer: closed without an answer");
  r = await raw(on.port, "PROXY TCP4 198.51.100.1 127.0.0.1 1 2 3 4 5\r\n" + health);
  assert.ok(r.closed && r.data === "", "a malformed header: closed");
  r = await raw(on.port, "PROXY TCP4 198.51.1");
  assert.ok(r.closed && r.data === "", "half a header: closed by the header timeout");
});

/** GET /health over TLS from `localAddress`, after sending `preface` (a PROXY header) in clear; resolves with the
 * answer's text ("" when the server closed without one). */
function tlsHealth(port, localAddress, preface, ca) {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1", localAddress }, () => {
      if (preface) sock.write(preface);
      const t = tlsConnect({ socket: sock, ca, servername: "localhost" }, () => t.write(health));
      let data = "";
      t.on("data", (d) => (data += d));
      t.on("error", () => {});
      t.on("close", () => resolve(data));
    });
    sock.on("error", () => resolve(""));
  });
}

test("PROXY header on a TLS port: it comes first, then the handshake", { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "peercable-proxy-tls-"));
  const crt = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
  { stdio: "pipe" });
  const ca = readFileSync(crt);
  const port = await freePort();
  const proc = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--jwt-secret", testSecret, "--data-dir", dir,
    "--log-level", "warn", "--drain-window", "0", "--tls-cert", crt, "--tls-key", key,
    "--trusted-proxies", PROXY_ADDRESS, "--proxy-protocol", "--header-timeout", "2"], { stdio: "ignore" });
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  stops.push(async () => { proc.kill("SIGTERM"); await exited; });
  let direct = "";
  for (let i = 0; i < 100 && !direct; i++) {  // ready once a direct client gets its answer
    direct = await tlsHealth(port, "127.0.0.70", null, ca);
    if (!direct) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(direct, /^HTTP\/1\.1 200 /, "a direct client speaks TLS at once");
  assert.match(await tlsHealth(port, PROXY_ADDRESS, v1Header("198.51.100.1"), ca), /^HTTP\/1\.1 200 /, "version 1, then TLS");
  const v2 = Buffer.concat([Buffer.from("\r\n\r\n\0\r\nQUIT\n", "latin1"), Buffer.from([0x21, 0x11, 0x00, 0x0c, 198, 51, 100, 1, 127, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb])]);
  assert.match(await tlsHealth(port, PROXY_ADDRESS, v2, ca), /^HTTP\/1\.1 200 /, "version 2, then TLS");
  assert.equal(await tlsHealth(port, PROXY_ADDRESS, null, ca), "", "a trusted peer without the header: closed");
});
