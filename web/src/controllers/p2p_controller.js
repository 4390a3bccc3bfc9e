// p2p_controller: one chat room over AnyCable's extended Action Cable protocol (actioncable-v1-ext-json), on
// the unmodified @anycable/web client, so a dropped connection or a restarted server loses nothing: the
// client resumes its session or resubscribes from the last stream offsets it saw, and the server replays what
// was missed (docs/p2p.md, "Reconnecting"). Plain Action Cable servers are not its target.
//
// Values (data attributes): url (cable URL, default "/cable"), room, token (JWT, sent as ?token=),
// userId (optional; taken from the token's `sub` claim when absent), signedRoom (optional: the room name signed by
// the app, which opens a private room; sent as the identifier's `signed_room` for the `room` value's room).
// Every target is optional, so the controller fits any markup; see docs/rails.md for a Rails partial.
// iceUrl: where the ICE server list is fetched (GET, Authorization: Bearer <token>); the page's URL
// parameter ?ice=relay forces relay-only ICE (TURN), for testing a TURN server.
// Events dispatched on the element: p2p:status {state, label, detail, reason}, p2p:room {room},
// p2p:left {room}, p2p:history-lost {room}, p2p:signal {from, signal} (also handled here: files, calls and
// message keys, docs/p2p.md).
import { Controller } from "@hotwired/stimulus";
import { createCable } from "@anycable/web";
import { backoffWithJitter } from "@anycable/core";
import { PeerSession } from "../peer/peer_session.js";
import { PeerView } from "../peer/peer_view.js";
import { isCiphertext, maxPlaintextBytes } from "../peer/e2e_keys.js";
import { comesAfter } from "../message_order.js";

export const MAX_BODY_BYTES = 4096;
// A direct message is encrypted: its plaintext must leave room for the IV, the tag and base64.
export const MAX_DIRECT_BYTES = maxPlaintextBytes(MAX_BODY_BYTES);

// Reconnect schedule after a drop: attempt n waits between RECONNECT_BASE_MS·2^n and twice that, ±50 %
// jitter, never more than RECONNECT_MAX_MS, so a person is back within about a second and a half of the network
// returning. (The library's default starts at the 3 s ping interval and doubles without a cap: 10–30 s after
// a short cut.) A dead socket that does not close is noticed after two missed pings (6 s).
export const RECONNECT_BASE_MS = 250;
export const RECONNECT_MAX_MS = 1500;
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOW_MS = 4000;
const COUNTER_FROM_BYTES = 3500;

const LABELS = {
  idle: "Not in a room",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting",
  rejected: "Rejected",
  offline: "Offline",
};

const utf8 = new TextEncoder();

/** Returns the claims of a JWT without verifying it (the server does that), or {} if unreadable. */
function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) || {};
  } catch {
    return {};
  }
}

export default class P2pController extends Controller {
  static values = {
    url: { type: String, default: "/cable" },
    room: { type: String, default: "lobby" },
    token: String,
    userId: String,
    signedRoom: String,
    iceUrl: { type: String, default: "ice-servers" },
  };

  static targets = [
    "status", "statusDetail", "messages", "input", "error", "counter", "typing",
    "presence", "presenceCount", "roomInput", "roomName", "recipient", "recipientName",
    "transfers", "call", "peerNotice", "e2e", "keyWarning", "keyWarningText", "fileInput", "historyNotice", "historyNoticeText",
  ];

  connect() {
    this.state = null;
    this.started = true;
    this.onOnline = () => this.networkReturned();
    this.onOffline = () => {
      if (["connecting", "connected", "reconnecting"].includes(this.state)) {
        this.stopCountdown();
        this.setState("offline", "Waiting for the network to come back.");
      }
    };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    // Closing the tab: tell the people we are linked with at once, rather than let ICE time out.
    this.onPageHide = () => this.peer?.closeAll("the other person closed the page", { tell: true });
    window.addEventListener("pagehide", this.onPageHide);
    this.enterRoom(this.roomValue);
  }

  disconnect() {
    this.started = false;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("pagehide", this.onPageHide);
    this.leaveRoom();
    this.closeConsumer();
    this.state = null;
  }

