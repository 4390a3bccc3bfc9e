// Clients for the hostile-client tests: raw TCP, HTTP and WebSocket connections bound to a chosen loopback
// source address (per-address limits see each 127.0.0.x as a different client), a well-behaved Action
// Cable client, and readers for /metrics and the server's memory.
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { signToken } from "../../lib/peercable.mjs";
import { openInboxClient } from "../../lib/inbox_client.mjs";
import { upgradeRequest, FrameReader, frame, closeCode, parseResponse } from "../ws/rawclient.mjs";

export { frame, closeCode, upgradeRequest, FrameReader, signToken };

/** The loopback address 127.0.0.n; each stands for a different client. */
export const addr = (n) => `127.0.0.${n}`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A deterministic PRNG (mulberry32): the same seed gives the same fuzz input on every run. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

/** Connects a TCP socket from `localAddress` to the server on 127.0.0.1:port. */
export function tcp(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1", localAddress });
    sock.once("connect", () => { sock.removeListener("error", reject); sock.on("error", () => {}); resolve(sock); });
    sock.once("error", reject);
  });
}

/** Splits HTTP/1.1 responses (Content-Length framed, ending at a 101) out of `buf`; returns {responses, rest}. */
export function parseResponses(buf) {
  const responses = [];
  for (;;) {
    const r = parseResponse(buf);
    if (!r) break;
    responses.push({ status: r.status, headers: r.headers, body: r.body });
    buf = r.rest;
    if (r.status === 101) break;
  }
  return { responses, rest: buf };
}

/**
 * Sends `chunks` (a string/Buffer, or an array written `gapMs` apart) from `localAddress`, then reads until
 * the server closes, `timeoutMs` passes or, with `firstResponse`, a whole response has arrived. Resolves
 * with {responses, raw, closed, ms, error}; never rejects.
 */
export function exchange(port, chunks, { localAddress = addr(1), timeoutMs = 5000, gapMs = 0, stopOnResponse = true, firstResponse = false } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect({ port, host: "127.0.0.1", localAddress });
    let raw = Buffer.alloc(0);
    let done = false;
    const finish = (closed, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseResponses(raw), raw, closed, ms: Date.now() - t0, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on("data", (d) => {
      raw = Buffer.concat([raw, d]);
      if (firstResponse && parseResponses(raw).responses.length) finish(false);  // no wait for a keep-alive close
    });
    sock.on("close", () => finish(true));
    sock.on("error", (e) => finish(true, e.code));
    const list = Array.isArray(chunks) ? chunks : [chunks];
    sock.once("connect", async () => {
      for (const c of list) {
        if (done || sock.destroyed) return;
        if (stopOnResponse && raw.length > 0) return;  // the server has answered: a slowloris stops there
        sock.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

/**
 * Opens a WebSocket over a raw socket from `localAddress`. Resolves with {status, headers, body, socket,
 * reader, send} whatever the status; reader is only set after a 101.
 */
export function openWs(port, { localAddress = addr(1), token, path, headers = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const target = path ?? (token ? `/cable?token=${token}` : "/cable");
    const { request, key } = upgradeRequest(target, headers);
    const sock = connect({ port, host: "127.0.0.1", localAddress });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no upgrade response from ${localAddress} in time`)); }, timeoutMs);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const { responses, rest } = parseResponses(buf);
      if (!responses.length) return;
      clearTimeout(timer);
      sock.removeListener("data", onData);
      const r = responses[0];
      const out = { ...r, key, socket: sock, send: (b) => sock.write(b) };
      if (r.status === 101) out.reader = new FrameReader(sock, rest);
      else sock.on("error", () => {});
      resolve(out);
    };
    sock.on("data", onData);
    sock.on("error", (e) => { clearTimeout(timer); reject(e); });
    sock.write(request);
  });
}

/** Reads frames until a close frame (resolves with its code) or EOF (resolves with "eof"). */
export async function closeOf(reader, timeoutMs = 5000) {
  const f = await reader.until(8, timeoutMs);
  return f.eof ? "eof" : closeCode(f);
}

/** Resolves when the socket is closed by the peer (true), or false after `timeoutMs`. */
export function endOf(socket, timeoutMs = 5000) {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    socket.once("close", () => { clearTimeout(t); resolve(true); });
    socket.resume();
  });
}

/** An Action Cable command frame (masked text). */
export const cmd = (obj) => frame(0x81, JSON.stringify(obj));
export const roomId = (room) => JSON.stringify({ channel: "P2PChannel", room });
export const benchId = JSON.stringify({ channel: "BenchmarkChannel" });

/**
 * A well-behaved Action Cable client (the `ws` package) connected from `localAddress`, with an inbox.
 * Resolves once welcomed.
 */
export async function goodClient(port, { sub, name = sub, localAddress = addr(2), token, origin } = {}) {
  const url = `ws://127.0.0.1:${port}/cable?token=${token ?? signToken({ sub, name })}`;
  const c = openInboxClient(url, ["actioncable-v1-json", "actioncable-unsupported"], { localAddress, origin }, { name: sub });
  await c.opened;
  Object.assign(c, {
    async join(room) {
      c.send({ command: "subscribe", identifier: roomId(room) });
      const r = await c.take((m) => m.identifier === roomId(room) && (m.type === "confirm_subscription" || m.type === "reject_subscription"));
      if (r.type === "confirm_subscription") await c.take((m) => m.identifier === roomId(room) && m.message?.type === "history");
      return r.type;
    },
    act: (room, data) => c.send({ command: "message", identifier: roomId(room), data: JSON.stringify(data) }),
    close: () => c.ws.close(),
  });
  await c.take((m) => m.type === "welcome");
  return c;
}

/** GET /metrics as a map "name{labels}" → number. */
export async function metrics(baseUrl) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** peercable_limit_refusals_total{limit="name"}, or undefined when the server does not report it. */
export async function refusals(baseUrl, name) {
  return (await metrics(baseUrl)).get(`peercable_limit_refusals_total{limit="${name}"}`);
}

export async function health(baseUrl) {
  const r = await fetch(`${baseUrl}/health`);
  return { ...(await r.json()), httpStatus: r.status };
}

/** Waits until GET /health reports at most `n` connections (the /health request itself is one). */
export async function connectionsSettle(baseUrl, n, ms = 8000) {
  const deadline = Date.now() + ms;
  let h;
  while (Date.now() < deadline) {
    h = await health(baseUrl);
    if (h.connections <= n) return h;
    await sleep(100);
  }
  return h;
}

/** The resident memory of process `pid`, in KiB (VmRSS in /proc/<pid>/status). */
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** True when process `pid` runs with AddressSanitizer (its memory use is several times larger). */
export function isSanitized(pid) {
  try {
    return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${pid}/maps`, "utf8"));
  } catch {
    return false;
  }
}

/** The start of a sanitizer report (or the last lines) in a server's output, for failure messages. */
export function lastWords(logs) {
  let at = logs.indexOf("==ERROR");
  if (at < 0) at = logs.search(/runtime error|AddressSanitizer|LeakSanitizer/);
  return (at >= 0 ? logs.slice(at) : logs.slice(-1500)).split("\n").slice(0, 30).join("\n");
}
