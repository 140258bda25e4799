// Starts the real server (dotnet RealtimeAgents.Server.dll) on a free loopback port and stops it
// by its PID. The dll is $REALTIMEAGENTS_SERVER_DLL, or the Debug build ./test.sh makes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const serverDll = process.env.REALTIMEAGENTS_SERVER_DLL
  ?? resolve(repo, "src/RealtimeAgents.Server/bin/Debug/net10.0/RealtimeAgents.Server.dll");

export async function startServer({ timeoutMs = 30_000 } = {}) {
  if (!existsSync(serverDll)) throw new Error(`${serverDll} does not exist: build the server first (dotnet build)`);
  const child = spawn("dotnet", [serverDll, "--urls", "http://127.0.0.1:0"], {
    cwd: dirname(serverDll),
    env: { ...process.env, DOTNET_ENVIRONMENT: "Testing", ASPNETCORE_ENVIRONMENT: "Testing" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const m = /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${output}`)); });
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => { if (child.exitCode === null) process.kill(child.pid, "SIGKILL"); }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Rejects when the promise takes longer than ms: every await in a test has a deadline. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