  // The list stays pinned to the newest message while the reader is at the bottom, also when the
  // list itself shrinks (a status line wrapping on a phone, the keyboard opening).
  messagesTargetConnected(list) {
    this.pinnedToBottom = true;
    this.onListScroll = () => {
      this.pinnedToBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    };
    list.addEventListener("scroll", this.onListScroll, { passive: true });
    this.listResizeObserver = new ResizeObserver(() => {
      if (this.pinnedToBottom) list.scrollTop = list.scrollHeight;
    });
    this.listResizeObserver.observe(list);
  }

  messagesTargetDisconnected(list) {
    list.removeEventListener("scroll", this.onListScroll);
    this.listResizeObserver?.disconnect();
  }

  // Value callbacks also run before connect(); only a change on a live controller acts.
  roomValueChanged(room, previous) {
    if (this.started && previous !== undefined && room !== this.currentRoom) this.enterRoom(room);
  }

  tokenValueChanged(token, previous) {
    if (this.started && previous !== undefined && token !== previous) this.restart();
  }

  urlValueChanged(url, previous) {
    if (this.started && previous !== undefined && url !== previous) this.restart();
  }

  // ---- actions -------------------------------------------------------------------------------

  /** Sends the input as a room message, or as a direct message when a recipient is chosen. */
  send(event) {
    event?.preventDefault();
    if (!this.hasInputTarget) return;
    const body = this.inputTarget.value.trim();
    const refusal = this.refusalFor(body);
    if (refusal) {
      this.showError(refusal);
      this.inputTarget.focus();
      return;
    }
    if (this.recipient) {
      this.sendEncrypted(this.recipient, body);
      return;
    }
    const sent = this.perform("speak", { body });
    if (!sent) {
      this.showError("Not connected, so the message was not sent. It is still in the box: send it again once connected.");
      return;
    }
    this.inputTarget.value = "";
    this.lastTypingSentAt = 0;
    this.clearError();
    this.updateCounter();
    this.inputTarget.focus();
  }

  /** Encrypts `body` for `recipient` and sends the ciphertext; refuses (never sends plaintext) when it cannot. */
  async sendEncrypted(recipient, body) {
    let ciphertext;
    try {
      ciphertext = await this.peer.encryptFor(recipient, body);
    } catch (error) {
      this.showError(error.message, "cannot_encrypt");
      return;
    }
    if (!this.perform("direct", { to: recipient.id, body: ciphertext })) {
      this.showError("Not connected, so the message was not sent. It is still in the box: send it again once connected.");
      return;
    }
    if (this.inputTarget.value.trim() === body) this.inputTarget.value = "";
    this.lastTypingSentAt = 0;
    this.clearError();
    this.updateCounter();
    this.inputTarget.focus();
  }

  /** Enter sends, Shift+Enter inserts a newline; nothing happens while an IME is composing. */
  keydown(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    this.send(event);
  }

  /** Keeps the byte counter current, clears a stale error and tells the room we are typing. */
  inputChanged() {
    this.updateCounter();
    if (this.errorShown && !this.refusalFor(this.inputTarget.value.trim(), { forTyping: true })) this.clearError();
    const now = Date.now();
    if (this.state === "connected" && this.inputTarget.value.trim() && now - (this.lastTypingSentAt || 0) > TYPING_SEND_EVERY_MS) {
      this.lastTypingSentAt = now;
      this.perform("typing", {});
    }
  }

  /** Joins the room typed in the roomInput target (a form submit or a button). */
  join(event) {
    event?.preventDefault();
    const room = (this.hasRoomInputTarget ? this.roomInputTarget.value : this.roomValue).trim();
    if (!room) {
      this.setState("rejected", "Type a room name to join.", "invalid_room");
      return;
    }
    if (room === this.currentRoom && this.state !== "rejected") return;
    // enterRoom first, so the (asynchronous) roomValueChanged finds the room already current.
    this.enterRoom(room);
    this.roomValue = room;
  }

  /** Leaves the room: unsubscribes and closes the connection until join is used again. */
  leave(event) {
    event?.preventDefault();
    const room = this.currentRoom;
    this.leaveRoom();
    this.closeConsumer();
    this.resetRoomView(null);
    this.setState("idle", room ? `You left ${room}. Join a room to chat again.` : "");
    this.dispatch("left", { detail: { room } });
  }

  /** Chooses a person from the presence list as the recipient of direct messages. */
  chooseRecipient(event) {
    const user = this.users.get(event.currentTarget.dataset.userId);
    if (!user) return;
    this.recipient = user;
    this.peer?.requestKey(user);
    this.renderRecipient();
    this.inputTarget?.focus();
  }

