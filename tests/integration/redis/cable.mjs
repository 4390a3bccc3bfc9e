// A small Action Cable client over `ws` for the scale-out tests: it keeps every frame, so a test can wait for
// one with a timeout and count duplicates exactly; and a suite's nodes on one redis-server.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { signToken } from "../../lib/peercable.mjs";
import { startRedis, startNodes } from "../../lib/redis.mjs";

export const WAIT_MS = 8000;
export const roomId = (room) => JSON.stringify({ channel: "P2PChannel", room });

export class CableClient {
  /** Connects `user` ({ id, name }) to `wsUrl` with a test token; resolves after the welcome. */
  static async connect(wsUrl, user, { token } = {}) {
    token = token ?? signToken({ sub: user.id, name: user.name ?? user.id });
    const c = new CableClient(new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`,
      ["actioncable-v1-json", "actioncable-unsupported"]), user);
    await c.next((f) => f.type === "welcome", { what: `welcome for ${user.id}` });
    return c;
  }

  constructor(ws, user) {
    this.ws = ws;
    this.user = user;
    this.frames = [];  // every frame but pings, parsed
    this.raw = [];     // the same frames as sent
    this.waiters = new Set();
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      resolve(this.closeInfo);
      for (const w of this.waiters) w();
    }));
    ws.on("error", () => {});
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === "ping") return;
      this.frames.push(f);
      this.raw.push(data.toString());
      for (const w of this.waiters) w();
    });
  }

  /** Resolves with the first frame (from the start) matching `pred` not yet taken by next(); rejects after ms. */
  next(pred, { ms = WAIT_MS, what = "a frame" } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find((x) => !x.__taken && pred(x));
        if (f) {
          Object.defineProperty(f, "__taken", { value: true });
          done();
          resolve(f);
        } else if (this.closeInfo && !this.closeOk) {
          done();
          reject(new Error(`${this.user.id}: closed (${this.closeInfo.code}) while waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.user.id}: timed out after ${ms} ms waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
      }, ms);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** The broadcasts received on `identifier` whose message matches `pred`. */
  received(identifier, pred = () => true) {
    return this.frames.filter((f) => f.identifier === identifier && f.message !== undefined && pred(f.message));
  }

  /** Waits for a broadcast on `identifier` whose message matches `pred`; resolves with the message. */
  async message(identifier, pred, what = "a message") {
    const f = await this.next((x) => x.identifier === identifier && x.message !== undefined && pred(x.message),
      { what: `${what} on ${identifier}` });
    return f.message;
  }

  /** Subscribes and waits for the confirmation; resolves with the identifier. */
  async subscribe(identifier) {
    this.send({ command: "subscribe", identifier });
    await this.next((f) => f.identifier === identifier && f.type === "confirm_subscription",
      { what: `confirm_subscription of ${identifier}` });
    return identifier;
  }

  /** Joins a P2P room; resolves after the confirmation. */
  join(room) { return this.subscribe(roomId(room)); }

  perform(identifier, action, data = {}) {
    this.send({ command: "message", identifier, data: JSON.stringify({ action, ...data }) });
  }

  speak(room, body) { this.perform(roomId(room), "speak", { body }); }
  direct(room, to, body) { this.perform(roomId(room), "direct", { to, body }); }

  send(obj) { this.ws.send(JSON.stringify(obj)); }

  /** Resolves with { code, reason } once the server has closed the socket; rejects after `ms`. */
  closedWithin(ms = WAIT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.user.id}: still open after ${ms} ms`)), ms);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  /** Closes the socket (expected); resolves when closed. */
  close() {
    this.closeOk = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/** Polls GET /health on `url` until its broker state is `state`; resolves with the health object. */
export async function waitBroker(url, state, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await (await fetch(`${url}/health`)).json();
      if (last.broker === state) return last;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url}: broker not ${state} after ${ms} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends a scale-out test: drops `clients`, stops `nodes` (and `others`, e.g. a Rails server), kills `redis`,
 * then checks that every node exited 0 on SIGTERM, which is how a sanitizer build reports leaks and races. */
export async function tearDown({ clients, nodes, redis, others = [] }) {
  for (const c of clients) c.ws.terminate();
  const [codes] = await Promise.all([Promise.all(nodes.map((n) => n.stop())), ...others.map((o) => o?.stop())]);
  await redis?.kill();
  assert.deepEqual(codes, nodes.map(() => 0), `every node exits 0 on SIGTERM:\n${nodes.map((n) => n.logs()).join("\n")}`);
}

/**
 * A suite's nodes on one redis-server: before() starts Redis and `n` nodes (`args` and `options` as startNodes
 * takes them), after() tears down (see tearDown) what is in the returned { redis, nodes, clients } then; a test
 * may put a restarted Redis or node in their place, or take out a node it killed. connect(node, id, name)
 * connects a CableClient kept in `clients`. Nothing starts when `skip`.
 */
export function redisSuite(n, args = [], options = {}, { skip = false } = {}) {
  const suite = {
    redis: null,
    nodes: [],
    clients: [],
    async connect(node, id, name = id) {
      const c = await CableClient.connect(node.wsUrl, { id, name });
      suite.clients.push(c);
      return c;
    },
  };
  before(async () => {
    if (skip) return;
    suite.redis = await startRedis();
    suite.nodes.push(...(await startNodes(suite.redis, n, args, options)));
  });
  after(() => tearDown(suite));
  return suite;
}
