// The chat page served by peercable at /: guest sign-in (POST /session), room choice, and the p2p
// controller on the chat section. The session lives in sessionStorage, so it ends with the tab.
import "./app.css";
import { Application } from "@hotwired/stimulus";
import P2pController from "./controllers/p2p_controller.js";

const SESSION_KEY = "peercable.session";
const ROOM_KEY = "peercable.room";
const DEFAULT_ROOM = "lobby";
const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
// C0 controls, DEL and C1 controls: the server refuses names that contain them.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

const $ = (id) => document.getElementById(id);
const signInSection = $("sign-in");
const signInForm = $("sign-in-form");
const signInError = $("sign-in-error");
const nameInput = $("sign-in-name");
const roomInput = $("sign-in-room");
const chat = $("chat");
const notice = $("notice");

window.Stimulus = Application.start();
window.Stimulus.register("p2p", P2pController);

function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return session?.token && session?.user?.id ? session : null;
  } catch {
    return null;
  }
}

function roomFromLocation() {
  const match = location.hash.match(/^#room=(.+)$/);
  if (match) {
    try {
      return decodeURIComponent(match[1]);
    } catch {}
  }
  return sessionStorage.getItem(ROOM_KEY) || DEFAULT_ROOM;
}

function setFormError(message) {
  signInError.textContent = message;
  signInError.hidden = !message;
  nameInput.toggleAttribute("aria-invalid", Boolean(message) && signInError.dataset.field === "name");
  roomInput.toggleAttribute("aria-invalid", Boolean(message) && signInError.dataset.field === "room");
}

function showSignIn({ message = "", name = "" } = {}) {
  chat.removeAttribute("data-controller");
  chat.hidden = true;
  $("account").hidden = true;
  signInSection.hidden = false;
  if (name) nameInput.value = name;
  roomInput.value = roomFromLocation();
  signInError.dataset.field = "";
  setFormError(message);
  nameInput.focus();
}

function showChat(session, room) {
  signInSection.hidden = true;
  notice.hidden = true;
  $("account-name").textContent = session.user.name;
  $("account").hidden = false;
  chat.dataset.p2pTokenValue = session.token;
  chat.dataset.p2pUserIdValue = session.user.id;
  chat.dataset.p2pRoomValue = room;
  chat.hidden = false;
  chat.setAttribute("data-controller", "p2p");
  $("composer-input").focus();
}

/** Checks the sign-in form the way the server will; returns [field, message] or null. */
function formProblem(name, room) {
  if (!name) return ["name", "Enter a display name."];
  if ([...name].length > 40) return ["name", "The display name is too long: 40 characters at most."];
  if (CONTROL_CHARS.test(name)) return ["name", "The display name cannot contain control characters."];
  if (!ROOM_PATTERN.test(room)) return ["room", "Room names are 1 to 64 letters, digits or . _ : -"];
  return null;
}

signInForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  const room = roomInput.value.trim() || DEFAULT_ROOM;
  const problem = formProblem(name, room);
  if (problem) {
    signInError.dataset.field = problem[0];
    setFormError(problem[1]);
    (problem[0] === "name" ? nameInput : roomInput).focus();
    return;
  }
  signInError.dataset.field = "";
  setFormError("");
  const submit = $("sign-in-submit");
  submit.disabled = true;
  submit.textContent = "Signing in…";
  try {
    const response = await fetch("session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || !answer.token) {
      signInError.dataset.field = response.status === 400 ? "name" : "";
      setFormError(answer.error || `The server refused the sign-in (HTTP ${response.status}).`);
      nameInput.focus();
      return;
    }
    const session = { token: answer.token, user: answer.user };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    sessionStorage.setItem(ROOM_KEY, room);
    showChat(session, room);
  } catch {
    setFormError("Could not reach the server. Check the connection and try again.");
  } finally {
    submit.disabled = false;
    submit.textContent = "Enter chat";
  }
});

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(SESSION_KEY);
  showSignIn();
});

$("notice-sign-in").addEventListener("click", () => {
  const name = loadSession()?.user?.name ?? "";
  sessionStorage.removeItem(SESSION_KEY);
  showSignIn({ name });
});

chat.addEventListener("p2p:room", ({ detail: { room } }) => {
  if (!room) return;
  sessionStorage.setItem(ROOM_KEY, room);
  history.replaceState(null, "", `#room=${encodeURIComponent(room)}`);
  document.title = `#${room} · peercable chat`;
});

chat.addEventListener("p2p:status", ({ detail: { state, detail, reason } }) => {
  const rejected = state === "rejected";
  notice.hidden = !rejected;
  $("notice-text").textContent = rejected ? detail : "";
  $("notice-sign-in").hidden = !(rejected && reason === "unauthorized");
});

const session = loadSession();
if (session) showChat(session, roomFromLocation());
else showSignIn();
