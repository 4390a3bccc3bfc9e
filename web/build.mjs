// Bundles the browser client into dist/: index.html, app.js (controller + page) and app.css.
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
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
