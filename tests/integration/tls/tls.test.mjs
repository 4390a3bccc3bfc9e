// TLS against the real binary: https and wss with a throwaway self-signed certificate made here with the
// openssl CLI; Action Cable, large messages and permessage-deflate over TLS; what the TLS port refuses (plain
// HTTP, TLS 1.1, a stalled handshake, a slow reader); and the start-up errors of a bad certificate or key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import https from "node:https";
import tls from "node:tls";
import net from "node:net";
import { binary, freePort, testSecret } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";

const dir = mkdtempSync(join(tmpdir(), "peercable-tls-"));
const certPath = join(dir, "cert.pem");
const keyPath = join(dir, "key.pem");
let ca;
let server;

/** A self-signed P-256 certificate for localhost and 127.0.0.1, written to `crt` with its key in `key`. */
function makeCertificate(crt, key) {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "pipe" });
}

/** GET or POST over https, trusting only the test certificate. Resolves with {status, headers, body}. */
function request(port, path, { method = "GET", body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path, method, ca, agent: false,
      headers: body ? { "Content-Type": "application/json" } : {} }, (res) => {
      let data = "";
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("https request timed out")));
    req.end(body);
  });
}

/** Starts peercable with TLS on a free port and waits until GET /health answers over https. */
async function startTls(args = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "peercable-test-"));
  const proc = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--jwt-secret", testSecret,
    "--data-dir", dataDir, "--log-level", "debug", "--drain-window", "0", "--tls-cert", certPath, "--tls-key", keyPath,
    ...args],
  { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  const deadline = Date.now() + 10000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`peercable exited early (${proc.exitCode}): ${out}`);
    try {
      if ((await request(port, "/health")).status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`peercable did not answer over https: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, proc, logs: () => out,
    wsUrl: `wss://127.0.0.1:${port}/cable`,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A welcomed Action Cable client over wss with an inbox. */
async function cableClient(s, token, { perMessageDeflate = false } = {}) {
  const c = openInboxClient(`${s.wsUrl}?token=${token}`, ["actioncable-v1-json"], { ca, perMessageDeflate,
    maxPayload: 8 << 20 }, { name: "wss client", timeoutMs: 10000 });
  await c.opened;
  Object.assign(c, {
    async subscribe(identifier) {
      c.send({ command: "subscribe", identifier });
      await c.take((m) => m.identifier === identifier && m.type === "confirm_subscription");
    },
    perform: (identifier, data) => c.send({ command: "message", identifier, data: JSON.stringify(data) }),
    close: () => { c.ws.close(); return c.closed; },
  });
  await c.take((m) => m.type === "welcome");
  return c;
}

/** Connects a raw TCP socket, writes `bytes` and resolves when the server closes: {data, ms}. */
function rawExchange(port, bytes, timeoutMs = 8000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error("the server kept the socket open")); }, timeoutMs);
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", () => {});  // a reset also counts as closed
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), ms: Date.now() - started });
    });
    sock.on("connect", () => { if (bytes.length) sock.write(bytes); });
  });
}

async function waitFor(pred, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

const bench = JSON.stringify({ channel: "BenchmarkChannel" });
const lobby = JSON.stringify({ channel: "P2PChannel", room: "lobby" });

before(async () => {
  makeCertificate(certPath, keyPath);
  ca = readFileSync(certPath);
  server = await startTls(["--max-message", String(4 << 20)]);
});
after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, "server exits 0 on SIGTERM");
});

test("https: GET /health answers, the start-up line says https and wss", async () => {
  const r = await request(server.port, "/health");
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).status, "ok");
  assert.match(server.logs(), new RegExp(`listening on https://127\\.0\\.0\\.1:${server.port} .*wss://`));
});

test("TLS: 1.2 and 1.3 with AEAD suites, ALPN http/1.1 picked among h2 and http/1.1", async () => {
  for (const [version, expected] of [["TLSv1.2", /GCM|CHACHA20/], ["TLSv1.3", /^TLS_(AES_\d+_GCM|CHACHA20_POLY1305)/]]) {
    const s = tls.connect({ port: server.port, host: "127.0.0.1", servername: "localhost", ca,
      minVersion: version, maxVersion: version, ALPNProtocols: ["h2", "http/1.1"] });
    await new Promise((res, rej) => { s.once("secureConnect", res); s.once("error", rej); });
    assert.equal(s.getProtocol(), version);
    assert.match(s.getCipher().standardName, expected);
    if (version === "TLSv1.2") assert.match(s.getCipher().name, /^ECDHE-/);
    assert.equal(s.alpnProtocol, "http/1.1");
    s.destroy();
  }
});

