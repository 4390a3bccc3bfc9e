// Everything this page does directly with other people: one PeerLink per person, file transfers, the
// call, and the encryption keys of direct messages. The view (peer_view.js) draws it; the p2p controller
// relays signals in and out.
import { PeerLink } from "./peer_link.js";
import { signalRoute } from "./negotiation.js";
import { OutgoingTransfer, IncomingTransfer } from "./file_transfer.js";
import { getCallMedia } from "./media.js";
import {
  loadIdentity, importPeerKey, pairKey, encryptMessage, decryptMessage, safetyNumber, pinnedKey, pinKey,
} from "./e2e_keys.js";

// Offers a person may leave pending here at once; more are declined, so a peer cannot pile up cards.
const MAX_PENDING_OFFERS = 50;
const MAX_NAME_CHARS = 255;
const KEY_WAIT_MS = 4000;
const RING_MS = 45000;

function randomId() {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class PeerSession {
  /** myId: this user's id; sendSignal(to, signal) → bool; iceConfig: Promise<RTCConfiguration>; view. */
  constructor({ myId, sendSignal, iceConfig, view }) {
    this.myId = myId;
    this.sendSignal = sendSignal;
    this.iceConfig = iceConfig;
    this.view = view;
    this.links = new Map();
    this.transfers = new Map();
    this.call = null;
    this.people = new Map();
    this.peerKeys = new Map();
    this.pairKeys = new Map();
    this.keyWaiters = new Map();
    this.keyWarnings = new Set();
    this.keysRequested = new Set();
    this.identity = loadIdentity().catch((error) => {
      console.warn("peercable: no encryption key", error);
      return null;
    });
  }

  // ---- links ---------------------------------------------------------------------------------------

  async linkFor(peerId) {
    let link = this.links.get(peerId);
    if (link && !link.closed) return link;
    const config = await this.iceConfig;
    link = this.links.get(peerId);
    if (link && !link.closed) return link;
    link = new PeerLink({
      myId: this.myId, peerId, config,
      send: (signal) => this.sendSignal(peerId, signal),
      handlers: {
        control: (message) => this.control(peerId, message),
        datachannel: (channel) => this.dataChannel(peerId, channel),
        media: () => this.remoteMedia(peerId, link),
        closed: (reason) => this.linkClosed(peerId, link, reason),
      },
    });
    this.links.set(peerId, link);
    return link;
  }

  /** Takes a signal relayed by the server from `from` ({id, name}). */
  async signal(from, signal) {
    if (!from?.id || from.id === this.myId || !signal || typeof signal !== "object") return;
    this.people.set(from.id, from);
    if (signal.kind === "key") return this.keyArrived(from, signal);
    const current = this.links.get(from.id);
    if (signal.kind === "bye") {
      if (current && current.remoteSid === signal.sid) current.close(`${from.name} left`);
      return;
    }
    if (signal.kind !== "sdp" && signal.kind !== "ice") return;
    if (current && signalRoute(current.remoteSid, signal.sid) === "replace") {
      current.close(`${from.name} reconnected`);
    }
    const link = await this.linkFor(from.id);
    link.receive(signal);
  }

  linkClosed(peerId, link, reason) {
    if (this.links.get(peerId) === link) this.links.delete(peerId);
    const name = this.nameOf(peerId);
    for (const t of this.transfers.values()) {
      if (t.peer.id === peerId && !t.final) t.stop("cancelled", `The connection to ${name} ended (${reason}).`);
    }
    if (this.call?.peer.id === peerId) this.endCall(`The call ended: ${reason}.`);
  }

  /**
   * Closes the links to people who were listed as present and no longer are (`users`: a Map of present
   * people). Someone never listed (a room too big for a full list) keeps their link until bye or failure.
   */
  keepOnly(users) {
    this.listed ??= new Set();
    for (const user of users.values()) {
      this.people.set(user.id, user);
      this.listed.add(user.id);
    }
    const gone = (peerId) => this.listed.has(peerId) && !users.has(peerId);
    for (const [peerId, link] of this.links) {
      if (gone(peerId)) link.close(`${this.nameOf(peerId)} left the room`);
    }
    // Someone who comes back may bring a new key: ask again then.
    for (const peerId of this.keysRequested) if (gone(peerId)) this.keysRequested.delete(peerId);
    if (this.call && gone(this.call.peer.id)) {
      this.endCall(`${this.call.peer.name} left the room.`);
    }
    for (const peerId of this.listed) if (!users.has(peerId)) this.listed.delete(peerId);
  }

  /** Closes every link: the page leaves, or its own cable connection is gone. */
  closeAll(reason, { tell = false } = {}) {
    for (const link of [...this.links.values()]) link.close(reason, { tell });
    if (this.call) this.endCall(`The call ended: ${reason}.`);
  }

  nameOf(peerId) {
    return this.people.get(peerId)?.name ?? "the other person";
  }

  control(peerId, m) {
    const peer = this.people.get(peerId) ?? { id: peerId, name: "Someone" };
    const transfer = typeof m.id === "string" ? this.transfers.get(m.id) : null;
    const ours = transfer && transfer.peer.id === peerId;
    switch (m.t) {
      case "file-offer": return this.offerArrived(peer, m);
      case "file-accept": if (ours && transfer.direction === "out") this.linkFor(peerId).then((l) => transfer.start(l)); return;
      case "file-decline": if (ours) transfer.setState("declined", `${peer.name} declined the file.`); return;
      case "file-cancel": if (ours) transfer.stop("cancelled", `${peer.name} cancelled the transfer.`); return;
      case "file-result":
        if (ours && transfer.direction === "out") {
          if (m.ok) transfer.setState("done", `Delivered: ${peer.name}'s browser verified the SHA-256.`);
          else transfer.setState("failed", `${peer.name} received a damaged copy; try again.`);
        }
        return;
      case "call-invite": return this.callArrived(peer, m);
      case "call-accept": return this.callAccepted(peerId);
      case "call-decline":
        if (this.call?.peer.id === peerId) {
          this.endCall(m.reason === "busy" ? `${peer.name} is in another call.`
            : m.reason === "media" ? `${peer.name} could not use a microphone or camera.` : `${peer.name} declined the call.`);
        }
        return;
      case "call-end": if (this.call?.peer.id === peerId) this.endCall(`${peer.name} hung up.`); return;
    }
  }

  // ---- files ---------------------------------------------------------------------------------------

  /** Offers each of `files` to `peer` ({id, name}). */
  async offerFiles(peer, files) {
    for (const file of files) {
      const transfer = new OutgoingTransfer({ id: randomId(), file, peer, onUpdate: (t) => this.transferChanged(t) });
      this.transfers.set(transfer.id, transfer);
      this.view.transferAdded(transfer);
      transfer.note = `Waiting for ${peer.name} to accept…`;
      this.view.transferChanged(transfer);
      const link = await this.linkFor(peer.id);
      const sent = await link.sendControl({ t: "file-offer", id: transfer.id, name: file.name, size: file.size, mime: file.type });
      if (!sent) transfer.setState("failed", `Could not reach ${peer.name}.`);
    }
  }

  offerArrived(peer, m) {
    const pending = [...this.transfers.values()].filter((t) => t.peer.id === peer.id && t.state === "offered").length;
    const valid = typeof m.id === "string" && /^[0-9a-f]{16}$/.test(m.id) && !this.transfers.has(m.id) &&
      typeof m.name === "string" && Number.isSafeInteger(m.size) && m.size >= 0;
    if (!valid || pending >= MAX_PENDING_OFFERS) {
      if (typeof m.id === "string") this.links.get(peer.id)?.sendControl({ t: "file-decline", id: m.id });
      return;
    }
    const name = [...m.name.replace(/[\u0000-\u001f\u007f/\\]/g, "_")].slice(0, MAX_NAME_CHARS).join("") || "file";
    const mime = typeof m.mime === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(m.mime) ? m.mime : "";
    const transfer = new IncomingTransfer({ id: m.id, name, size: m.size, mime, peer, onUpdate: (t) => this.transferChanged(t) });
    this.transfers.set(transfer.id, transfer);
    this.view.transferAdded(transfer);
  }

  accept(id) {
    const t = this.transfers.get(id);
    if (!t || t.direction !== "in" || t.state !== "offered") return;
    t.setState("accepted", "Waiting for the first bytes…");
    this.links.get(t.peer.id)?.sendControl({ t: "file-accept", id });
  }

  decline(id) {
    const t = this.transfers.get(id);
    if (!t || t.direction !== "in" || t.state !== "offered") return;
    t.setState("declined", "You declined the file.");
    this.links.get(t.peer.id)?.sendControl({ t: "file-decline", id });
  }

  cancel(id) {
    const t = this.transfers.get(id);
    if (!t || t.final) return;
    this.links.get(t.peer.id)?.sendControl({ t: "file-cancel", id });
    t.stop("cancelled", "You cancelled the transfer.");
  }

  /** Forgets a finished transfer and frees its bytes. */
  dismiss(id) {
    const t = this.transfers.get(id);
    if (!t || !t.final) return;
    t.release?.();
    this.transfers.delete(id);
    this.view.transferRemoved(t);
  }

  dataChannel(peerId, channel) {
    const match = /^file:([0-9a-f]{16})$/.exec(channel.label);
    const t = match && this.transfers.get(match[1]);
    if (!t || t.direction !== "in" || t.peer.id !== peerId || t.state !== "accepted") {
      channel.close();
      return;
    }
    t.attach(channel);
  }

  transferChanged(t) {
    this.view.transferChanged(t);
    if (t.direction === "in" && t.result && !t.reported) {
      t.reported = true;
      this.links.get(t.peer.id)?.sendControl({ t: "file-result", id: t.id, ok: t.result.ok });
    }
  }

  // ---- calls ---------------------------------------------------------------------------------------

  /** Calls `peer`; `video` false makes an audio call. */
  async startCall(peer, video) {
    if (this.call) {
      this.view.callMessage("You are already in a call. Hang up first.");
      return;
    }
    this.call = { peer, video, state: "starting", muted: false, cameraOff: false, remote: new MediaStream() };
    this.view.callChanged(this.call);
    let local;
    try {
      local = await getCallMedia(video);
    } catch (error) {
      this.call = null;
      this.view.callChanged(null, error.message);
      return;
    }
    if (!this.call || this.call.peer.id !== peer.id) {
      local.getTracks().forEach((track) => track.stop());
      return;
    }
    this.call.local = local;
    this.call.state = "ringing";
    this.view.callChanged(this.call);
    const link = await this.linkFor(peer.id);
    const sent = await link.sendControl({ t: "call-invite", video });
    if (!sent) return this.endCall(`Could not reach ${peer.name}.`);
    const call = this.call;
    call.ringTimer = setTimeout(() => {
      if (this.call === call && call.state === "ringing") this.hangUp(`${peer.name} did not answer.`);
    }, RING_MS);
  }

  callArrived(peer, m) {
    if (this.call) {
      this.links.get(peer.id)?.sendControl({ t: "call-decline", reason: "busy" });
      return;
    }
    this.call = { peer, video: Boolean(m.video), state: "incoming", muted: false, cameraOff: false, remote: new MediaStream() };
    this.view.callChanged(this.call);
  }

  async acceptCall() {
    const call = this.call;
    if (!call || call.state !== "incoming") return;
    call.state = "starting";
    this.view.callChanged(call);
    try {
      call.local = await getCallMedia(call.video);
    } catch (error) {
      this.links.get(call.peer.id)?.sendControl({ t: "call-decline", reason: "media" });
      this.call = null;
      this.view.callChanged(null, error.message);
      return;
    }
    if (this.call !== call) {
      call.local.getTracks().forEach((track) => track.stop());
      return;
    }
    const link = await this.linkFor(call.peer.id);
    this.addTracks(link, call);
    call.state = "active";
    this.remoteMedia(call.peer.id, link);
    link.sendControl({ t: "call-accept" });
  }

  async callAccepted(peerId) {
    const call = this.call;
    if (!call || call.peer.id !== peerId || call.state !== "ringing") return;
    clearTimeout(call.ringTimer);
    const link = await this.linkFor(peerId);
    this.addTracks(link, call);
    call.state = "active";
    this.remoteMedia(peerId, link);
  }

  addTracks(link, call) {
    call.link = link;
    call.senders = call.local.getTracks().map((track) => link.pc.addTrack(track, call.local));
  }

  declineCall() {
    const call = this.call;
    if (!call || call.state !== "incoming") return;
    this.links.get(call.peer.id)?.sendControl({ t: "call-decline" });
    this.endCall("You declined the call.");
  }

  /** Hangs up (or stops ringing) and tells the other side. */
  hangUp(note = "You hung up.") {
    const call = this.call;
    if (!call) return;
    this.links.get(call.peer.id)?.sendControl({ t: "call-end" });
    this.endCall(note);
  }

  endCall(note) {
    const call = this.call;
    if (!call) return;
    this.call = null;
    clearTimeout(call.ringTimer);
    call.local?.getTracks().forEach((track) => track.stop());
    if (call.link && !call.link.closed) {
      for (const sender of call.senders ?? []) {
        try {
          call.link.pc.removeTrack(sender);
        } catch {}
      }
    }
    this.view.callChanged(null, note);
  }

  toggleMute() {
    const call = this.call;
    if (!call?.local) return;
    call.muted = !call.muted;
    call.local.getAudioTracks().forEach((track) => (track.enabled = !call.muted));
    this.view.callChanged(call);
  }

  toggleCamera() {
    const call = this.call;
    if (!call?.local || !call.video) return;
    call.cameraOff = !call.cameraOff;
    call.local.getVideoTracks().forEach((track) => (track.enabled = !call.cameraOff));
    this.view.callChanged(call);
  }

  /** Makes the call's remote stream hold exactly the tracks the connection currently receives. */
  remoteMedia(peerId, link) {
    const call = this.call;
    if (!call || call.peer.id !== peerId || call.state !== "active") return;
    const receiving = link.pc.getTransceivers()
      .filter((t) => t.currentDirection === "sendrecv" || t.currentDirection === "recvonly")
      .map((t) => t.receiver.track);
    const current = call.remote.getTracks();
    if (receiving.length !== current.length || receiving.some((track) => !current.includes(track))) {
      // A new stream rather than addTrack: a playing media element may not pick up a track added later.
      call.remote = new MediaStream(receiving);
    }
    this.view.callChanged(call);
  }

  // ---- end-to-end encryption of direct messages ------------------------------------------------------

  /** Sends our public key to `peerId`; `want` asks for theirs in return. */
  async sendKey(peerId, want) {
    const identity = await this.identity;
    if (!identity) return;
    this.sendSignal(peerId, { kind: "key", jwk: identity.publicJwk, want });
  }

  /** Starts a key exchange with `peer` unless one ran already (opening a DM view calls this). */
  requestKey(peer) {
    this.people.set(peer.id, peer);
    if (this.keysRequested.has(peer.id)) return;
    this.keysRequested.add(peer.id);
    this.sendKey(peer.id, true);
  }

  async keyArrived(from, signal) {
    let imported;
    try {
      imported = await importPeerKey(signal.jwk);
    } catch {
      return;
    }
    const previous = this.peerKeys.get(from.id);
    if (!previous || previous.id !== imported.id) {
      this.peerKeys.set(from.id, imported);
      this.pairKeys.delete(from.id);
      const pinned = pinnedKey(from.id);
      if (!pinned) pinKey(from.id, imported.id);
      else if (pinned !== imported.id) this.keyWarnings.add(from.id);
      this.view.keysChanged(from.id);
    }
    for (const resolve of this.keyWaiters.get(from.id) ?? []) resolve(imported);
    this.keyWaiters.delete(from.id);
    if (signal.want) {
      this.keysRequested.add(from.id);
      this.sendKey(from.id, false);
    }
  }

  /** The peer's public key, asking for it and waiting up to KEY_WAIT_MS; null when none came. */
  waitForKey(peerId) {
    const known = this.peerKeys.get(peerId);
    if (known) return Promise.resolve(known);
    if (!this.keysRequested.has(peerId)) this.requestKey({ id: peerId, name: this.nameOf(peerId) });
    return new Promise((resolve) => {
      const waiters = this.keyWaiters.get(peerId) ?? [];
      waiters.push(resolve);
      this.keyWaiters.set(peerId, waiters);
      setTimeout(() => resolve(this.peerKeys.get(peerId) ?? null), KEY_WAIT_MS);
    });
  }

  async sharedKey(peerId) {
    const identity = await this.identity;
    const peerKey = await this.waitForKey(peerId);
    if (!identity || !peerKey) return null;
    let cached = this.pairKeys.get(peerId);
    if (!cached || cached.keyId !== peerKey.id) {
      cached = { keyId: peerKey.id, key: await pairKey(identity.privateKey, peerKey.key, this.myId, peerId) };
      this.pairKeys.set(peerId, cached);
    }
    return cached.key;
  }

  /** What the DM view shows about `peerId`'s key: { safetyNumber, warning, missing }. */
  async keyInfo(peerId) {
    const identity = await this.identity;
    const peerKey = this.peerKeys.get(peerId);
    if (!identity || !peerKey) return { missing: true, warning: false };
    return { safetyNumber: await safetyNumber(identity.publicRaw, peerKey.raw), warning: this.keyWarnings.has(peerId) };
  }

  /** Trusts `peerId`'s new key after a warning (the person compared safety numbers). */
  trustKey(peerId) {
    const key = this.peerKeys.get(peerId);
    if (!key) return;
    pinKey(peerId, key.id);
    this.keyWarnings.delete(peerId);
    this.view.keysChanged(peerId);
  }

  /**
   * Encrypts `text` for `peer`; rejects with a sentence for the person when it cannot: no key from the
   * recipient, or a changed key not yet confirmed. Never falls back to plaintext.
   */
  async encryptFor(peer, text) {
    if (this.keyWarnings.has(peer.id)) {
      throw new Error(`Not sent: ${peer.name}'s encryption key changed. Compare the safety number with them, then choose “Trust new key”.`);
    }
    if (!(await this.identity)) throw new Error("Cannot encrypt: this browser could not create an encryption key, so nothing was sent.");
    const key = await this.sharedKey(peer.id);
    if (!key) {
      throw new Error(`Cannot encrypt for ${peer.name}: their browser has not shared an encryption key (it may not support encrypted messages). The message was not sent.`);
    }
    return encryptMessage(key, text, this.myId, peer.id);
  }

  /** The plaintext of an encrypted direct message (ours or theirs); rejects when it cannot be read. */
  async decrypt(message) {
    const other = message.from?.id === this.myId ? message.to : message.from?.id;
    const key = other ? await this.sharedKey(other) : null;
    if (!key) throw new Error("no key");
    return decryptMessage(key, message.body, message.from.id, message.to);
  }
}