  /** Goes back to messaging the whole room. */
  clearRecipient(event) {
    event?.preventDefault();
    this.recipient = null;
    this.renderRecipient();
    this.inputTarget?.focus();
  }

  // ---- files, calls and message keys (web/src/peer/) ----------------------------------------------

  /** Opens the file picker for the person of the DM view. */
  chooseFiles(event) {
    event?.preventDefault();
    if (!this.peerReady()) return;
    this.fileInputTarget.value = "";
    this.fileInputTarget.click();
  }

  filesChosen() {
    const files = [...this.fileInputTarget.files];
    if (files.length && this.peerReady()) this.peer.offerFiles(this.recipient, files);
  }

  dragOver(event) {
    if (![...(event.dataTransfer?.types ?? [])].includes("Files")) return;
    event.preventDefault();
    event.currentTarget.classList.add("dropping");
  }

  dragLeave(event) {
    if (!event.currentTarget.contains(event.relatedTarget)) event.currentTarget.classList.remove("dropping");
  }

  /** Files dropped on the conversation go to the person of the DM view. */
  drop(event) {
    event.preventDefault();
    event.currentTarget.classList.remove("dropping");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (!files.length) return;
    if (!this.recipient) {
      this.showError("To send files, choose a person first: press Message next to their name, then drop the files again.");
      return;
    }
    if (this.peerReady()) this.peer.offerFiles(this.recipient, files);
  }

  audioCall(event) {
    event?.preventDefault();
    if (this.peerReady()) this.peer.startCall(this.recipient, false);
  }

  videoCall(event) {
    event?.preventDefault();
    if (this.peerReady()) this.peer.startCall(this.recipient, true);
  }

  trustKey(event) {
    event?.preventDefault();
    if (this.recipient) this.peer?.trustKey(this.recipient.id);
  }

  peerReady() {
    if (!this.recipient) return false;
    if (this.state !== "connected" || !this.peer) {
      this.showError("Not connected: files and calls need the connection to the server to reach the other person.");
      return false;
    }
    return true;
  }

  /** The ICE configuration: the operator's STUN/TURN servers (with minted TURN credentials) or none. */
  async iceConfig() {
    const relayOnly = new URLSearchParams(location.search).get("ice") === "relay";
    let iceServers = [];
    try {
      const response = await fetch(new URL(this.iceUrlValue, document.baseURI), {
        headers: { Authorization: `Bearer ${this.tokenValue}`, Accept: "application/json" },
      });
      if (response.ok) iceServers = (await response.json()).iceServers ?? [];
    } catch {}
    return { iceServers, iceTransportPolicy: relayOnly ? "relay" : "all" };
  }

  startPeer() {
    this.stopPeer();
    const view = new PeerView({
      transfers: this.hasTransfersTarget ? this.transfersTarget : null,
      call: this.hasCallTarget ? this.callTarget : null,
      notice: this.hasPeerNoticeTarget ? this.peerNoticeTarget : null,
      onKeysChanged: (peerId) => this.recipient?.id === peerId && this.renderKeyInfo(),
    });
    this.peer = new PeerSession({
      myId: this.myId,
      iceConfig: this.iceConfig(),
      view,
      sendSignal: (to, signal) => this.perform("signal", { to, signal }),
    });
    view.session = this.peer;
  }

  stopPeer() {
    this.peer?.closeAll("you left the room", { tell: true });
    this.peer = null;
  }

  /** The DM view's encryption line: the safety number, or the warning of a changed key. */
  async renderKeyInfo() {
    const recipient = this.recipient;
    if (!this.hasE2eTarget) return;
    if (!recipient || !this.peer) {
      this.e2eTarget.textContent = "";
      if (this.hasKeyWarningTarget) this.keyWarningTarget.hidden = true;
      return;
    }
    const info = await this.peer.keyInfo(recipient.id);
    if (this.recipient !== recipient) return;
    this.e2eTarget.textContent = info.missing
      ? "End-to-end encrypted. Waiting for their key…"
      : `End-to-end encrypted. Safety number: ${info.safetyNumber}`;
    this.e2eTarget.dataset.safetyNumber = info.safetyNumber ?? "";
    if (this.hasKeyWarningTarget) {
      this.keyWarningTarget.hidden = !info.warning;
      if (this.hasKeyWarningTextTarget) {
        this.keyWarningTextTarget.textContent = info.warning
          ? `${recipient.name}'s encryption key changed (a new browser or device, or someone in between). Compare the safety number with ${recipient.name} another way before you trust it.`
          : "";
      }
    }
  }

