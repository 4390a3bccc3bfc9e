// Files over an RTCDataChannel of their own, one per transfer: the sender reads the file in slices and
// stops whenever the channel holds more than HIGH_WATER bytes (resuming at bufferedamountlow), so memory
// stays bounded at any file size; both sides hash as the bytes pass, and the receiver offers the file for
// saving only when its SHA-256 matches the sender's.
import { Sha256 } from "./sha256.js";

export const CHUNK_BYTES = 64 * 1024;
const READ_BYTES = 1024 * 1024;
export const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
// Received chunks are folded into a Blob every so often, which the browser may keep outside the JS heap.
const FOLD_BYTES = 16 * 1024 * 1024;
const UPDATE_EVERY_MS = 200;

/** Formats a byte count for people: "20.0 MB". */
export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** The transfer ends: "done" | "declined" | "cancelled" | "failed" are final states. */
export const FINAL = new Set(["done", "declined", "cancelled", "failed"]);

class Transfer {
  constructor({ id, name, size, mime, peer, direction, onUpdate }) {
    Object.assign(this, { id, name, size, mime, peer, direction });
    this.state = "offered";
    this.bytes = 0;
    this.startedAt = 0;
    this.endedAt = 0;
    this.note = "";
    this.onUpdate = onUpdate;
    this.lastUpdate = 0;
  }

  /** Average rate since the first byte, bytes per second. */
  get rate() {
    if (!this.startedAt) return 0;
    const seconds = ((this.endedAt || performance.now()) - this.startedAt) / 1000;
    return seconds > 0 ? this.bytes / seconds : 0;
  }

  get final() {
    return FINAL.has(this.state);
  }

  setState(state, note = "") {
    if (this.final) return;
    this.state = state;
    this.note = note;
    if (FINAL.has(state) || state === "verifying") this.endedAt ||= performance.now();
    this.update(true);
  }

  update(force = false) {
    const now = performance.now();
    if (!force && now - this.lastUpdate < UPDATE_EVERY_MS) return;
    this.lastUpdate = now;
    this.onUpdate(this);
  }
}

/** A file this page offers to one person. */
export class OutgoingTransfer extends Transfer {
  constructor({ id, file, peer, onUpdate }) {
    super({ id, name: file.name, size: file.size, mime: file.type, peer, direction: "out", onUpdate });
    this.file = file;
  }

  /** Sends the bytes on a new channel of `link`, after the receiver accepted. */
  async start(link) {
    if (this.final) return;
    this.setState("sending");
    const channel = link.pc.createDataChannel(`file:${this.id}`, { ordered: true });
    this.channel = channel;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.onclose = () => {
      if (!this.final && this.state !== "verifying") this.setState("cancelled", "The connection closed.");
    };
    try {
      await new Promise((resolve, reject) => {
        channel.onopen = resolve;
        channel.onerror = () => reject(new Error("the channel did not open"));
      });
      const hash = new Sha256();
      this.startedAt = performance.now();
      for (let offset = 0; offset < this.size && !this.final; offset += READ_BYTES) {
        const slice = new Uint8Array(await this.file.slice(offset, offset + READ_BYTES).arrayBuffer());
        hash.update(slice);
        for (let at = 0; at < slice.length && !this.final; at += CHUNK_BYTES) {
          if (channel.bufferedAmount > HIGH_WATER) await this.drained(channel);
          if (this.final || channel.readyState !== "open") return;
          const chunk = slice.subarray(at, at + CHUNK_BYTES);
          channel.send(chunk);
          this.bytes += chunk.length;
          this.update(this.bytes === chunk.length);
        }
      }
      if (this.final) return;
      this.sha256 = hash.hex();
      channel.send(JSON.stringify({ t: "end", size: this.size, sha256: this.sha256 }));
      this.setState("verifying", "Waiting for the other side to check the file.");
    } catch (error) {
      this.setState("failed", `Sending failed: ${error.message}`);
      channel.close();
    }
  }

  drained(channel) {
    return new Promise((resolve) => {
      const done = () => {
        channel.removeEventListener("bufferedamountlow", done);
        channel.removeEventListener("close", done);
        resolve();
      };
      channel.addEventListener("bufferedamountlow", done);
      channel.addEventListener("close", done);
    });
  }

  /** Ends the transfer here (the caller tells the peer). */
  stop(state, note) {
    this.setState(state, note);
    this.channel?.close();
  }
}

/** A file another person offers to this page. */
export class IncomingTransfer extends Transfer {
  constructor({ id, name, size, mime, peer, onUpdate }) {
    super({ id, name, size, mime, peer, direction: "in", onUpdate });
    this.parts = [];
    this.pending = [];
    this.pendingBytes = 0;
    this.hash = new Sha256();
  }

  /** Takes the channel the sender opened for this transfer. */
  attach(channel) {
    this.channel = channel;
    channel.binaryType = "arraybuffer";
    this.setState("receiving");
    this.startedAt = performance.now();
    channel.onmessage = ({ data }) => (typeof data === "string" ? this.finish(data) : this.take(data));
    channel.onclose = () => {
      if (!this.final) this.setState("cancelled", "The connection closed before the whole file arrived.");
    };
  }

  take(buffer) {
    if (this.final) return;
    this.bytes += buffer.byteLength;
    if (this.bytes > this.size) {
      this.stop("failed", "More bytes arrived than the file's size; discarded.");
      return;
    }
    this.hash.update(buffer);
    this.pending.push(buffer);
    this.pendingBytes += buffer.byteLength;
    if (this.pendingBytes >= FOLD_BYTES) this.fold();
    // The first bytes always show, so even a fast transfer is seen in progress.
    this.update(this.bytes === buffer.byteLength);
  }

  fold() {
    if (this.pending.length) this.parts.push(new Blob(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  finish(text) {
    let end;
    try {
      end = JSON.parse(text);
    } catch {
      end = {};
    }
    this.setState("verifying", "Checking the SHA-256…");
    this.sha256 = this.hash.hex();
    if (end.t !== "end" || end.size !== this.bytes || end.sha256 !== this.sha256) {
      this.parts = [];
      this.pending = [];
      this.result = { ok: false };
      this.stop("failed", "The file arrived damaged (its SHA-256 does not match the sender's), so it was discarded.");
      return;
    }
    this.fold();
    this.blob = new Blob(this.parts, { type: this.mime || "application/octet-stream" });
    this.parts = [];
    this.url = URL.createObjectURL(this.blob);
    this.result = { ok: true };
    this.setState("done", "SHA-256 verified.");
    // One channel per transfer: closed once used, so a long session does not pile them up.
    this.channel.close();
  }

  stop(state, note) {
    this.setState(state, note);
    this.channel?.close();
  }

  /** Frees the received bytes (when the card is dismissed or the page leaves). */
  release() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.blob = null;
  }
}
