// Bundles the UI (src/main.ts and its CSS) into the Server's wwwroot/app, minified, no CDN at
// run time. Prints the gzip size of what a browser downloads. Usage: node scripts/build.mjs [outdir]
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] ?? path.join(here, "../../../src/RealtimeAgents.Server/wwwroot/app"));

await build({
  entryPoints: { app: path.join(here, "../src/main.ts") },
  outdir,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});

let total = 0;
for (const file of ["app.js", "app.css"]) {
  const bytes = readFileSync(path.join(outdir, file));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`${file}: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip`);
}
console.log(`UI bundle: ${(total / 1024).toFixed(1)} KiB gzip (JS + CSS) in ${outdir}`);
