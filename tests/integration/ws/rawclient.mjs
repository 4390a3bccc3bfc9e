// A raw RFC 6455 client over a TCP socket, for sending exactly the bytes a test wants.
import { connect } from "node:net";
import { randomBytes, createHash } from "node:crypto";

/**
 * Splits one Content-Length framed HTTP response off the start of `buf`: {status, headers, body, rest}, or null
 * while it is incomplete. Header names are lower-cased. A 101 has no body: `rest` holds the first frames.
 */
export function parseResponse(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  if (status === 101) return { status, headers, body: "", rest: buf.subarray(end + 4) };
  const len = Number(headers["content-length"] ?? 0);
  if (buf.length < end + 4 + len) return null;
  return { status, headers, body: buf.subarray(end + 4, end + 4 + len).toString(), rest: buf.subarray(end + 4 + len) };
}

/** Sends `request` (a whole HTTP request) and resolves with {status, headers, body, socket, rest}. */
export function rawHttp(port, request, { keepOpen = false, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error("no HTTP response in time")); }, timeoutMs);
    sock.on("error", (e) => { clearTimeout(timer); reject(e); });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseResponse(buf);
      if (!r) return;
      clearTimeout(timer);
      sock.removeAllListeners("data");
      if (!keepOpen) sock.end();
      resolve({ ...r, socket: sock });
    });
    sock.write(request);
  });
}

export function upgradeRequest(path, extra = {}) {
  const key = randomBytes(16).toString("base64");
  const headers = {
    Host: "127.0.0.1", Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "actioncable-v1-json, actioncable-unsupported", ...extra,
  };
  let req = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) req += `${k}: ${v}\r\n`;
  return { request: req + "\r\n", key };
}

export function expectedAccept(key) {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** Encodes one client frame. first = FIN/RSV/opcode byte; mask = false sends it unmasked. */
export function frame(first, payload, { mask = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = data.length;
  let head;
  if (n < 126) head = Buffer.from([first, (mask ? 0x80 : 0) | n]);
  else if (n < 65536) { head = Buffer.alloc(4); head[0] = first; head[1] = (mask ? 0x80 : 0) | 126; head.writeUInt16BE(n, 2); }
  else { head = Buffer.alloc(10); head[0] = first; head[1] = (mask ? 0x80 : 0) | 127; head.writeBigUInt64BE(BigInt(n), 2); }
  if (!mask) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

/** Parses server frames out of a socket; next() resolves with {opcode, payload, fin} or {eof:true}. */
export class FrameReader {
  constructor(socket, initial = Buffer.alloc(0)) {
    this.buf = initial;
    this.waiters = [];
    this.eof = false;
    socket.on("data", (d) => { this.buf = Buffer.concat([this.buf, d]); this.pump(); });
    socket.on("close", () => { this.eof = true; this.pump(); });
    socket.on("error", () => {});
  }
  parse() {
    const b = this.buf;
    if (b.length < 2) return null;
    let len = b[1] & 0x7f, off = 2;
    if (len === 126) { if (b.length < 4) return null; len = b.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (b.length < 10) return null; len = Number(b.readBigUInt64BE(2)); off = 10; }
    if (b.length < off + len) return null;
    const f = { fin: !!(b[0] & 0x80), rsv1: !!(b[0] & 0x40), opcode: b[0] & 0x0f, masked: !!(b[1] & 0x80), payload: b.subarray(off, off + len) };
    this.buf = b.subarray(off + len);
    return f;
  }
  pump() {
    while (this.waiters.length) {
      const f = this.parse();
      if (f) { this.waiters.shift().resolve(f); continue; }
      if (this.eof) { this.waiters.shift().resolve({ eof: true }); continue; }
      break;
    }
  }
  next(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const w = { resolve: (f) => { clearTimeout(w.t); resolve(f); } };
      w.t = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); reject(new Error("no frame in time")); }, timeoutMs);
      this.waiters.push(w);
      this.pump();
    });
  }
  /** Skips text frames (welcome, pings…) until a frame of `opcode` (or EOF) arrives. */
  async until(opcode, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (f.eof || f.opcode === opcode) return f;
    }
  }
  /** Waits for a text frame whose JSON satisfies `pred`. */
  async json(pred = () => true, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (f.eof) throw new Error("connection closed while waiting for a message");
      if (f.opcode !== 1) continue;
      const m = JSON.parse(f.payload.toString());
      if (pred(m)) return m;
    }
  }
}

/** Opens an authorized Action Cable WebSocket over a raw socket. */
export async function openRaw(port, token, extra = {}) {
  const { request, key } = upgradeRequest(`/cable?token=${token}`, extra);
  const r = await rawHttp(port, request, { keepOpen: true });
  if (r.status !== 101) throw new Error(`upgrade failed: ${r.status} ${r.body}`);
  const reader = new FrameReader(r.socket, r.rest);
  return { socket: r.socket, reader, headers: r.headers, key, send: (buf) => r.socket.write(buf) };
}

export const closeCode = (f) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);
