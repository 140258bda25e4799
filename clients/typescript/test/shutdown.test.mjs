// Graceful shutdown: SIGTERM on a hub node with ten SDK clients connected. The node tells each
// client it is going away and closes it, so the process exits at once instead of waiting out
// the host's 30 s shutdown timeout. The clients reconnect at once, to the stopping node itself
// (as a browser tab on a single server does: the node must keep closing them until it stops
// accepting), and once it is gone the balancer (a TCP proxy here) sends them to the other node,
// where every stream resumes with no gap and no repeat.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { createClient, LogLevel } from "../dist/index.js";
import { assertStream, collect, startProxy, startServer, timeout } from "./server.mjs";

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** redis-server on a free port, no persistence; stop() ends it by its PID. */
async function startRedis() {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  process.once("exit", () => { try { process.kill(child.pid, "SIGKILL"); } catch { } });
  let output = "";
  await timeout(new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d) => { output += d; if (output.includes("Ready to accept connections")) resolve(); });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  }), 10_000, "redis-server start");
  child.stdout.resume();
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      try { process.kill(child.pid, "SIGTERM"); } catch { resolve(); }
    }),
  };
}

let redis, nodeA, nodeB, proxy;
const clients = [];

before(async () => {
  redis = await startRedis();
  const env = { RealtimeAgents__Redis: redis.address };
  // B runs the agents (an in-process worker); A only serves clients, so stopping A stops no agent.
  [nodeA, nodeB] = await Promise.all([
    startServer({ env }),
    startServer({ env: { ...env, RealtimeAgents__Worker__InProcess: "true" } }),
  ]);
  proxy = await startProxy(nodeA.port);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => { })));
  await proxy?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.stop();
});

// The target is 2 s (typically ~0.5 s here); the bound is 3 s so that a 2-core machine under
// heavy load does not fail it, while the stall it guards against took the host's full 30 s
// shutdown timeout (the helper SIGKILLs at 5 s).
test("SIGTERM with ten clients connected: the node exits at once and every client resumes on the other node", async () => {
  const options = { tokens: 80, tokenIntervalMs: 30, firstTokenDelayMs: 0, toolCalls: 1, toolDelayMs: 10, reasoning: false };
  const handles = [];
  for (let i = 0; i < 10; i++) {
    const client = createClient({ url: proxy.hubUrl, logger: LogLevel.None, reconnectDelaysMs: [0, 100, 250, 500] });
    clients.push(client);
    handles.push(await timeout(client.submit({ agent: "demo", input: `Plan a trip to Porto ${i}`, options })));
  }
  assert.equal(proxy.connections, 10);
  const streams = handles.map((h) => collect(h, { ms: 30_000 }));
  // Every client is mid-stream before the node goes away.
  await timeout(Promise.all(handles.map(async (h) => {
    for await (const ev of h.events()) if (ev.kind === "text.delta") return;
  })), 15_000, "every stream reaching its answer");
  let reconnected = 0;
  for (const c of clients) c.onConnectionChange((ev) => { if (ev.type === "resumed" || ev.type === "connected") reconnected++; });

  const started = performance.now();
  await timeout(nodeA.stop(), 10_000, "node A stopping");
  const exitMs = performance.now() - started;
  proxy.target = nodeB.port;
  console.log(`# node A exited ${exitMs.toFixed(0)} ms after SIGTERM with 10 clients connected`);
  assert.ok(exitMs < 3000, `node A took ${exitMs.toFixed(0)} ms to exit after SIGTERM`);

  const results = await Promise.all(streams);
  for (const events of results) {
    assertStream(assert, events);
    assert.equal(events.at(-1).kind, "task.completed");
  }
  assert.ok(reconnected >= 10, `every client reconnected (${reconnected})`);
});
