// Installation, as an operator gets it: `cmake --install` into a scratch root, and the Debian package CPack
// builds, unpacked into another; each installed binary starts from its installed config, answers /health
// and serves the installed web client at /; the systemd unit passes systemd-analyze.
//
// Needs the release build (build/, as scripts/build.sh release leaves it).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, freePort, waitHealthy } from "../lib/peercable.mjs";

const build = join(repoRoot, "build");
const scratch = mkdtempSync(join(tmpdir(), "peercable-install-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts <root>/usr/bin/peercable with its installed config on a free port; checks /health and /; stops it. */
async function runInstalled(root) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(scratch, "data-"));
  const proc = spawn(join(root, "usr/bin/peercable"), ["--config", join(root, "etc/peercable/peercable.yml"),
    "--port", String(port), "--data-dir", dataDir, "--log-level", "warn"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  try {
    await waitHealthy(port);
    const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    assert.equal(health.status, "ok");
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(page, readFileSync(join(root, "usr/share/peercable/web/index.html"), "utf8"),
      "/ is the installed web client");
  } finally {
    proc.kill("SIGTERM");
  }
  assert.equal(await exited, 0, out);
}

function checkLayout(root) {
  for (const path of ["usr/bin/peercable", "usr/share/peercable/web/index.html", "usr/share/peercable/web/app.js",
    "usr/share/doc/peercable/README.md", "usr/share/doc/peercable/operations.md",
    "usr/lib/systemd/system/peercable.service", "etc/peercable/peercable.yml"]) {
    assert.ok(existsSync(join(root, path)), `${path} is installed`);
  }
  assert.ok(!readdirSync(join(root, "usr/share/peercable/web")).some((f) => f.endsWith(".map")), "no source maps");
}

test("cmake --install lays out binary, web client, docs, unit and config; the installed binary runs", async () => {
  const root = join(scratch, "cmake-install");
  execFileSync("cmake", ["--install", build, "--prefix", "/usr"], { env: { ...process.env, DESTDIR: root }, stdio: "pipe" });
  checkLayout(root);
  await runInstalled(root);
});

test("the Debian package: metadata, conffile, postinst; unpacked into a scratch root it runs", async () => {
  const out = join(scratch, "deb");
  execFileSync("cpack", ["-G", "DEB", "-B", out, "--config", join(build, "CPackConfig.cmake")], { stdio: "pipe" });
  const deb = readdirSync(out).find((f) => /^peercable_.*\.deb$/.test(f));
  assert.ok(deb, `a .deb in ${readdirSync(out)}`);
  const info = execFileSync("dpkg-deb", ["-f", join(out, deb)], { encoding: "utf8" });
  assert.match(info, /^Package: peercable$/m);
  assert.match(info, /^Depends: .*adduser.*libssl3/m);
  const conffiles = execFileSync("dpkg-deb", ["--ctrl-tarfile", join(out, deb)]);
  assert.ok(conffiles.includes(Buffer.from("/etc/peercable/peercable.yml")), "the config is a conffile");
  const root = join(scratch, "deb-root");
  execFileSync("dpkg-deb", ["-x", join(out, deb), root]);
  checkLayout(root);
  await runInstalled(root);
});

test("the systemd unit verifies, and its sandbox rates as well protected", () => {
  // verify needs ExecStart to exist: the same unit pointed at an installed binary.
  const root = join(scratch, "cmake-install");
  const unit = readFileSync(join(root, "usr/lib/systemd/system/peercable.service"), "utf8");
  for (const line of ["User=peercable", "Restart=on-failure", "LimitNOFILE=", "ReadWritePaths=/var/lib/peercable",
    "NoNewPrivileges=yes", "ProtectSystem=strict"]) assert.ok(unit.includes(line), line);
  const dir = mkdtempSync(join(scratch, "unit-"));
  writeFileSync(join(dir, "peercable.service"), unit.replace("/usr/bin/peercable", join(root, "usr/bin/peercable")));
  const verify = spawnSync("systemd-analyze", ["verify", join(dir, "peercable.service")], { encoding: "utf8" });
  assert.equal(verify.status, 0, verify.stderr);
  const security = spawnSync("systemd-analyze", ["security", "--offline=yes", join(dir, "peercable.service")], { encoding: "utf8" });
  const exposure = Number(/Overall exposure level for peercable\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
  assert.ok(exposure <= 4, `exposure ${exposure} (0 safest, 10 unprotected):\n${security.stdout.slice(-600)}`);
});