  // ---- connection and subscription -------------------------------------------------------------

  /** The signed-in user's id: the userId value, else the token's `sub` (a number becomes a string). */
  get myId() {
    const sub = tokenClaims(this.tokenValue).sub;
    return this.userIdValue || (sub === undefined || sub === null ? null : String(sub));
  }

  cableUrl() {
    const url = new URL(this.urlValue, document.baseURI);
    if (this.tokenValue) url.searchParams.set("token", this.tokenValue);
    return url.toString();
  }

  enterRoom(room, { keepMessages = false } = {}) {
    this.leaveRoom();
    this.currentRoom = room;
    this.catchingUp = false;
    this.resetRoomView(room, { keepMessages });
    if (this.hasRoomInputTarget && this.roomInputTarget.value !== room) this.roomInputTarget.value = room;
    this.dispatch("room", { detail: { room } });
    if (!room) {
      this.setState("rejected", "Type a room name to join.", "invalid_room");
      return;
    }
    // A room entered anew gets a new connection: the client's stream positions from an earlier visit to a
    // room would ask the server to replay (or refuse) a past the room's own history already covers.
    this.closeConsumer();
    this.cable = this.openCable();
    this.startPeer();
    this.setState("connecting");
    const params = { room };
    if (this.signedRoomValue && room === this.roomValue) params.signed_room = this.signedRoomValue;
    const channel = this.cable.subscribeTo("P2PChannel", params);
    const current = () => this.started && this.channel === channel;
    channel.on("connect", () => current() && this.subscribed());
    channel.on("close", (error) => current() && error && this.subscriptionClosed(room, error));
    channel.on("message", (data) => current() && this.received(data));
    channel.on("info", (event) => {
      if (!current()) return;
      if (event?.type === "history_received" || event?.type === "history_not_found") this.catchingUp = false;
      if (event?.type === "history_not_found") this.historyLost(room);
    });
    this.channel = channel;
  }

  /** One cable per controller; its status events drive the page's status (the channel's only say "subscribed"). */
  openCable() {
    const backoff = backoffWithJitter(RECONNECT_BASE_MS, { maxInterval: RECONNECT_MAX_MS });
    const cable = createCable(this.cableUrl(), {
      protocol: "actioncable-v1-ext-json",
      logLevel: "error",
      // The delay of each attempt is also shown to the person as a countdown.
      reconnectStrategy: (attempts) => {
        const delay = backoff(attempts);
        if (this.cable === cable) this.nextAttemptAt = Date.now() + delay;
        return delay;
      },
    });
    cable.on("disconnect", () => this.cable === cable && this.dropped());
    cable.on("close", (error) => this.cable === cable && error && this.closedByServer(error));
    return cable;
  }

  leaveRoom() {
    this.stopPeer();
    this.stopCountdown();
    clearTimeout(this.resubscribeTimer);
    clearTimeout(this.catchUpTimer);
    if (this.channel) {
      const channel = this.channel;
      this.channel = null;
      channel.disconnect();
    }
    this.currentRoom = null;
  }

  closeConsumer() {
    if (!this.cable) return;
    const cable = this.cable;
    this.cable = null;
    cable.disconnect();
  }

  restart() {
    const room = this.currentRoom ?? this.roomValue;
    this.leaveRoom();
    this.closeConsumer();
    this.enterRoom(room);
  }

  /** Sends an action on the room's subscription; false (nothing sent) when not connected. */
  perform(action, data) {
    if (!this.channel || this.state !== "connected" || this.cable?.state !== "connected") return false;
    this.channel.perform(action, data).catch(() => {});
    return true;
  }

  subscribed() {
    this.stopCountdown();
    // A server that never confirms a replay does not keep typing hidden for long.
    clearTimeout(this.catchUpTimer);
    this.catchUpTimer = setTimeout(() => { this.catchingUp = false; }, 5000);
    this.setState("connected");
  }

