// Real Debian nginx and HAProxy in front of peercable for the proxy tests: each runs unprivileged-friendly from
// a throwaway folder (its own config, pid, logs and temp paths), in the foreground, on a free loopback port.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, chmodSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../lib/peercable.mjs";

/** The address the proxies connect to peercable from: the one its --trusted-proxies names. The tests' own
 * health checks come from 127.0.0.1, a direct client. */
export const PROXY_ADDRESS = "127.0.0.2";

/** The nginx configuration the docs show (docs/operations.md): WebSocket proxying with X-Forwarded-For. */
export function nginxConfig(dir, port, upstream) {
  return `daemon off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream peercable { server 127.0.0.1:${upstream}; }
  proxy_bind ${PROXY_ADDRESS};
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://peercable;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
`;
}

/** The HAProxy configuration the docs show: TCP mode, the PROXY protocol v2 on one port and v1 on another. */
export function haproxyConfig(portV2, portV1, upstream) {
  return `global
  maxconn 8000
defaults
  mode tcp
  maxconn 5000
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend cable_v2
  bind 127.0.0.1:${portV2}
  default_backend peercable_v2
frontend cable_v1
  bind 127.0.0.1:${portV1}
  default_backend peercable_v1
backend peercable_v2
  server node1 127.0.0.1:${upstream} source ${PROXY_ADDRESS} send-proxy-v2
backend peercable_v1
  server node1 127.0.0.1:${upstream} source ${PROXY_ADDRESS} send-proxy
`;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after `ms`. */
async function waitListening(port, ms, what, output) {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on ${port} in ${ms} ms: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(cmd, args, port, what) {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
  return {
    port, proc, logs: () => out,
    ready: waitListening(port, 10000, what, () => out),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Starts nginx proxying to peercable on `upstream`; returns {port, logs(), stop()}. */
export async function startNginx(upstream) {
  const dir = mkdtempSync(join(tmpdir(), "peercable-nginx-"));
  chmodSync(dir, 0o755);  // run as root, nginx's workers are another user and write its temp paths here
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, port, upstream));
  execFileSync("nginx", ["-t", "-q", "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")]);
  const n = run("nginx", ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], port, "nginx");
  await n.ready;
  return n;
}

/** Starts HAProxy in front of peercable on `upstream`; returns {portV2, portV1, logs(), stop()}. */
export async function startHaproxy(upstream) {
  const dir = mkdtempSync(join(tmpdir(), "peercable-haproxy-"));
  const portV2 = await freePort();
  const portV1 = await freePort();
  writeFileSync(join(dir, "haproxy.cfg"), haproxyConfig(portV2, portV1, upstream));
  const h = run("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], portV2, "haproxy");
  await h.ready;
  await waitListening(portV1, 10000, "haproxy", h.logs);
  return { ...h, portV2, portV1 };
}
