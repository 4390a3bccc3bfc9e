// One RTCPeerConnection between this page and one other person, negotiated over the P2P channel's
// `signal` action with "perfect negotiation", reused for files (data channels) and calls (media tracks).
// A negotiated data channel (id 0) carries control messages: file offers, answers, call invitations.
import { isPolite, shouldIgnoreOffer } from "./negotiation.js";

function randomId() {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class PeerLink {
  /**
   * myId/peerId: user ids; config: RTCConfiguration (ICE servers, policy); send(signal): relays a signal
   * to the peer; handlers: { control(message), datachannel(channel), media(), closed(reason) }.
   */
  constructor({ myId, peerId, config, send, handlers }) {
    this.peerId = peerId;
    this.sid = randomId();
    this.remoteSid = null;
    this.polite = isPolite(myId, peerId);
    this.send = (signal) => send({ ...signal, sid: this.sid });
    this.handlers = handlers;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.closed = false;
    this.queue = Promise.resolve();
    this.pc = new RTCPeerConnection(config);
    this.pc.onnegotiationneeded = () => this.offer();
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.send({ kind: "ice", candidate: candidate.toJSON() });
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed") this.close("the connection failed");
    };
    this.pc.ontrack = () => this.handlers.media?.();
    // After glare and rollbacks the track first announced may not be the one that ends up receiving:
    // the media handler reads the receivers again each time a negotiation settles.
    this.pc.onsignalingstatechange = () => this.pc.signalingState === "stable" && this.handlers.media?.();
    this.pc.ondatachannel = ({ channel }) => this.handlers.datachannel?.(channel);
    this.control = this.pc.createDataChannel("control", { negotiated: true, id: 0 });
    this.opened = new Promise((resolve, reject) => {
      this.control.onopen = () => resolve();
      this.rejectOpen = reject;
    });
    this.opened.catch(() => {});
    this.control.onmessage = ({ data }) => {
      try {
        this.handlers.control?.(JSON.parse(data));
      } catch (error) {
        console.warn("peercable: bad control message", error);
      }
    };
    this.control.onclose = () => this.close("the connection closed");
  }

  async offer() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ kind: "sdp", description: this.pc.localDescription.toJSON() });
    } catch (error) {
      console.warn("peercable: offer failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Takes one signal from the peer; signals are applied in arrival order. */
  receive(signal) {
    this.queue = this.queue.then(() => this.apply(signal)).catch((error) => console.warn("peercable: signal", error));
    return this.queue;
  }

  async apply(signal) {
    if (this.closed) return;
    this.remoteSid ??= signal.sid;
    if (signal.kind === "sdp" && signal.description) {
      const description = signal.description;
      this.ignoreOffer = shouldIgnoreOffer({
        polite: this.polite, type: description.type, makingOffer: this.makingOffer,
        signalingState: this.pc.signalingState, settingRemoteAnswer: this.settingRemoteAnswer,
      });
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await this.pc.setRemoteDescription(description);
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        await this.pc.setLocalDescription();
        this.send({ kind: "sdp", description: this.pc.localDescription.toJSON() });
      }
    } else if (signal.kind === "ice" && signal.candidate) {
      try {
        await this.pc.addIceCandidate(signal.candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  /** Sends a control message once the link is open; resolves false if it closes first. */
  async sendControl(message) {
    try {
      await this.opened;
    } catch {
      return false;
    }
    if (this.control.readyState !== "open") return false;
    this.control.send(JSON.stringify(message));
    return true;
  }

  /** Closes the connection; `tell` also sends the peer a bye so it does not wait for ICE to time out. */
  close(reason, { tell = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    if (tell) this.send({ kind: "bye" });
    this.rejectOpen?.(new Error(reason));
    this.control.onclose = null;
    this.pc.onconnectionstatechange = null;
    this.pc.onsignalingstatechange = null;
    this.pc.close();
    this.handlers.closed?.(reason);
  }
}
