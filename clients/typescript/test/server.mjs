// Test support: starts the real RealtimeAgents server (dotnet <dll> --urls http://127.0.0.1:0),
// reads the port it bound, and stops it by its PID. A TCP proxy in front of it lets a test cut
// every connection abruptly, like a network drop.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function serverDll() {
  return process.env.REALTIMEAGENTS_SERVER_DLL
    ?? path.join(repo, "src/RealtimeAgents.Server/bin/Debug/net10.0/RealtimeAgents.Server.dll");
}

/** Starts the server; resolves to { url, hubUrl, pid, stop() } once it listens. */
/** `cwd` decides which wwwroot is served (default: the one next to the dll). */
export async function startServer({ timeoutMs = 30_000, env = {}, cwd } = {}) {
  const dll = serverDll();
  if (!existsSync(dll)) throw new Error(`Server not built: ${dll} (build it, or set REALTIMEAGENTS_SERVER_DLL).`);
  const child = spawn("dotnet", [dll, "--urls", "http://127.0.0.1:0"], {
    cwd: cwd ?? path.dirname(dll),
    env: { ...process.env, DOTNET_NOLOGO: "1", Logging__LogLevel__Default: "Warning", "Logging__LogLevel__Microsoft.Hosting.Lifetime": "Information", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => { try { process.kill(child.pid, "SIGKILL"); } catch { } }, 5000);
    child.once("exit", () => { clearTimeout(kill); resolve(); });
    try { process.kill(child.pid, "SIGTERM"); } catch { resolve(); }
  });
  process.once("exit", () => { try { process.kill(child.pid, "SIGKILL"); } catch { } });
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const onData = (chunk) => {
        output += chunk;
        const m = /Now listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      };
      child.stdout.setEncoding("utf8").on("data", onData);
      child.stderr.setEncoding("utf8").on("data", onData);
      child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`Server exited with ${code}:\n${output}`)); });
    });
    child.stdout.resume();
    child.stderr.resume();
    const url = `http://127.0.0.1:${port}`;
    return { url, hubUrl: `${url}/hubs/agents`, port, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A TCP proxy on 127.0.0.1 to `port`; drop() resets every connection through it, and while
 * `refusing` is set new connections are reset at once (the network is still down).
 */
export async function startProxy(port) {
  const sockets = new Set();
  let refusing = false;
  let target = port;
  const server = net.createServer((down) => {
    if (refusing) { down.on("error", () => { }); down.resetAndDestroy(); return; }
    const up = net.connect(target, "127.0.0.1");
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => { });
    }
    down.pipe(up);
    up.pipe(down);
    const close = () => { down.destroy(); up.destroy(); };
    down.on("close", close);
    up.on("close", close);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxyPort = server.address().port;
  return {
    port: proxyPort,
    get refusing() { return refusing; },
    /** The port new connections go to (a balancer moving to another node); open ones stay. */
    set target(value) { target = value; },
    set refusing(value) { refusing = value; },
    hubUrl: `http://127.0.0.1:${proxyPort}/hubs/agents`,
    get connections() { return sockets.size / 2; },
    drop() { for (const s of sockets) s.resetAndDestroy(); },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rejects if `promise` takes longer than `ms` (every await in a test gets one). */
export function timeout(promise, ms = 10_000, what = "operation") {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Collects a handle's events, with a timeout. */
export function collect(handle, { ms = 10_000, signal } = {}) {
  return timeout((async () => {
    const events = [];
    for await (const ev of handle.events({ signal })) events.push(ev);
    return events;
  })(), ms, `events of ${handle.taskId}`);
}

/** Checks what StreamAssert checks in .NET: contiguous seq from `firstSeq`, one terminal event, last. */
export function assertStream(assert, events, { firstSeq = 1 } = {}) {
  assert.ok(events.length > 0, "no events");
  events.forEach((ev, i) => assert.equal(ev.seq, firstSeq + i, `event ${i} has seq ${ev.seq}, expected ${firstSeq + i}`));
  const terminal = events.filter((ev) => ["task.completed", "task.failed", "task.cancelled"].includes(ev.kind));
  assert.equal(terminal.length, 1, "exactly one terminal event");
  assert.equal(terminal[0], events.at(-1), "the terminal event is last");
  const ids = events.map((ev) => ev.id);
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
}

/** The hub protocols every suite runs under. */
export const PROTOCOLS = ["json", "msgpack"];

/** Demo agent options that keep runs short. */
export const fast = { tokens: 30, tokenIntervalMs: 5, firstTokenDelayMs: 0, toolDelayMs: 0 };
