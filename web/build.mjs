// Bundles the browser client into dist/: index.html, app.js (controller + page) and app.css; and the
// operators' live view into dist/admin/ (index.html, admin.js, admin.css), served at /admin when a key is set.
// Usage: node build.mjs [--watch]
import * as esbuild from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const watch = process.argv.includes("--watch");

const options = {
  absWorkingDir: root,
  // app.js imports app.css, so esbuild writes dist/app.css beside dist/app.js.
  entryPoints: { app: "src/app.js" },
  outdir: dist,
  entryNames: "[name]",
  bundle: true,
  minify: !watch,
  sourcemap: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  logLevel: "info",
};

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await copyFile(join(root, "index.html"), join(dist, "index.html"));
await mkdir(join(dist, "admin"), { recursive: true });
await copyFile(join(root, "admin", "index.html"), join(dist, "admin", "index.html"));
// The live view is its own bundle under dist/admin/: nothing of it is served unless --admin-key is set.
const admin = { ...options, entryPoints: { admin: "src/admin/admin.js" }, outdir: join(dist, "admin") };
if (watch) {
  await (await esbuild.context(options)).watch();
  await (await esbuild.context(admin)).watch();
} else {
  await esbuild.build(options);
  await esbuild.build(admin);
}
