// Bundles the UI (src/main.ts and its CSS) into the Server's wwwroot/app, minified, no CDN at
// run time. Prints the gzip size of what a browser downloads. Usage: node scripts/build.mjs [outdir]
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] ?? path.join(here, "../../../src/RealtimeAgents.Server/wwwroot/app"));

// Chunk names carry a hash: drop the previous build's, or they pile up beside the new ones.
rmSync(path.join(outdir, "chunks"), { recursive: true, force: true });
const result = await build({
  entryPoints: { app: path.join(here, "../src/main.ts") },
  outdir,
  bundle: true,
  format: "esm",
  // Code that is imported on demand (the MessagePack protocol, which the UI does not use) goes to
  // its own chunk instead of into app.js, so what every page downloads does not carry it.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});

// What a page downloads: app.js, the chunks it imports statically (not the ones loaded on demand), app.css.
const outputs = result.metafile.outputs;
const key = (file) => path.relative(process.cwd(), path.join(outdir, file));
const needed = new Set();
(function visit(file) {
  if (needed.has(file) || !outputs[file]) return;
  needed.add(file);
  for (const i of outputs[file].imports) if (i.kind === "import-statement") visit(i.path);
})(key("app.js"));
needed.add(key("app.css"));
let total = 0;
for (const file of needed) {
  const bytes = readFileSync(file);
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`${path.relative(outdir, path.resolve(file))}: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip`);
}
console.log(`UI bundle: ${(total / 1024).toFixed(1)} KiB gzip (JS + CSS a page loads) in ${outdir}`);
