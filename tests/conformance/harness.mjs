// Transcript recorder for the conformance suite: drives one server with raw `ws` clients and raw TCP,
// and writes down what the server sends, step by step, in a form that two servers can be compared on.
import WebSocket from "ws";
import { connect as tcpConnect } from "node:net";
import { createHash, randomBytes } from "node:crypto";

/** How long a step waits for the frames it expects before it records what it has. */
export const EXPECT_TIMEOUT_MS = 5000;
/** How long a step keeps listening after the expected frames, to catch frames that should not be there. */
export const QUIET_MS = 300;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Masks what legitimately differs between two runs (generated ids, timestamps, error prose) and drops pings.
 * Works on the raw frame text so that key order and JSON escaping stay visible. Returns null for a ping.
 */
export function maskFrame(raw) {
  let j;
  try {
    j = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (j && typeof j === "object" && j.type === "ping" && Object.keys(j).length === 2) return null;
  let out = raw.replace(/"sent_at":\d+/g, '"sent_at":"<ms>"');
  const m = j && typeof j === "object" && !Array.isArray(j) ? j.message : undefined;
  if (m && typeof m === "object" && !Array.isArray(m)) {
    if (typeof m.id === "string" && (m.type === "message" || m.type === "direct")) {
      out = out.replace(`"id":${JSON.stringify(m.id)}`, '"id":"<id>"');
    }
    if (m.type === "error" && typeof m.message === "string") {
      out = out.replace(`"message":${JSON.stringify(m.message)}`, '"message":"<text>"');
    }
  }
  return out;
}

/** One recorded client connection (a raw `ws` socket) inside a Session. */
class Conn {
  constructor(label) {
    this.label = label;
    this.events = []; // {line, raw?} in arrival order, pings excluded
    this.cursor = 0;
    this.pings = [];
    this.raw = []; // every text frame as received, pings included
    this.protocol = undefined;
    this.closed = false;
    this.closeInfo = null;
    this.listeners = new Set();
    this.ws = null;
  }

  push(line, raw) {
    this.events.push({ line, raw });
    for (const fn of this.listeners) fn();
  }

  pending() {
    return this.events.length - this.cursor;
  }

  /** Resolves once `n` new events are pending, or after `ms`. */
  waitPending(n, ms) {
    if (this.pending() >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(ok);
      };
      const check = () => this.pending() >= n && done(true);
      const timer = setTimeout(() => done(false), ms);
      this.listeners.add(check);
    });
  }

  take(unordered) {
    const got = this.events.slice(this.cursor);
    this.cursor = this.events.length;
    const lines = got.map((e) => e.line);
    return unordered ? lines.sort() : lines;
  }
}

/**
 * A scenario run against one server. Scenario code calls open/send/close/wait; each call is a step that
 * records the client's action, waits for the expected number of server events per connection, listens
 * QUIET_MS longer, then records every event per connection (connections in label order).
 */
export class Session {
  constructor(target) {
    this.target = target; // { name, port, host }
    this.lines = [];
    this.conns = new Map();
  }

  get wsBase() {
    return `ws://127.0.0.1:${this.target.port}`;
  }

  note(text) {
    this.lines.push(`# ${text}`);
  }

