// Sign-in from the Rails session cookie against the real binary: cookies written by Debian's Rails itself
// (tests/fixtures/rails_cookie.rb: a Rails::Application, its cookie jar and session store), SHA1 and SHA256
// key derivation, user_id and Devise/Warden session keys; expired, tampered, foreign, Marshal and malformed
// cookies get exactly the unauthorized disconnect, and the log says why without ever holding the cookie.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startPeercable, binary, repoRoot } from "../../lib/peercable.mjs";
import { logLines, waitForLogLines } from "../../lib/drain.mjs";
import { welcomed, refused, lobbyUsers } from "./hook_client.mjs";

const script = join(repoRoot, "tests", "fixtures", "rails_cookie.rb");
const secret = "8f2d1c0e9b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a";
const cookieName = "_app_session";

function railsMissing() {
  const r = spawnSync("ruby", ["-e", 'require "rails"; require "action_controller/railtie"'], { encoding: "utf8" });
  if (r.error) return `ruby not found (${r.error.message})`;
  if (r.status !== 0) return `Rails not loadable (apt-get install ruby-railties): ${r.stderr.split("\n")[0]}`;
  return null;
}

const skip = !existsSync(binary) ? `peercable binary not found at ${binary}` : railsMissing() ?? false;

/** Cookies Rails wrote for these script options, by case name (values as sent in Set-Cookie). */
function railsCookies(...args) {
  const r = spawnSync("ruby", [script, "--secret-key-base", secret, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).cookies;
}

/** The cookie with one bit of its ciphertext (part 0), iv (1) or tag (2) flipped, still well-formed. */
function flipBit(cookie, part) {
  const parts = decodeURIComponent(cookie).split("--");
  const bytes = Buffer.from(parts[part], "base64");
  bytes[0] ^= 1;
  parts[part] = bytes.toString("base64");
  return encodeURIComponent(parts.join("--"));
}

const sessionCookie = (value) => ({ Cookie: `theme=dark; ${cookieName}=${value}; other=1` });
const railsArgs = (digest, ...more) => ["--log-level", "info", "--rails-secret-key-base", secret,
  "--rails-cookie-name", cookieName, "--rails-key-digest", digest, ...more];

let sha1, sha256, warden, cookies1, cookies256, marshal;

before(async () => {
  if (skip) return;
  cookies1 = railsCookies("--digest", "sha1");
  cookies256 = railsCookies("--digest", "sha256");
  marshal = railsCookies("--digest", "sha1", "--serializer", "marshal");
  [sha1, sha256, warden] = await Promise.all([
    startPeercable(railsArgs("sha1")),
    startPeercable(railsArgs("sha256", "--auth", "rails-cookie")),
    startPeercable(railsArgs("sha256", "--rails-session-key", "warden.user.user.key")),
  ]);
});

after(async () => {
  for (const s of [sha1, sha256, warden]) if (s) assert.equal(await s.stop(), 0, s.logs());
});

/** Signs in with `cookie` and returns the lobby's presence as seen by that connection. */
async function signedInAs(server, cookie) {
  const c = await welcomed(server, sessionCookie(cookie), "");
  const users = await lobbyUsers(c);
  c.ws.close();
  return users;
}

test("a Rails 6.1 (SHA1) session cookie signs the user in; presence shows the user id", { skip }, async () => {
  const users = await signedInAs(sha1, cookies1.user_id_integer);
  assert.ok(users.some((u) => u.id === "42" && u.name === "42"), JSON.stringify(users));
  const named = await signedInAs(sha1, cookies1.user_id_string);
  assert.ok(named.some((u) => u.id === "u-7f3a9"), JSON.stringify(named));
});

test("a Rails 7 (SHA256 key generator) session cookie signs the user in", { skip }, async () => {
  const users = await signedInAs(sha256, cookies256.user_id_integer);
  assert.ok(users.some((u) => u.id === "42"), JSON.stringify(users));
  const big = await signedInAs(sha256, cookies256.user_id_big);
  assert.ok(big.some((u) => u.id === "9007199254740993"), JSON.stringify(big));
  const data = await signedInAs(sha256, cookies256.data_envelope);
  assert.ok(data.some((u) => u.id === "42"), JSON.stringify(data));
});

test("Devise/Warden: the id is the first element of warden.user.user.key", { skip }, async () => {
  const users = await signedInAs(warden, cookies256.warden);
  assert.ok(users.some((u) => u.id === "42"), JSON.stringify(users));
  const uuid = await signedInAs(warden, cookies256.warden_uuid);
  assert.ok(uuid.some((u) => u.id === "0b9c5f8e-4a1d-4c3e-9a57-3f1f2c6d7e80"), JSON.stringify(uuid));
  // A plain user_id session has no Warden key.
  (await refused(warden, sessionCookie(cookies256.user_id_integer))).ws.terminate();
});

test("expired, tampered, foreign, Marshal, signed-out and malformed cookies: unauthorized, never a welcome",
  { skip }, async () => {
    const bad = {
      expired: cookies1.expired,
      tamperedData: flipBit(cookies1.user_id_integer, 0),
      tamperedIv: flipBit(cookies1.user_id_integer, 1),
      tamperedTag: flipBit(cookies1.user_id_integer, 2),
      otherDigest: cookies256.user_id_integer,
      otherSecret: railsCookies("--digest", "sha1", "--secret-key-base", `${secret}x`).user_id_integer,
      otherCookieName: cookies1.other_name,
      marshal: marshal.user_id_integer,
      signedOut: cookies1.no_user,
      noSeparator: "bm90IGEgY29va2ll",
      badBase64: "!!!!--AAAAAAAAAAAAAAAA--AAAAAAAAAAAAAAAAAAAAAA%3D%3D",
    };
    const refusal = /unauthorized connection from/;
    const before = logLines(sha1, refusal);
    for (const [name, cookie] of Object.entries(bad)) {
      const c = await refused(sha1, sessionCookie(cookie)).catch((e) => { throw new Error(`${name}: ${e.message}`); });
      c.ws.terminate();
    }
    // No session cookie at all: the chain has nothing to accept either.
    (await refused(sha1, { Cookie: "theme=dark" })).ws.terminate();

    // Each refusal logs one line: once all are in, the log holds everything it will say about these cookies.
    await waitForLogLines(sha1, refusal, before + Object.keys(bad).length + 1);
    const logs = sha1.logs();
    for (const reason of ["rails-cookie: cookie expired", "rails-cookie: cookie failed to decrypt",
      "rails-cookie: cookie purpose mismatch", "rails-cookie: Marshal-serialized cookie",
      "rails-cookie: no user in the session", "rails-cookie: malformed cookie", "rails-cookie: no session cookie"]) {
      assert.ok(logs.includes(reason), `log lacks "${reason}":\n${logs}`);
    }
    for (const cookie of Object.values(bad)) {
      const data = decodeURIComponent(cookie).split("--")[0];
      if (data.length >= 12) assert.ok(!logs.includes(data.slice(0, 12)), "a cookie appears in the log");
    }
    assert.ok(!logs.includes(secret), "the secret_key_base appears in the log");
  });