  /** The connection dropped; the cable reconnects on its own schedule, which the status counts down. */
  dropped() {
    if (this.state === "rejected" || this.state === "idle") return;
    this.clearTyping();
    // Until the server confirms the replay of what was missed (or refuses it), what arrives is the past.
    this.catchingUp = true;
    this.peer?.closeAll("the connection to the server was lost");
    if (navigator.onLine === false) {
      this.setState("offline", "Waiting for the network to come back.");
      return;
    }
    this.setState("reconnecting", this.countdownText(), "connection_lost");
    clearInterval(this.countdownTimer);
    this.countdownTimer = setInterval(() => this.renderCountdown(), 250);
  }

  /** The server closed with reconnect:false: Action Cable's answer to a missing or bad token. */
  closedByServer(error) {
    this.stopCountdown();
    this.peer?.closeAll("the connection to the server was closed");
    const why = error?.reason === "unauthorized" || !error?.reason
      ? "Not signed in, or the sign-in has expired. Sign in again to chat."
      : `The server closed the connection (${error.reason}). Sign in again to chat.`;
    this.setState("rejected", why, "unauthorized");
  }

  /** The server refused the subscription, or it failed otherwise (then it is tried again, as after a drop). */
  subscriptionClosed(room, error) {
    if (error.message === "Rejected") {
      this.refused(room);
      return;
    }
    this.setState("reconnecting", "Trying now…", "subscribe_failed");
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(() => this.currentRoom === room && this.restart(), RECONNECT_MAX_MS);
  }

  refused(room) {
    this.stopCountdown();
    // The server does not say why: the name may be invalid (1–64 letters, digits or . _ : -), or the room private.
    const why = /^[A-Za-z0-9_.:-]{1,64}$/.test(room)
      ? "It is a private room you have not been invited to."
      : "Room names are 1–64 letters, digits or . _ : -";
    this.setState("rejected", `The server refused room “${room}”. ${why}`, "invalid_room");
  }

  /**
   * The server could not replay what was missed (its history of the room was evicted, or it restarted without
   * keeping it): say so, and load the room afresh on a new connection, whose subscription brings the room's
   * recent messages (merged with those shown, each once) and who is here. A new connection also forgets the
   * stale stream positions, which the server would refuse again.
   */
  historyLost(room) {
    if (room !== this.currentRoom) return;
    // At most one reload a minute: a server that keeps refusing gets the notice, not a reconnect loop.
    const now = Date.now();
    const reload = !(now - (this.historyReloadedAt ?? -Infinity) < 60000);
    if (reload) {
      this.historyReloadedAt = now;
      this.leaveRoom();
      this.closeConsumer();
      this.enterRoom(room, { keepMessages: true });
    }
    this.showHistoryNotice(
      "What happened while you were disconnected could not be recovered in full: the server no longer keeps it. " +
      "The room was reloaded with its recent messages and who is here now; private messages sent meanwhile may be missing.");
    this.dispatch("history-lost", { detail: { room } });
  }

  showHistoryNotice(text) {
    if (!this.hasHistoryNoticeTarget) {
      this.showError(text, "history_not_found");
      return;
    }
    (this.hasHistoryNoticeTextTarget ? this.historyNoticeTextTarget : this.historyNoticeTarget).textContent = text;
    this.historyNoticeTarget.hidden = false;
  }

  hideHistoryNotice() {
    if (!this.hasHistoryNoticeTarget) return;
    if (this.hasHistoryNoticeTextTarget) this.historyNoticeTextTarget.textContent = "";
    this.historyNoticeTarget.hidden = true;
  }

  dismissHistoryNotice(event) {
    event?.preventDefault();
    this.hideHistoryNotice();
  }

  networkReturned() {
    if (this.state !== "offline") return;
    // The socket may have survived the outage; otherwise the cable reconnects on "online" itself.
    if (this.cable?.state === "connected" && this.channel?.state === "connected") this.setState("connected");
    else this.setState("reconnecting", this.countdownText(), "connection_lost");
  }

  stopCountdown() {
    clearInterval(this.countdownTimer);
    this.countdownTimer = null;
    this.nextAttemptAt = null;
  }

  countdownText() {
    if (!this.nextAttemptAt) return "Trying now…";
    const seconds = Math.max(0, Math.ceil((this.nextAttemptAt - Date.now()) / 1000));
    const at = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" }).format(this.nextAttemptAt);
    return seconds > 0 ? `Next attempt in ${seconds} s (at ${at}).` : "Trying now…";
  }