  /** Opens a raw ws connection. opts: {query, path, protocols, headers, expect (default 1: welcome)}. */
  async open(label, { query = "", path = "/cable", protocols = ["actioncable-v1-json", "actioncable-unsupported"], headers = {}, expect = 1, unordered = false, onOpenSend, deflate = false } = {}) {
    const c = new Conn(label);
    this.conns.set(label, c);
    const url = `${this.wsBase}${path}${query ? `?${query}` : ""}`;
    this.lines.push(`${label} connect ${path}${query ? "?" + redactQuery(query) : ""} offering ${JSON.stringify(protocols)}`);
    const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: deflate, handshakeTimeout: EXPECT_TIMEOUT_MS });
    c.ws = ws;
    const opened = new Promise((resolve) => {
      ws.on("open", () => {
        c.protocol = ws.protocol;
        c.push(`${label} open protocol=${JSON.stringify(ws.protocol)}`);
        if (onOpenSend) {
          const text = typeof onOpenSend === "string" ? onOpenSend : JSON.stringify(onOpenSend);
          ws.send(text);
          c.push(`${label} -> ${text} (sent on open)`);
        }
        resolve();
      });
      ws.on("unexpected-response", (req, res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          c.push(`${label} !! unexpected-response ${res.statusCode} body=${JSON.stringify(body)}`);
          c.closed = true;
          resolve();
        });
        res.on("error", () => resolve());
      });
      ws.on("error", (e) => {
        c.push(`${label} !! error ${e.message.replace(/:\d+/g, ":<port>")}`);
        resolve();
      });
      ws.on("close", (code, reason) => {
        c.closed = true;
        c.closeInfo = { code, reason: reason.toString() };
        c.push(`${label} <- CLOSE ${code} ${JSON.stringify(reason.toString())}`);
        resolve();
      });
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        c.push(`${label} <- BINARY ${Buffer.from(data).toString("hex")}`);
        return;
      }
      const raw = data.toString();
      c.raw.push({ at: Date.now(), raw });
      const masked = maskFrame(raw);
      if (masked === null) {
        c.pings.push({ at: Date.now(), raw });
        return;
      }
      c.push(`${label} <- ${masked.length > 1000 ? `${masked.slice(0, 80)}… [${masked.length} chars, sha1 ${createHash("sha1").update(masked).digest("hex").slice(0, 12)}]` : masked}`, raw);
    });
    ws.on("pong", (d) => c.push(`${label} <- PONG ${JSON.stringify(d.toString())}`));
    await Promise.race([opened, sleep(EXPECT_TIMEOUT_MS + 1000)]);
    // "open" itself counts as one expected event when it happened.
    await this.collect({ [label]: expect + (c.protocol !== undefined ? 1 : 0) }, { unordered });
    return c;
  }

  /** Sends a text frame (objects are JSON-encoded) or a Buffer as binary; then records the answers. */
  async send(conn, payload, { expect = 0, binary = false, unordered = false, quiet = QUIET_MS } = {}) {
    let text;
    if (Buffer.isBuffer(payload)) {
      conn.ws.send(payload, { binary });
      text = binary ? `BINARY ${payload.length} bytes` : `TEXT(bytes ${payload.toString("hex")})`;
    } else {
      text = typeof payload === "string" ? payload : JSON.stringify(payload);
      conn.ws.send(text);
    }
    this.lines.push(`${conn.label} -> ${text.length > 300 ? text.slice(0, 120) + `… [${text.length} chars]` : text}`);
    await this.collect(typeof expect === "number" ? { [conn.label]: expect } : expect, { unordered, quiet });
  }

  /** Sends a WebSocket ping control frame. */
  async ping(conn, payload, opts = {}) {
    conn.ws.ping(payload);
    this.lines.push(`${conn.label} -> PING ${JSON.stringify(payload)}`);
    await this.collect({ [conn.label]: opts.expect ?? 1 }, opts);
  }

  /** Closes from the client side with 1000 and records the server's answer. */
  async close(conn, { code = 1000 } = {}) {
    if (conn.closed) return;
    this.lines.push(`${conn.label} -> CLOSE ${code}`);
    conn.ws.close(code);
    await this.collect({ [conn.label]: 1 });
  }

  /** Waits for events without sending anything (e.g. after the server was stopped). */
  async wait(expect, opts = {}) {
    await this.collect(typeof expect === "number" ? {} : expect, opts);
  }

  async collect(expect, { unordered = false, quiet = QUIET_MS } = {}) {
    const deadline = Date.now() + EXPECT_TIMEOUT_MS;
    for (const [label, n] of Object.entries(expect)) {
      const c = this.conns.get(label);
      if (!c) throw new Error(`no connection ${label}`);
      await c.waitPending(n, Math.max(0, deadline - Date.now()));
    }
    await sleep(quiet);
    for (const label of [...this.conns.keys()].sort()) {
      this.lines.push(...this.conns.get(label).take(unordered));
    }
  }

  /** Closes every connection without recording; used when a scenario ends. */
  async dispose() {
    const waits = [];
    for (const c of this.conns.values()) {
      if (c.ws && c.ws.readyState !== WebSocket.CLOSED) {
        waits.push(new Promise((r) => { c.ws.once("close", r); setTimeout(r, 1000); }));
        try { c.ws.close(); } catch { c.ws.terminate(); }
      }
    }
    await Promise.all(waits);
    for (const c of this.conns.values()) if (c.ws) c.ws.terminate();
  }
}

function redactQuery(q) {
  return q.replace(/token=[^&]+/, (m) => (m.length > 30 ? "token=<jwt>" : m));
}

