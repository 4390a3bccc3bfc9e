// Draws the peer session: transfer cards, the call panel, notices and the encryption line of the DM view.
// Buttons are real <button>s whose visible text is their accessible name.
import { formatBytes } from "./file_transfer.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const node = el("button", `button ${className ?? ""}`.trim(), text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

const STATE_LABELS = {
  offered: "Offered",
  accepted: "Accepted",
  sending: "Sending",
  receiving: "Receiving",
  verifying: "Checking",
  done: "Done",
  declined: "Declined",
  cancelled: "Cancelled",
  failed: "Failed",
};

export class PeerView {
  /** targets: { transfers, call, notice } elements; onKeysChanged(peerId) redraws the DM view's key line. */
  constructor({ transfers, call, notice, onKeysChanged }) {
    this.transfersEl = transfers;
    this.callEl = call;
    this.noticeEl = notice;
    this.onKeysChanged = onKeysChanged;
    this.cards = new Map();
  }

  // ---- transfers -------------------------------------------------------------------------------------

  transferAdded(t) {
    if (!this.transfersEl) return;
    const card = el("li", `transfer transfer--${t.direction}`);
    card.dataset.transferId = t.id;
    const head = el("div", "transfer__head");
    const icon = el("span", "transfer__icon", t.direction === "in" ? "↓" : "↑");
    icon.setAttribute("aria-hidden", "true");
    const text = el("div", "transfer__text");
    const name = el("p", "transfer__name", t.name);
    name.id = `transfer-name-${t.id}`;
    const who = t.direction === "in" ? `from ${t.peer.name}` : `to ${t.peer.name}`;
    text.append(name, el("p", "transfer__meta", `${formatBytes(t.size)} · ${who}`));
    head.append(icon, text);
    const bar = el("progress", "transfer__bar");
    bar.max = Math.max(1, t.size);
    bar.value = 0;
    bar.setAttribute("aria-labelledby", name.id);
    const status = el("p", "transfer__status");
    status.setAttribute("role", "status");
    const actions = el("div", "transfer__actions");
    card.append(head, bar, status, actions);
    card.parts = { bar, status, actions, name };
    this.cards.set(t.id, card);
    this.transfersEl.prepend(card);
    this.transfersEl.hidden = false;
    this.transferChanged(t);
    if (t.direction === "in") actions.querySelector("button")?.focus({ preventScroll: true });
  }

  transferChanged(t) {
    const card = this.cards.get(t.id);
    if (!card) return;
    const { bar, status, actions, name } = card.parts;
    const stateChanged = card.dataset.state !== t.state;
    card.dataset.state = t.state;
    bar.value = t.bytes;
    const percent = t.size ? Math.floor((t.bytes / t.size) * 100) : 100;
    const parts = [STATE_LABELS[t.state] ?? t.state];
    if (t.startedAt) parts.push(`${percent}%`, `${formatBytes(t.bytes)} of ${formatBytes(t.size)}`, `${formatBytes(Math.round(t.rate))}/s`);
    if (t.note) parts.push(t.note);
    status.textContent = parts.join(" · ");
    card.dataset.progress = String(percent);
    card.dataset.bytes = String(t.bytes);
    if (t.sha256) card.dataset.sha256 = t.sha256;
    if (!stateChanged) return;
    const describe = (node) => {
      node.setAttribute("aria-describedby", name.id);
      return node;
    };
    const buttons = [];
    if (t.direction === "in" && t.state === "offered") {
      buttons.push(button("Accept", "button--primary", () => this.session.accept(t.id)));
      buttons.push(button("Decline", "", () => this.session.decline(t.id)));
    } else if (!t.final && t.state !== "verifying") {
      buttons.push(button("Cancel", "", () => this.session.cancel(t.id)));
    }
    if (t.direction === "in" && t.state === "done" && t.url) {
      const save = el("a", "button button--primary transfer__save", "Save");
      save.href = t.url;
      save.download = t.name;
      buttons.push(save);
    }
    if (t.final) buttons.push(button("Dismiss", "button--quiet", () => this.session.dismiss(t.id)));
    // Same buttons as before (accepted → receiving): keep the elements, and with them focus and clicks.
    const names = buttons.map((b) => b.textContent).join("|");
    if (names === actions.dataset.names) return;
    actions.dataset.names = names;
    actions.replaceChildren(...buttons.map(describe));
  }

