// The HTTP auth hook against a real Rails route (Debian's Rails 6.1 on puma, tests/integration/auth/rails_hook):
// a user signs in to the Rails app, and peercable learns who they are from the Rails session cookie alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startPeercable, binary, freePort, waitHealthy } from "../../lib/peercable.mjs";
import { welcomed, refused, lobbyUsers, lobby } from "./hook_client.mjs";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "rails_hook");

function railsMissing() {
  const r = spawnSync("ruby", ["-e", 'require "action_controller/railtie"; require "puma"'], { encoding: "utf8" });
  if (r.error) return `ruby not found (${r.error.message})`;
  if (r.status !== 0) return `Rails or puma not loadable (apt-get install ruby-railties puma): ${r.stderr.split("\n")[0]}`;
  return null;
}

const skip = !existsSync(binary) ? `peercable binary not found at ${binary}` : railsMissing() ?? false;
let rails, railsUrl, railsLog = "", server;

before(async () => {
  if (skip) return;
  const port = await freePort();
  rails = spawn("puma", ["-b", `tcp://127.0.0.1:${port}`, "-t", "2:4", "-e", "production", "config.ru"],
    { cwd: appDir, stdio: ["ignore", "pipe", "pipe"] });
  rails.stdout.on("data", (d) => (railsLog += d));
  rails.stderr.on("data", (d) => (railsLog += d));
  await waitHealthy(port, 30000);
  railsUrl = `http://127.0.0.1:${port}`;
  server = await startPeercable(["--auth-url", `${railsUrl}/cable_auth`, "--auth-timeout", "3000"]);
});

after(async () => {
  if (skip) return;
  const code = await server?.stop();
  rails?.kill("SIGTERM");
  assert.equal(code, 0, server?.logs());
});

/** Signs `id` in to the Rails app; returns the session cookie as a Cookie header value. */
async function railsSignIn(id, name) {
  const r = await fetch(`${railsUrl}/login?user_id=${encodeURIComponent(id)}&name=${encodeURIComponent(name)}`);
  assert.equal(r.status, 200, railsLog);
  const set = r.headers.get("set-cookie");
  assert.match(set ?? "", /^_hook_app_session=/);
  return set.split(";")[0];
}

test("a user signed in to Rails is welcomed under the identity the Rails session holds", { skip }, async () => {
  const alice = await welcomed(server, { Cookie: `theme=dark; ${await railsSignIn("42", "Alice")}` });
  const bob = await welcomed(server, { Cookie: await railsSignIn("43", "Bob") });
  await lobbyUsers(alice);
  const users = await lobbyUsers(bob);
  assert.ok(users.some((u) => u.id === "42" && u.name === "Alice"), JSON.stringify(users));
  assert.ok(users.some((u) => u.id === "43" && u.name === "Bob"), JSON.stringify(users));
  // What Alice says reaches Bob as coming from the Rails user, whatever she claims.
  alice.ws.send(JSON.stringify({ command: "message", identifier: lobby,
    data: JSON.stringify({ action: "speak", body: "hi from Rails", from: { id: "43", name: "Mallory" } }) }));
  const m = await bob.take((x) => x.identifier === lobby && x.message?.type === "message");
  assert.deepEqual(m.message.from, { id: "42", name: "Alice" });
  assert.match(railsLog, /Processing by CableAuthController#show/);
  alice.ws.close();
  bob.ws.close();
});

test("no Rails session, a tampered one or a foreign cookie is unauthorized", { skip }, async () => {
  const good = await railsSignIn("44", "Carol");
  const [name, value] = good.split("=");
  const tampered = `${name}=${value.slice(0, 10)}${value[10] === "A" ? "B" : "A"}${value.slice(11)}`;
  for (const cookie of [tampered, `${name}=`, "other_app_session=abc"]) await refused(server, { Cookie: cookie });
  await refused(server, {});
});
