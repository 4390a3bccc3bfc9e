// p2p_controller: one chat room over Action Cable, on an unmodified @rails/actioncable consumer.
//
// Values (data attributes): url (cable URL, default "/cable"), room, token (JWT, sent as ?token=),
// userId (optional; taken from the token's `sub` claim when absent).
// Every target is optional, so the controller fits any markup; see docs/rails.md for a Rails partial.
// Events dispatched on the element: p2p:status {state, label, detail, reason}, p2p:room {room},
// p2p:left {room}, p2p:signal {from, signal} (WebRTC signaling is left to whoever listens).
import { Controller } from "@hotwired/stimulus";
import { createConsumer } from "@rails/actioncable";

export const MAX_BODY_BYTES = 4096;

// Our own reconnect schedule. The consumer's ConnectionMonitor only notices a dead socket after its
// stale threshold (6 s, then longer), so after a drop we reopen sooner ourselves and count down to the
// next attempt; whichever of the two reopens first wins, Connection#open ignores the other.
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const RETRY_JITTER = 0.25;
// A first connection that shows no sign of life within this time is treated like a dropped one.
const FIRST_CONNECT_GRACE_MS = 4000;
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
  };

  static targets = [
    "status", "statusDetail", "messages", "input", "error", "counter", "typing",
    "presence", "presenceCount", "roomInput", "roomName", "recipient", "recipientName",
  ];

  connect() {
    this.state = null;
    this.started = true;
    this.onOnline = () => this.networkReturned();
    this.onOffline = () => {
      if (["connecting", "connected", "reconnecting"].includes(this.state)) {
        this.stopRetrying();
        this.setState("offline", "Waiting for the network to come back.");
      }
    };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.enterRoom(this.roomValue);
  }

  disconnect() {
    this.started = false;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
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
    const sent = this.recipient
      ? this.subscription.perform("direct", { to: this.recipient.id, body })
      : this.subscription.perform("speak", { body });
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
      this.subscription.perform("typing", {});
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

  enterRoom(room) {
    this.leaveRoom();
    this.currentRoom = room;
    this.resetRoomView(room);
    if (this.hasRoomInputTarget && this.roomInputTarget.value !== room) this.roomInputTarget.value = room;
    this.dispatch("room", { detail: { room } });
    if (!room) {
      this.setState("rejected", "Type a room name to join.", "invalid_room");
      return;
    }
    this.consumer ??= createConsumer(this.cableUrl());
    this.setState("connecting");
    const subscription = this.consumer.subscriptions.create({ channel: "P2PChannel", room }, {
      connected: () => this.isCurrent(subscription) && this.subscribed(),
      disconnected: ({ willAttemptReconnect } = {}) => this.isCurrent(subscription) && this.dropped(willAttemptReconnect),
      rejected: () => this.isCurrent(subscription) && this.refused(room),
      received: (data) => this.isCurrent(subscription) && this.received(data),
    });
    this.subscription = subscription;
    // A server that cannot be reached gives the consumer no event at all: watch for it ourselves.
    this.graceTimer = setTimeout(() => {
      if (this.state === "connecting" && this.isCurrent(subscription)) this.startRetrying();
    }, FIRST_CONNECT_GRACE_MS);
  }

  leaveRoom() {
    this.stopRetrying();
    clearTimeout(this.graceTimer);
    if (this.subscription) {
      const subscription = this.subscription;
      this.subscription = null;
      subscription.unsubscribe();
    }
    this.currentRoom = null;
  }

  closeConsumer() {
    if (!this.consumer) return;
    this.consumer.disconnect();
    this.consumer = null;
  }

  restart() {
    const room = this.currentRoom ?? this.roomValue;
    this.leaveRoom();
    this.closeConsumer();
    this.enterRoom(room);
  }

  isCurrent(subscription) {
    return this.started && this.subscription === subscription;
  }

  subscribed() {
    this.stopRetrying();
    clearTimeout(this.graceTimer);
    this.setState("connected");
  }

  dropped(willAttemptReconnect) {
    if (!willAttemptReconnect) {
      // The server closed with reconnect:false: Action Cable's answer to a missing or bad token.
      this.stopRetrying();
      this.setState("rejected", "Not signed in, or the sign-in has expired. Sign in again to chat.", "unauthorized");
      return;
    }
    this.clearTyping();
    this.startRetrying();
  }

  refused(room) {
    this.stopRetrying();
    clearTimeout(this.graceTimer);
    this.setState("rejected", `The server refused room “${room}”. Room names are 1–64 letters, digits or . _ : -`, "invalid_room");
  }

  networkReturned() {
    if (this.state !== "offline") return;
    if (this.consumer?.connection.isOpen() && this.subscription) {
      this.setState("connected");
    } else {
      this.retryAttempts = 0;
      this.attemptReconnect();
    }
  }

  startRetrying() {
    if (this.retryTimer || this.state === "rejected") return;
    this.retryAttempts = 0;
    this.scheduleRetry();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    if (navigator.onLine === false) {
      this.retryTimer = null;
      this.setState("offline", "Waiting for the network to come back.");
      return;
    }
    const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.retryAttempts);
    const delay = Math.round(base * (1 + RETRY_JITTER * Math.random()));
    this.nextAttemptAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.attemptReconnect(), delay);
    this.setState("reconnecting", this.countdownText(), "connection_lost");
    clearInterval(this.countdownTimer);
    this.countdownTimer = setInterval(() => this.renderCountdown(), 1000);
  }

  attemptReconnect() {
    if (!this.consumer || !this.subscription) return;
    this.retryAttempts = (this.retryAttempts || 0) + 1;
    this.nextAttemptAt = null;
    // Connection#open is a no-op while a socket is open or opening, so this never doubles a socket;
    // on welcome the consumer resubscribes its subscriptions itself.
    this.consumer.connect();
    this.scheduleRetry();
    this.renderCountdown();
  }

  stopRetrying() {
    clearTimeout(this.retryTimer);
    clearInterval(this.countdownTimer);
    this.retryTimer = null;
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
        this.startTyping(data.from);
        break;
      case "signal":
        this.dispatch("signal", { detail: { from: data.from, signal: data.signal } });
        break;
      case "error":
        this.showError(data.message || "The server refused the last request.", data.code);
        break;
    }
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
    while (after && Number(after.dataset.sentAt) > Number(message.sent_at)) after = after.previousElementSibling;
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
    item.append(meta, body);
    return item;
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
      this.subscription?.perform("members", {});  // the room became small: fetch the full list once
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
    if (this.hasInputTarget) {
      this.inputTarget.placeholder = this.recipient
        ? `Private message to ${this.recipient.name}`
        : `Message ${this.currentRoom ?? ""}`.trim();
    }
  }

  resetRoomView(room) {
    this.seenIds = new Set();
    this.users = new Map();
    this.peopleCount = 0;
    this.bigRoom = false;
    this.typingUsers = new Map();
    this.recipient = null;
    if (this.hasMessagesTarget) this.messagesTarget.replaceChildren();
    if (this.hasRoomNameTarget) this.roomNameTarget.textContent = room ?? "";
    this.renderPresence();
    this.renderTyping();
    this.renderRecipient();
    this.clearError();
  }

  // ---- input checks and feedback ---------------------------------------------------------------

  /** Why `body` cannot be sent right now, or null when it can. */
  refusalFor(body, { forTyping = false } = {}) {
    const bytes = utf8.encode(body).length;
    if (bytes > MAX_BODY_BYTES) {
      return `Too long to send: ${bytes.toLocaleString()} bytes, the limit is ${MAX_BODY_BYTES.toLocaleString()} bytes (UTF-8). Shorten it by ${(bytes - MAX_BODY_BYTES).toLocaleString()} bytes.`;
    }
    if (forTyping) return null;
    if (!body) return "Nothing to send: type a message first.";
    if (!this.subscription || this.state !== "connected") {
      return this.state === "idle" || !this.subscription
        ? "Join a room first."
        : "Not connected, so the message was not sent. It is still in the box: send it again once connected.";
    }
    return null;
  }

  updateCounter() {
    if (!this.hasCounterTarget || !this.hasInputTarget) return;
    const bytes = utf8.encode(this.inputTarget.value.trim()).length;
    this.counterTarget.hidden = bytes < COUNTER_FROM_BYTES;
    this.counterTarget.textContent = `${bytes.toLocaleString()} / ${MAX_BODY_BYTES.toLocaleString()} bytes`;
    this.counterTarget.classList.toggle("over", bytes > MAX_BODY_BYTES);
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