test("https: the response to Connection: close ends with close_notify (a strict client sees no ragged EOF)", () => {
  const script = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    s.sendall(b"GET /health HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
        print("clean", data.split(b"\\r\\n")[0].decode())
    except ssl.SSLEOFError as e:
        print("ragged", e)
`;
  const r = spawnSync("python3", ["-c", script, String(server.port), certPath], { encoding: "utf8", timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "clean HTTP/1.1 200 OK");
});

test("wss: guest sign-in over https, then two Action Cable clients talk in the lobby", async () => {
  const tokens = [];
  for (const name of ["Alice", "Bob"]) {
    const r = await request(server.port, "/session", { method: "POST", body: JSON.stringify({ name }) });
    assert.equal(r.status, 200, r.body);
    tokens.push(JSON.parse(r.body).token);
  }
  const [a, b] = await Promise.all(tokens.map((t) => cableClient(server, t)));
  await a.subscribe(lobby);
  await b.subscribe(lobby);
  a.perform(lobby, { action: "speak", body: "hello from Alice" });
  b.perform(lobby, { action: "speak", body: "hello from Bob" });
  for (const c of [a, b]) {
    for (const [body, from] of [["hello from Alice", "Alice"], ["hello from Bob", "Bob"]]) {
      const m = await c.take((x) => x.identifier === lobby && x.message?.type === "message" && x.message.body === body);
      assert.equal(m.message.from.name, from);
    }
  }
  await a.close();
  await b.close();
});

for (const perMessageDeflate of [false, true]) {
  test(`wss: a ~1 MiB message each way${perMessageDeflate ? " with permessage-deflate" : ""}`, async () => {
    const c = await cableClient(server, (await guestToken()), { perMessageDeflate });
    assert.equal(c.ws.extensions.includes("permessage-deflate"), perMessageDeflate);
    await c.subscribe(bench);
    // Random text crosses record boundaries unevenly; the compressed case also carries a repetitive one.
    const blobs = [randomBytes(786432).toString("base64")];
    if (perMessageDeflate) blobs.push("peercable ".repeat(104858));
    for (const [i, blob] of blobs.entries()) {
      const tag = `big-${perMessageDeflate}-${i}`;
      c.perform(bench, { action: "echo", tag, blob });
      const m = await c.take((x) => x.message?.tag === tag, 20000);
      assert.equal(m.message.blob.length, blob.length);
      assert.ok(m.message.blob === blob, "the echo is byte for byte what was sent");
    }
    // Small messages still flow after the large ones.
    c.perform(bench, { action: "echo", tag: "small" });
    await c.take((x) => x.message?.tag === "small");
    await c.close();
  });
}

async function guestToken(name = "Guest") {
  const r = await request(server.port, "/session", { method: "POST", body: JSON.stringify({ name }) });
  return JSON.parse(r.body).token;
}

test("plain HTTP on the TLS port is closed without an HTTP answer, logged at debug, and the server keeps serving", async () => {
  const r = await rawExchange(server.port, Buffer.from("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  assert.ok(!r.data.toString("latin1").includes("HTTP/1.1"), "no plaintext answer");
  assert.ok(await waitFor(() => /\[debug\] TLS handshake failed from 127\.0\.0\.1: http request/.test(server.logs())),
    server.logs().slice(-2000));
  assert.equal((await request(server.port, "/health")).status, 200);
});

test("a TLS 1.1 client is refused with a protocol_version alert", async () => {
  const s = tls.connect({ port: server.port, host: "127.0.0.1", servername: "localhost", ca,
    minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" });
  const err = await new Promise((res) => {
    s.once("secureConnect", () => res(null));
    s.once("error", res);
  });
  s.destroy();
  assert.ok(err, "the handshake must fail");
  assert.equal(err.code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
  assert.equal((await request(server.port, "/health")).status, 200);
});

test("garbage instead of a ClientHello is closed and the server keeps serving", async () => {
  const r = await rawExchange(server.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0xde, 0xad]));
  assert.ok(r.ms < 5000);
  assert.equal((await request(server.port, "/health")).status, 200);
});

test("a handshake that stalls, or never starts, is dropped after the header timeout", async () => {
  const s = await startTls(["--header-timeout", "1"]);
  try {
    // A ClientHello record header announcing 512 bytes, then nothing.
    const stalled = rawExchange(s.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const silent = rawExchange(s.port, Buffer.alloc(0));
    for (const r of await Promise.all([stalled, silent])) {
      assert.ok(r.ms >= 900 && r.ms < 4500, `closed after ${r.ms} ms`);
    }
    // A client that finishes the handshake and then sends nothing is dropped too.
    const idle = tls.connect({ port: s.port, host: "127.0.0.1", servername: "localhost", ca });
    const started = Date.now();
    await new Promise((res, rej) => { idle.once("secureConnect", res); idle.once("error", rej); });
    await new Promise((res) => { idle.on("error", () => {}); idle.once("close", res); idle.resume(); });
    const ms = Date.now() - started;
    assert.ok(ms >= 900 && ms < 4500, `idle TLS client closed after ${ms} ms`);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test("a reader that stops reading is dropped as a slow consumer; the others keep receiving", async () => {
  const s = await startTls(["--max-backlog", "262144", "--max-commands-per-second", "0"]);
  try {
    const token = await (async () => {
      const r = await request(s.port, "/session", { method: "POST", body: JSON.stringify({ name: "Slow" }) });
      return JSON.parse(r.body).token;
    })();
    const slow = await cableClient(s, token);
    const fast = await cableClient(s, token);
    await slow.subscribe(bench);
    await fast.subscribe(bench);
    slow.ws._socket.pause();  // the TLS socket stops reading: the server's queue for it grows
    const chunk = "y".repeat(60000);
    for (let i = 0; i < 400; i++) {
      // Paced by the fast reader, which so never falls behind, whatever the machine's load.
      fast.perform(bench, { action: "broadcast", n: i, chunk });
      await fast.take((x) => x.message?.action === "broadcastResult" && x.message.n === i);
      if (i % 10 === 9 && JSON.parse((await request(s.port, "/health")).body).slow_consumer_closes > 0) break;
    }
    const h = JSON.parse((await request(s.port, "/health")).body);
    assert.ok(h.slow_consumer_closes >= 1, `slow consumer closes: ${h.slow_consumer_closes}`);
    // The server ends the slow connection itself (its close frame unanswered, after the close timeout) with the
    // client still not reading. The client is not asked to drain what it holds: a Node TLS socket resumed after
    // its peer has gone hands over the rest one record per event-loop wake-up, minutes for a few MB.
    let websockets;
    for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
      websockets = JSON.parse((await request(s.port, "/health")).body).websockets;
      if (websockets === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(websockets, 1, "the slow consumer's connection is closed by the server; the fast one stays");
    slow.ws.terminate();
    await slow.closed;
    fast.perform(bench, { action: "echo", tag: "after" });
    await fast.take((x) => x.message?.tag === "after");
    await fast.close();
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

// ---- start-up refusals ---------------------------------------------------------------------------

function startFails(args) {
  const r = spawnSync(binary, ["--host", "127.0.0.1", "--port", "1", "--data-dir", mkdtempSync(join(tmpdir(), "pc-")),
    ...args], { encoding: "utf8", timeout: 10000 });
  return { code: r.status, stderr: r.stderr.trim() };
}

test("a key that does not belong to the certificate refuses to start, naming --tls-key", () => {
  const otherKey = join(dir, "other-key.pem");
  const otherCert = join(dir, "other-cert.pem");
  makeCertificate(otherCert, otherKey);
  const r = startFails(["--tls-cert", certPath, "--tls-key", otherKey]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^peercable: error: --tls-key: .*other-key\.pem is not the private key of the certificate/);
});

test("missing, unparsable or half-given TLS files refuse to start with one clear line (exit 2)", () => {
  const junk = join(dir, "junk.pem");
  writeFileSync(junk, "not a certificate\n");
  const cases = [
    [["--tls-cert", join(dir, "missing.pem"), "--tls-key", keyPath], /^peercable: error: --tls-cert: cannot read .*missing\.pem: No such file/],
    [["--tls-cert", certPath, "--tls-key", join(dir, "missing.pem")], /^peercable: error: --tls-key: cannot read .*missing\.pem/],
    [["--tls-cert", junk, "--tls-key", keyPath], /^peercable: error: --tls-cert: cannot load a PEM certificate chain from .*junk\.pem/],
    [["--tls-cert", certPath, "--tls-key", junk], /^peercable: error: --tls-key: no usable PEM private key in .*junk\.pem/],
    [["--tls-cert", certPath], /^peercable: error: --tls-cert: needs --tls-key/],
    [["--tls-key", keyPath], /^peercable: error: --tls-key: needs --tls-cert/],
  ];
  for (const [args, pattern] of cases) {
    const r = startFails(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.split("\n").length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});

// Last, since it replaces the certificate the other tests trust.
test("SIGHUP reloads the certificate for new connections; open ones stay; a broken file changes nothing", async () => {
  const oldCa = ca;
  const c = await cableClient(server, encodeURIComponent(await guestToken("Reloader")));
  await c.subscribe(bench);
  makeCertificate(certPath, keyPath);  // a new key pair in place of the old files
  const newCa = readFileSync(certPath);
  server.proc.kill("SIGHUP");
  await waitFor(() => server.logs().includes("TLS certificate reloaded"));
  ca = newCa;
  assert.equal((await request(server.port, "/health")).status, 200, "a new connection gets the new certificate");
  ca = oldCa;
  await assert.rejects(request(server.port, "/health"), /self.signed|certificate/i, "the old one is no longer served");
  ca = newCa;
  // The connection opened before the reload goes on.
  c.perform(bench, { action: "echo", n: 7 });
  assert.equal((await c.take((m) => m.identifier === bench && m.message?.n === 7)).message.n, 7);
  // A file that does not load leaves the reloaded certificate in use, and the server up.
  writeFileSync(certPath, "not a certificate\n");
  server.proc.kill("SIGHUP");
  await waitFor(() => server.logs().includes("TLS certificate not reloaded"));
  assert.equal((await request(server.port, "/health")).status, 200);
  await c.close();
});