/** The Sec-WebSocket-Accept a correct server answers to `key` (RFC 6455 §4.2.2). */
export function acceptFor(key) {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/**
 * Sends a hand-written HTTP request over TCP and records the raw answer: status line, header names and
 * the values that matter, the body of a non-101 answer, and up to `frames` WebSocket frames decoded from
 * the bytes that follow a 101. Masks per-request values (accept key checked, request ids, runtimes).
 */
export async function rawRequest(port, { path = "/cable", headers = {}, upgrade = true, frames = 1, waitMs = EXPECT_TIMEOUT_MS }) {
  const key = randomBytes(16).toString("base64");
  const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  if (upgrade) lines.push("Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13");
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const request = lines.join("\r\n") + "\r\n\r\n";

  const sock = tcpConnect(port, "127.0.0.1");
  let buf = Buffer.alloc(0);
  let ended = false;
  const changed = new Set();
  sock.on("data", (d) => { buf = Buffer.concat([buf, d]); for (const f of changed) f(); });
  sock.on("close", () => { ended = true; for (const f of changed) f(); });
  sock.on("error", () => { ended = true; for (const f of changed) f(); });
  await new Promise((r) => sock.once("connect", r));
  sock.write(request);

  const out = [];
  const until = (pred, ms) => new Promise((resolve) => {
    if (pred()) return resolve(true);
    const done = (ok) => { clearTimeout(t); changed.delete(check); resolve(ok); };
    const check = () => (pred() ? done(true) : ended && done(false));
    const t = setTimeout(() => done(false), ms);
    changed.add(check);
  });
  const deadline = Date.now() + waitMs;
  await until(() => buf.indexOf("\r\n\r\n") >= 0, waitMs);
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    sock.destroy();
    return [`no HTTP answer (${buf.length} bytes, closed=${ended})`];
  }
  const head = buf.subarray(0, headEnd).toString("latin1").split("\r\n");
  out.push(head[0]);
  const hdrs = head.slice(1).map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
  });
  for (const [name, value] of hdrs.sort((a, b) => a[0].localeCompare(b[0]))) {
    let v = value;
    if (name === "sec-websocket-accept") v = value === acceptFor(key) ? "<valid>" : `<INVALID ${value}>`;
    else if (name === "x-request-id" || name === "x-runtime" || name === "date") v = "<varies>";
    out.push(`${name}: ${v}`);
  }
  let rest = buf.subarray(headEnd + 4);
  const status = Number(head[0].split(" ")[1]);
  if (status !== 101) {
    const cl = hdrs.find(([n]) => n === "content-length");
    const chunked = hdrs.find(([n, v]) => n === "transfer-encoding" && /chunked/i.test(v));
    if (cl) await until(() => buf.length - headEnd - 4 >= Number(cl[1]), Math.max(0, deadline - Date.now()));
    else if (chunked) await until(() => buf.includes("\r\n0\r\n\r\n"), Math.max(0, deadline - Date.now()));
    rest = buf.subarray(headEnd + 4);
    let body = rest.toString("utf8");
    if (chunked) body = dechunk(rest);
    out.push(`[body] ${JSON.stringify(body)}`);
    sock.destroy();
    return out;
  }
  const parsed = [];
  const parseFrames = () => {
    parsed.length = 0;
    let p = buf.subarray(headEnd + 4);
    while (p.length >= 2) {
      const fin = p[0] >> 7, op = p[0] & 15, masked = p[1] >> 7;
      let len = p[1] & 127, off = 2;
      if (len === 126) { if (p.length < 4) break; len = p.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (p.length < 10) break; len = Number(p.readBigUInt64BE(2)); off = 10; }
      if (masked) off += 4;
      if (p.length < off + len) break;
      parsed.push({ fin, op, masked, len, headHex: p.subarray(0, Math.min(off, 4)).toString("hex"), payload: p.subarray(off, off + len) });
      p = p.subarray(off + len);
    }
    return parsed.filter((f) => !isPingFrame(f)).length >= frames;
  };
  await until(parseFrames, Math.max(0, deadline - Date.now()));
  parseFrames();
  for (const f of parsed) {
    if (isPingFrame(f)) continue;
    const desc = `frame fin=${f.fin} opcode=0x${f.op.toString(16)} masked=${f.masked} len=${f.len}`;
    if (f.op === 8) out.push(`${desc} bytes=${f.headHex}${f.payload.toString("hex")}`);
    else out.push(`${desc} head=${f.headHex} payload=${JSON.stringify(f.payload.toString("utf8"))}`);
  }
  sock.destroy();
  return out;
}

function isPingFrame(f) {
  return f.op === 1 && /^\{"type":"ping","message":\d+\}$/.test(f.payload.toString("utf8"));
}

function dechunk(b) {
  let s = b.toString("latin1"), out = "";
  for (;;) {
    const i = s.indexOf("\r\n");
    if (i < 0) break;
    const n = parseInt(s.slice(0, i), 16);
    if (!n) break;
    out += s.slice(i + 2, i + 2 + n);
    s = s.slice(i + 2 + n + 2);
  }
  return Buffer.from(out, "latin1").toString("utf8");
}

/** Plain HTTP GET; records status, content type and body. */
export async function httpGet(port, path) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  const body = await r.text();
  return [`GET ${path} -> ${r.status}`, `content-type: ${r.headers.get("content-type")}`, `[body] ${JSON.stringify(body)}`];
}