  renderCountdown() {
    if (this.state !== "reconnecting") return;
    this.statusDetail = this.countdownText();
    this.renderStatus();
  }

  // ---- incoming data ---------------------------------------------------------------------------

  received(data) {
    if (!data || typeof data !== "object") return;
    switch (data.type) {
      case "message":
      case "direct":
        this.addMessage(data);
        this.stopTyping(data.from?.id);
        break;
      case "history":
        this.addHistory(data.messages);
        break;
      case "presence":
      case "members":
        this.applyPresence(data);
        break;
      case "presence_diff":
        this.applyPresenceDiff(data);
        break;
      case "typing":
        // "Is typing" from the replay of a gap is stale: shown only live.
        if (!this.catchingUp) this.startTyping(data.from);
        break;
      case "signal":
        this.peer?.signal(data.from, data.signal);
        this.dispatch("signal", { detail: { from: data.from, signal: data.signal } });
        break;
      case "error":
        this.showError(data.message || "The server refused the last request.", data.code);
        break;
    }
    // Whoever is no longer present loses their connection, transfers and call (any presence update).
    if (!["message", "direct", "typing", "signal", "history", "error"].includes(data.type)) this.peer?.keepOnly(this.users);
  }

  addHistory(messages = []) {
    if (!this.hasMessagesTarget) return;
    this.messagesTarget.setAttribute("aria-busy", "true");
    for (const message of messages) this.addMessage(message, { fromHistory: true });
    this.messagesTarget.setAttribute("aria-busy", "false");
  }

  /** Inserts a message once, kept in sent_at order so a history replay slots in place. */
  addMessage(message, { fromHistory = false } = {}) {
    if (!this.hasMessagesTarget || !message?.id) return;
    // A replay repeats both id and sent_at; keying on the pair also keeps a new message whose id a
    // server reused after losing its store (ids are only promised unique within one history).
    const key = `${message.id}@${message.sent_at}`;
    if (this.seenIds.has(key)) return;
    this.seenIds.add(key);
    const list = this.messagesTarget;
    const item = this.messageElement(message, fromHistory);
    let after = list.lastElementChild;
    while (after && comesAfter(after.dataset, item.dataset)) after = after.previousElementSibling;
    list.insertBefore(item, after ? after.nextElementSibling : list.firstElementChild);
    if (this.pinnedToBottom || message.from?.id === this.myId) {
      list.scrollTop = list.scrollHeight;
      this.pinnedToBottom = true;
    }
  }

  messageElement(message, fromHistory) {
    const own = message.from?.id && message.from.id === this.myId;
    const direct = message.type === "direct";
    const item = document.createElement("li");
    item.className = "message";
    item.classList.toggle("message--own", Boolean(own));
    item.classList.toggle("message--direct", direct);
    item.classList.toggle("message--history", fromHistory);
    item.dataset.messageId = message.id;
    item.dataset.sentAt = String(message.sent_at ?? 0);

    const meta = document.createElement("div");
    meta.className = "message__meta";
    const from = document.createElement("span");
    from.className = "message__from";
    from.textContent = own ? `${message.from.name} (you)` : message.from?.name ?? "Unknown";
    meta.append(from);
    if (direct) {
      const tag = document.createElement("span");
      tag.className = "message__tag";
      const to = own ? this.users.get(message.to)?.name ?? "someone" : "you";
      tag.textContent = `private to ${to}`;
      meta.append(" ", tag);
    }
    if (message.sent_at) {
      const sent = new Date(message.sent_at);
      const time = document.createElement("time");
      time.className = "message__time";
      time.dateTime = sent.toISOString();
      time.textContent = this.formatTime(sent);
      time.title = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" }).format(sent);
      meta.append(" ", time);
    }

    const body = document.createElement("p");
    body.className = "message__body";
    body.textContent = String(message.body ?? "");
    if (direct && isCiphertext(message.body)) this.showDecrypted(message, item, body);
    item.append(meta, body);
    return item;
  }

  /** Fills in the plaintext of an encrypted direct message once it is decrypted (no click needed). */
  async showDecrypted(message, item, body) {
    item.classList.add("message--encrypted");
    body.textContent = "Decrypting…";
    try {
      if (!this.peer) throw new Error("no session");
      body.textContent = await this.peer.decrypt(message);
    } catch {
      item.classList.add("message--unreadable");
      body.textContent = "Encrypted message this browser cannot read (it was encrypted for another key).";
    }
  }

