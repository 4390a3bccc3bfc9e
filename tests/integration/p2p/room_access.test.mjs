// Who may join which P2P room, against the real binary: public rooms by pattern, guests kept to them, and
// private rooms opened by the app through each sign-in method (a JWT `rooms` claim, the HTTP hook's `rooms`,
// a room name the app signed; the Rails session cookie, which carries no grants, opens only public and signed
// rooms). A refusal is `reject_subscription` with the reason in the log, and the refused room's history and
// presence never reach the client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startPeercable, signToken, repoRoot } from "../../lib/peercable.mjs";
import { welcomed } from "../auth/hook_client.mjs";

const ROOM_KEY = "room-signing-key-for-tests-0123456789";
const SECRET_KEY_BASE = "room-access-secret-key-base-0123456789abcdef0123456789abcdef0123";
let server, hook, hookUrl;

/** A room name signed as turbo-rails signs stream names (Base64(JSON(name)) + "--" + hex HMAC-SHA256). */
function signRoom(room, key = ROOM_KEY) {
  const data = Buffer.from(JSON.stringify(room)).toString("base64");
  return `${data}--${createHmac("sha256", key).update(data).digest("hex")}`;
}

before(async () => {
  // The app's hook: sid=ops-member is granted "ops"; anyone else with a sid is signed in with no grants.
  hook = createServer((req, res) => {
    const sid = /(?:^|;\s*)sid=([^;]*)/.exec(req.headers.cookie ?? "")?.[1];
    res.writeHead(sid ? 200 : 401, { "Content-Type": "application/json" });
    res.end(JSON.stringify(sid === "ops-member" ? { id: "h1", name: "Hana", rooms: ["ops"] } : { id: `h-${sid}` }));
  });
  await new Promise((r) => hook.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${hook.address().port}/auth`;
  server = await startPeercable(["--log-level", "info", "--public-rooms", "lobby,help-*", "--room-signing-key", ROOM_KEY,
    "--auth-url", hookUrl, "--rails-secret-key-base", SECRET_KEY_BASE, "--rails-cookie-name", "_app_session",
    "--rails-key-digest", "sha1", "--max-guest-signins-per-ip", "0"]);
});

after(async () => {
  hook?.close();
  if (server) assert.equal(await server.stop(), 0, server.logs());
});

const identifier = (room, extra = {}) => JSON.stringify({ channel: "P2PChannel", room, ...extra });

/** Subscribes and resolves with "confirm_subscription" or "reject_subscription". */
async function answer(c, room, extra) {
  const id = identifier(room, extra);
  c.ws.send(JSON.stringify({ command: "subscribe", identifier: id }));
  const m = await c.take((x) => x.identifier === id && /_subscription$/.test(x.type ?? ""));
  return m.type;
}

const withToken = (claims) => welcomed(server, {}, `?token=${encodeURIComponent(signToken(claims))}`);

async function guest() {
  const r = await fetch(`${server.url}/session`, { method: "POST", body: JSON.stringify({ name: "Gus" }) });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  return welcomed(server, {}, `?token=${encodeURIComponent(token)}`);
}

test("public rooms are open to everyone, guests included; private rooms are refused without a grant", async () => {
  const g = await guest();
  assert.equal(await answer(g, "lobby"), "confirm_subscription");
  assert.equal(await answer(g, "help-desk"), "confirm_subscription");
  assert.equal(await answer(g, "team-red"), "reject_subscription");
  const u = await withToken({ sub: "u1", name: "Uma" });
  assert.equal(await answer(u, "team-red"), "reject_subscription");
  g.ws.close();
  u.ws.close();
  await server.waitForLog(/room team-red refused: private room; guests may join public rooms only/);
  await server.waitForLog(/room team-red refused: private room; not granted to this user/);
});

test("a JWT rooms claim opens the rooms it names, and nothing of a refused room reaches the client", async () => {
  const member = await withToken({ sub: "u2", name: "Max", rooms: ["team-*"] });
  assert.equal(await answer(member, "team-red"), "confirm_subscription");
  member.ws.send(JSON.stringify({ command: "message", identifier: identifier("team-red"),
    data: JSON.stringify({ action: "speak", body: "only for the team" }) }));
  await member.take((m) => m.message?.body === "only for the team");
  const outsider = await withToken({ sub: "u3", name: "Oli" });
  assert.equal(await answer(outsider, "team-red"), "reject_subscription");
  // A later public subscription's history is the barrier: anything of team-red would have come before it.
  assert.equal(await answer(outsider, "lobby"), "confirm_subscription");
  await outsider.take((m) => m.message?.type === "history" && m.message.room === "lobby");
  assert.deepEqual(outsider.inbox.filter((m) => JSON.stringify(m).includes("team-red") && m.type !== "reject_subscription"), []);
  member.ws.close();
  outsider.ws.close();
});

test("a room name the app signed opens that room only, for signed-in users, never for guests", async () => {
  const u = await withToken({ sub: "u4", name: "Sam" });
  assert.equal(await answer(u, "ops", { signed_room: signRoom("ops") }), "confirm_subscription");
  assert.equal(await answer(u, "ops2", { signed_room: signRoom("ops") }), "reject_subscription");
  assert.equal(await answer(u, "ops3", { signed_room: signRoom("ops3", "another-key") }), "reject_subscription");
  assert.equal(await answer(u, "ops4", { signed_room: 42 }), "reject_subscription");
  const g = await guest();
  assert.equal(await answer(g, "ops", { signed_room: signRoom("ops") }), "reject_subscription");
  u.ws.close();
  g.ws.close();
});

test("the HTTP hook's rooms open private rooms; the Rails session cookie opens public and signed rooms", async () => {
  const hana = await welcomed(server, { Cookie: "sid=ops-member" });
  assert.equal(await answer(hana, "ops"), "confirm_subscription");
  const other = await welcomed(server, { Cookie: "sid=someone" });
  assert.equal(await answer(other, "ops"), "reject_subscription");
  const r = spawnSync("ruby", [join(repoRoot, "tests/fixtures/rails_cookie.rb"), "--secret-key-base", SECRET_KEY_BASE,
    "--digest", "sha1"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const cookie = JSON.parse(r.stdout).cookies.user_id_string;
  const railsUser = await welcomed(server, { Cookie: `_app_session=${cookie}` });
  assert.equal(await answer(railsUser, "lobby"), "confirm_subscription");
  assert.equal(await answer(railsUser, "ops"), "reject_subscription");
  assert.equal(await answer(railsUser, "ops", { signed_room: signRoom("ops") }), "confirm_subscription");
  for (const c of [hana, other, railsUser]) c.ws.close();
});
