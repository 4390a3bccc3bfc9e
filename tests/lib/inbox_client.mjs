// A WebSocket client (the `ws` package) that keeps every message it receives in an inbox a test can wait on;
// the base of the Action Cable clients in the integration tests.
import WebSocket from "ws";

/** How much of the inbox a failed take() quotes: enough to see what came instead, bounded for 1 MiB echoes. */
const kInboxExcerpt = 500;

/**
 * Opens a WebSocket to `url` and returns at once {ws, inbox, listeners, opened, closed, send(obj), take(pred, ms)}.
 * `opened` resolves on open and rejects on an error or a refused upgrade; `closed` resolves with the close code.
 * Each message is parsed as JSON, pushed to `inbox`, then passed to every function in `listeners`. take() removes
 * and returns the first inbox message matching `pred`, waiting up to `ms` (default `timeoutMs`); on a timeout it
 * throws an error naming `name` and quoting the inbox.
 */
export function openInboxClient(url, protocols = ["actioncable-v1-json"], wsOptions = {}, { name, timeoutMs = 5000 } = {}) {
  const ws = new WebSocket(url, protocols, wsOptions);
  const inbox = [];
  const listeners = new Set();
  const waiters = new Set();
  const wake = () => { for (const w of waiters) w(); };
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString());
    inbox.push(m);
    for (const l of listeners) l(m);
    wake();
  });
  const closed = new Promise((resolve) => ws.on("close", (code) => { resolve(code); wake(); }));
  const opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    // Handled here the refusal names its status; terminate() still ends the handshake, so `closed` resolves.
    ws.once("unexpected-response", (_req, res) => {
      reject(new Error(`${name ? `${name}: ` : ""}upgrade refused: ${res.statusCode}`));
      ws.terminate();
    });
  });
  return {
    ws, inbox, listeners, opened, closed,
    send: (obj) => ws.send(JSON.stringify(obj)),
    async take(pred, ms = timeoutMs) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (Date.now() > deadline) {
          const excerpt = JSON.stringify(inbox).slice(0, kInboxExcerpt);
          throw new Error(`${name ? `${name}: ` : ""}expected message not received in ${ms} ms; inbox: ${excerpt}`);
        }
        // A message or the close wakes the wait at once; the timer re-checks the deadline.
        await new Promise((resolve) => {
          const done = () => { clearTimeout(timer); waiters.delete(done); resolve(); };
          const timer = setTimeout(done, 50);
          waiters.add(done);
        });
      }
    },
  };
}