  formatTime(date) {
    const today = new Date().toDateString() === date.toDateString();
    const options = today ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" };
    return new Intl.DateTimeFormat(undefined, options).format(date);
  }

  startTyping(user) {
    if (!user?.id || user.id === this.myId) return;
    this.typingUsers.set(user.id, { name: user.name, until: Date.now() + TYPING_SHOW_MS });
    this.renderTyping();
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.renderTyping(), TYPING_SHOW_MS + 50);
  }

  stopTyping(userId) {
    if (userId && this.typingUsers.delete(userId)) this.renderTyping();
  }

  clearTyping() {
    this.typingUsers?.clear();
    this.renderTyping();
  }

  renderTyping() {
    const now = Date.now();
    for (const [id, entry] of this.typingUsers) if (entry.until <= now) this.typingUsers.delete(id);
    if (!this.hasTypingTarget) return;
    const names = [...this.typingUsers.values()].map((entry) => entry.name);
    this.typingTarget.textContent =
      names.length === 0 ? "" :
      names.length === 1 ? `${names[0]} is typing…` :
      names.length === 2 ? `${names[0]} and ${names[1]} are typing…` :
      `${names.length} people are typing…`;
    if (this.typingUsers.size) {
      clearTimeout(this.typingTimer);
      const soonest = Math.min(...[...this.typingUsers.values()].map((entry) => entry.until));
      this.typingTimer = setTimeout(() => this.renderTyping(), Math.max(50, soonest - now + 50));
    }
  }

  /**
   * A snapshot ("presence", or a "members" page): names while the room is small; in a big room (more people
   * than the server lists) only the count is shown, as "N people".
   */
  applyPresence(data) {
    if (data.type === "members" && data.next !== null) return;  // a partial page: big room, counts only
    this.users = new Map((data.users || []).map((u) => [u.id, u]));
    this.peopleCount = data.count ?? this.users.size;
    this.bigRoom = data.more === true;
    this.renderPresence();
  }

  /** Changes coalesced by the server: names in small rooms, only the count in big ones. */
  applyPresenceDiff(data) {
    this.peopleCount = data.count ?? this.peopleCount;
    if (!Array.isArray(data.joined)) {
      this.bigRoom = true;
    } else if (this.bigRoom) {
      this.perform("members", {});  // the room became small: fetch the full list once
    } else {
      for (const user of data.joined) this.users.set(user.id, user);
      for (const user of data.left || []) {
        this.users.delete(user.id);
        this.stopTyping(user.id);
      }
    }
    this.renderPresence();
  }

  renderPresence() {
    if (!this.bigRoom && this.recipient && !this.users.has(this.recipient.id)) {
      this.recipient = null;
      this.renderRecipient();
    }
    const count = this.bigRoom ? this.peopleCount : this.users.size;
    if (this.hasPresenceCountTarget) this.presenceCountTarget.textContent = String(count);
    if (!this.hasPresenceTarget) return;
    if (this.bigRoom) {
      const item = document.createElement("li");
      item.className = "person person--count";
      item.textContent = `${count} people`;
      this.presenceTarget.replaceChildren(item);
      return;
    }
    const me = this.myId;
    const people = [...this.users.values()].sort((a, b) =>
      (b.id === me) - (a.id === me) || String(a.name).localeCompare(String(b.name)));
    const items = people.map((user) => {
      const item = document.createElement("li");
      item.className = "person";
      item.dataset.userId = user.id;
      const name = document.createElement("span");
      name.className = "person__name";
      name.textContent = user.id === me ? `${user.name} (you)` : user.name;
      item.append(name);
      if (user.id !== me) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "person__dm";
        button.dataset.userId = user.id;
        button.dataset.action = `${this.identifier}#chooseRecipient`;
        button.textContent = "Message";
        button.setAttribute("aria-label", `Message ${user.name} privately`);
        item.append(button);
      }
      return item;
    });
    this.presenceTarget.replaceChildren(...items);
  }

  renderRecipient() {
    if (this.hasRecipientTarget) this.recipientTarget.hidden = !this.recipient;
    if (this.hasRecipientNameTarget) this.recipientNameTarget.textContent = this.recipient?.name ?? "";
    this.renderKeyInfo();
    if (this.hasInputTarget) {
      this.inputTarget.placeholder = this.recipient
        ? `Private message to ${this.recipient.name}`
        : `Message ${this.currentRoom ?? ""}`.trim();
    }
  }

  resetRoomView(room, { keepMessages = false } = {}) {
    if (!keepMessages) this.seenIds = new Set();
    this.users = new Map();
    this.peopleCount = 0;
    this.bigRoom = false;
    this.typingUsers = new Map();
    this.recipient = null;
    if (this.hasMessagesTarget && !keepMessages) this.messagesTarget.replaceChildren();
    if (this.hasRoomNameTarget) this.roomNameTarget.textContent = room ?? "";
    this.renderPresence();
    this.renderTyping();
    this.renderRecipient();
    this.clearError();
    this.hideHistoryNotice();
  }

  // ---- input checks and feedback ---------------------------------------------------------------

  /** Why `body` cannot be sent right now, or null when it can. */
  refusalFor(body, { forTyping = false } = {}) {
    const bytes = utf8.encode(body).length;
    const limit = this.recipient ? MAX_DIRECT_BYTES : MAX_BODY_BYTES;
    if (bytes > limit) {
      const what = this.recipient ? "Too long for an encrypted private message" : "Too long to send";
      return `${what}: ${bytes.toLocaleString()} bytes, the limit is ${limit.toLocaleString()} bytes (UTF-8). Shorten it by ${(bytes - limit).toLocaleString()} bytes.`;
    }
    if (forTyping) return null;
    if (!body) return "Nothing to send: type a message first.";
    if (!this.channel || this.state !== "connected") {
      return this.state === "idle" || !this.channel
        ? "Join a room first."
        : "Not connected, so the message was not sent. It is still in the box: send it again once connected.";
    }
    return null;
  }

  updateCounter() {
    if (!this.hasCounterTarget || !this.hasInputTarget) return;
    const bytes = utf8.encode(this.inputTarget.value.trim()).length;
    const limit = this.recipient ? MAX_DIRECT_BYTES : MAX_BODY_BYTES;
    this.counterTarget.hidden = bytes < limit - (MAX_BODY_BYTES - COUNTER_FROM_BYTES);
    this.counterTarget.textContent = `${bytes.toLocaleString()} / ${limit.toLocaleString()} bytes`;
    this.counterTarget.classList.toggle("over", bytes > limit);
  }

  showError(text, code = "") {
    this.errorShown = true;
    if (this.hasInputTarget) this.inputTarget.setAttribute("aria-invalid", "true");
    if (!this.hasErrorTarget) return;
    this.errorTarget.textContent = text;
    this.errorTarget.dataset.code = code;
    this.errorTarget.hidden = false;
  }

  clearError() {
    this.errorShown = false;
    if (this.hasInputTarget) this.inputTarget.removeAttribute("aria-invalid");
    if (!this.hasErrorTarget) return;
    this.errorTarget.textContent = "";
    this.errorTarget.hidden = true;
  }

  // ---- status ----------------------------------------------------------------------------------

  setState(state, detail = "", reason = "") {
    if (state !== "reconnecting") clearInterval(this.countdownTimer);
    const changed = state !== this.state || detail !== this.statusDetail;
    this.state = state;
    this.statusDetail = detail;
    this.statusReason = reason;
    if (state === "connected") this.clearErrorIfNotConnected();
    this.renderStatus();
    if (changed) this.dispatch("status", { detail: { state, label: LABELS[state], detail, reason } });
  }

  clearErrorIfNotConnected() {
    if (this.hasErrorTarget && this.errorTarget.textContent.startsWith("Not connected")) this.clearError();
  }

  renderStatus() {
    this.element.dataset.p2pState = this.state;
    if (!this.hasStatusTarget) return;
    const label = LABELS[this.state] ?? "";
    this.statusTarget.dataset.state = this.state;
    if (this.hasStatusDetailTarget) {
      this.statusTarget.textContent = label;
      this.statusDetailTarget.textContent = this.statusDetail;
      this.statusDetailTarget.hidden = !this.statusDetail;
    } else {
      this.statusTarget.textContent = this.statusDetail ? `${label}: ${this.statusDetail}` : label;
    }
  }
}