  transferRemoved(t) {
    this.cards.get(t.id)?.remove();
    this.cards.delete(t.id);
    if (this.transfersEl && !this.cards.size) this.transfersEl.hidden = true;
  }

  // ---- calls -----------------------------------------------------------------------------------------

  /** Shows `call` (null: no call), with `note` as a notice when it ended or failed. */
  callChanged(call, note = "") {
    if (note) this.notify(note);
    const panel = this.callEl;
    if (!panel) return;
    if (!call) {
      panel.hidden = true;
      panel.dataset.state = "";
      for (const video of panel.querySelectorAll("video")) video.srcObject = null;
      panel.replaceChildren();
      this.callKey = null;
      return;
    }
    const key = `${call.peer.id}:${call.state}:${call.muted}:${call.cameraOff}`;
    panel.hidden = false;
    panel.dataset.state = call.state;
    panel.dataset.kind = call.video ? "video" : "audio";
    if (!panel.firstChild) this.buildCall(panel);
    const { remote, local, title, status, actions, avatar } = panel.parts;
    if (remote.srcObject !== call.remote) remote.srcObject = call.remote;
    remote.play?.().catch(() => {});
    if (call.local && local.srcObject !== call.local) local.srcObject = call.local;
    local.hidden = !call.video || !call.local || call.cameraOff;
    avatar.textContent = (call.peer.name || "?").slice(0, 1).toUpperCase();
    avatar.hidden = call.video && call.state === "active" && call.remote.getVideoTracks().length > 0;
    title.textContent = `${call.video ? "Video" : "Audio"} call with ${call.peer.name}`;
    status.textContent = {
      starting: "Starting the microphone…",
      ringing: `Calling ${call.peer.name}…`,
      incoming: `${call.peer.name} is calling you.`,
      active: call.muted ? "Connected · you are muted" : "Connected",
    }[call.state] ?? "";
    if (key === this.callKey) return;
    this.callKey = key;
    const buttons = [];
    if (call.state === "incoming") {
      buttons.push(button("Accept", "button--primary call__accept", () => this.session.acceptCall()));
      buttons.push(button("Decline", "button--danger", () => this.session.declineCall()));
    } else {
      if (call.state === "active") {
        const mute = button(call.muted ? "Unmute" : "Mute", "", () => this.session.toggleMute());
        mute.setAttribute("aria-pressed", String(call.muted));
        buttons.push(mute);
        if (call.video) {
          const camera = button(call.cameraOff ? "Camera on" : "Camera off", "", () => this.session.toggleCamera());
          camera.setAttribute("aria-pressed", String(call.cameraOff));
          buttons.push(camera);
        }
      }
      buttons.push(button("Hang up", "button--danger", () => this.session.hangUp()));
    }
    const hadFocus = panel.contains(document.activeElement);
    actions.replaceChildren(...buttons);
    if (call.state === "incoming" || hadFocus) buttons[0].focus({ preventScroll: true });
  }

  buildCall(panel) {
    const stage = el("div", "call__stage");
    const remote = el("video", "call__remote");
    remote.autoplay = true;
    remote.playsInline = true;
    const local = el("video", "call__local");
    local.autoplay = true;
    local.playsInline = true;
    local.muted = true;
    local.setAttribute("aria-label", "Your camera");
    const avatar = el("span", "call__avatar");
    avatar.setAttribute("aria-hidden", "true");
    stage.append(remote, avatar, local);
    const title = el("h2", "call__title");
    const status = el("p", "call__status");
    status.setAttribute("role", "status");
    const actions = el("div", "call__actions");
    const info = el("div", "call__info");
    info.append(title, status);
    panel.append(stage, info, actions);
    panel.parts = { remote, local, title, status, actions, avatar };
  }

  callMessage(text) {
    this.notify(text);
  }

  /** A short-lived notice above the conversation. */
  notify(text) {
    if (!this.noticeEl) return;
    this.noticeEl.textContent = text;
    this.noticeEl.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.noticeEl.hidden = true), 10000);
  }

  keysChanged(peerId) {
    this.onKeysChanged?.(peerId);
  }
}
