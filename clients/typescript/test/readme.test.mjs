// The README's TypeScript blocks, as a newcomer copies them: the SDK is installed from the
// tarball `npm pack` makes into a fresh project, each block is compiled with tsc --strict and
// run with node against a real server (the README's localhost:5080 is pointed at it).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer } from "./server.mjs";

const run = promisify(execFile);
const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const readme = path.resolve(sdk, "../../README.md");
const tsc = path.join(sdk, "node_modules/typescript/bin/tsc");

/** Every ```ts / ```typescript block of a markdown text. */
export function typescriptBlocks(markdown) {
  return [...markdown.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

let server;
let project;

before(async () => {
  server = await startServer();
  project = await mkdtemp(path.join(tmpdir(), "readme-ts-"));
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", project], { cwd: sdk, timeout: 120_000 });
  const tarball = path.join(project, stdout.trim().split("\n").at(-1));
  await writeFile(path.join(project, "package.json"), JSON.stringify({ name: "readme-check", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball], { cwd: project, timeout: 180_000 });
});

after(async () => {
  await server?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

test("the packed SDK ships its types and an exports map", async () => {
  const pkg = JSON.parse(await readFile(path.join(project, "node_modules/@realtime-agents/client/package.json"), "utf8"));
  assert.equal(pkg.exports["."].types, "./dist/index.d.ts");
  await readFile(path.join(project, "node_modules/@realtime-agents/client/dist/index.d.ts"), "utf8");
  await readFile(path.join(project, "node_modules/@realtime-agents/client/dist/index.js"), "utf8");
});

test("every TypeScript block of the README compiles with --strict and runs to its end", async () => {
  const blocks = typescriptBlocks(await readFile(readme, "utf8"));
  assert.ok(blocks.length >= 1, "the README has TypeScript blocks");
  for (const [i, block] of blocks.entries()) {
    const file = path.join(project, `block${i}.ts`);
    await writeFile(file, block.replaceAll("http://localhost:5080", server.url));
    await writeFile(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", skipLibCheck: false,
        types: ["node"], typeRoots: [path.join(sdk, "node_modules/@types")],
      },
      files: [file],
    }));
    await run(process.execPath, [tsc, "-p", project], { cwd: project, timeout: 120_000 }).catch((e) => {
      assert.fail(`README block ${i} does not compile:\n${e.stdout}${e.stderr}\n${block}`);
    });
    const { stdout } = await run(process.execPath, [file.replace(/\.ts$/, ".js")], { cwd: project, timeout: 30_000 }).catch((e) => {
      assert.fail(`README block ${i} failed or did not exit within 30 s:\n${e.stdout}${e.stderr}`);
    });
    if (block.includes("Make it Osaka")) {
      assert.match(stdout, /^Here/);
      assert.match(stdout, /Changing course to Osaka\./);
      assert.match(stdout, /Here is a 4-day plan for Osaka\./);
    }
  }
});
