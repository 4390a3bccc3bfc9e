// A TCP proxy on loopback between a client and peercable that a test can cut (every connection through it is
// reset, and new ones are refused until restored) and point at another server.
import net from "node:net";

export class CutProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.cut_ = false;
    this.pairs = new Set();
    this.accepted = 0;
    this.server = net.createServer((client) => this.#accept(client));
  }

  /** Starts listening on a free loopback port; resolves to it. */
  listen() {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve(this.server.address().port)));
  }

  get port() {
    return this.server.address().port;
  }

  #accept(client) {
    if (this.cut_) {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Resets every connection through the proxy and refuses new ones until restore(). */
  cut() {
    this.cut_ = true;
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** Lets connections through again, to `targetPort` when given (another server). */
  restore(targetPort = this.targetPort) {
    this.targetPort = targetPort;
    this.cut_ = false;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * One address in front of several servers, as a load balancer: each new connection goes to the next server
 * marked up (round robin); a server that refuses the connection is skipped. Cut and restore as CutProxy.
 */
export class BalancerProxy extends CutProxy {
  constructor(ports) {
    super(ports[0]);
    this.ports = [...ports];
    this.down = new Set();
    this.next = 0;
  }

  /** Takes `port` out of the rotation (a node about to stop) or puts it back. */
  setDown(port, down = true) {
    if (down) this.down.add(port);
    else this.down.delete(port);
  }

  /** The port of the next live server; CutProxy's accept connects there. */
  get targetPort() {
    const live = this.ports.filter((p) => !this.down.has(p));
    if (live.length === 0) return this.ports[0];
    return live[this.next++ % live.length];
  }

  set targetPort(_port) {}
}
