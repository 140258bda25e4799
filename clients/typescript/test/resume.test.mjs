import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient, LogLevel, SubscriptionLostError } from "../dist/index.js";
import { assertStream, collect, fast, startProxy, startServer, timeout, PROTOCOLS } from "./server.mjs";

// A network drop is simulated by resetting every TCP connection of a proxy between the client
// and the real server: the client sees its WebSocket die the way it would on a lost network.

// Every test runs once per hub protocol.
for (const protocol of PROTOCOLS) describe(`over ${protocol}`, () => {
  describe("after a network drop", () => {
    let server, proxy, client;
    const changes = [];

    before(async () => {
      server = await startServer();
      proxy = await startProxy(server.port);
      client = createClient({ url: proxy.hubUrl, protocol, logger: LogLevel.None, reconnectDelaysMs: [0, 100, 200] });
      client.onConnectionChange((ev) => changes.push(ev.type));
      await timeout(client.connect());
    });

    after(async () => {
      await client?.close().catch(() => { });
      await proxy?.close().catch(() => { });
      await server?.stop();
    });

    test("a stream resumes from its cursor with no gap and no repeat", async () => {
      changes.length = 0;
      const handle = await timeout(client.submit({ agent: "demo", input: "Trip to Porto", options: { ...fast, tokens: 200, tokenIntervalMs: 5 } }));
      const events = [];
      let dropped = false;
      await timeout((async () => {
        for await (const ev of handle.events()) {
          events.push(ev);
          if (!dropped && ev.kind === "text.delta" && events.filter((e) => e.kind === "text.delta").length === 20) {
            dropped = true;
            proxy.drop();
          }
        }
      })(), 20_000);
      assertStream(assert, events);
      assert.equal(events.at(-1).kind, "task.completed");
      assert.equal(events.filter((e) => e.kind === "text.delta").length, 200);
      assert.ok(handle.resumes >= 1, `resumed ${handle.resumes} times`);
      assert.deepEqual(changes.slice(0, 2), ["reconnecting", "resumed"]);
      assert.equal(await timeout(handle.text()), events.at(-1).data.output);
    });

    test("repeated drops while several tasks stream lose and repeat nothing", async () => {
      const handles = await timeout(Promise.all(["Rome", "Oslo", "Lima"].map((city) =>
        client.submit({ agent: "demo", input: `Trip to ${city}`, options: { ...fast, tokens: 150, tokenIntervalMs: 10 } }))));
      const all = Promise.all(handles.map((h) => collect(h, { ms: 30_000 })));
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 300));
        proxy.drop();
      }
      for (const events of await all) {
        assertStream(assert, events);
        assert.equal(events.at(-1).kind, "task.completed");
      }
      assert.ok(handles.every((h) => h.resumes >= 1));
    });

    test("a subscription started while the network is down is made once it is back", async () => {
      const a = await timeout(client.submit({ agent: "demo", input: "Trip to Kyiv", options: fast }));
      const b = await timeout(client.submit({ agent: "demo", input: "Trip to Bern", options: fast }));
      const bEvents = await collect(b);
      await collect(a);
      a.close();
      b.close();
      proxy.refusing = true;
      proxy.drop();
      await new Promise((r) => setTimeout(r, 50));
      const fromStart = client.subscribe(a.taskId, { cursor: "0-0" });
      const fromCursor = client.subscribe(b.taskId, { cursor: bEvents[4].id });
      setTimeout(() => { proxy.refusing = false; }, 300);
      assertStream(assert, await collect(fromStart, { ms: 15_000 }));
      assertStream(assert, await collect(fromCursor, { ms: 15_000 }), { firstSeq: 6 });
    });
  });

  describe("when the server no longer holds what was missed", () => {
    let server, proxy, client;

    before(async () => {
      // Keep only 20 events per task so a long disconnection loses history.
      server = await startServer({ env: { RealtimeAgents__EventLog__MaxLength: "20" } });
      proxy = await startProxy(server.port);
      client = createClient({ url: proxy.hubUrl, protocol, logger: LogLevel.None, reconnectDelaysMs: [50] });
      await timeout(client.connect());
    });

    after(async () => {
      await client?.close().catch(() => { });
      await proxy?.close().catch(() => { });
      await server?.stop();
    });

    test("the resume reports SubscriptionLostError instead of a partial stream", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Trip to Riga", options: { ...fast, tokens: 200, tokenIntervalMs: 5 } }));
      const seen = [];
      const error = await timeout((async () => {
        try {
          for await (const ev of handle.events()) {
            seen.push(ev);
            if (seen.length === 5) {
              proxy.refusing = true;
              proxy.drop();
              // Down long enough for the task to write far more than 20 events.
              setTimeout(() => { proxy.refusing = false; }, 600);
            }
          }
          return null;
        } catch (e) { return e; }
      })(), 20_000);
      assert.ok(error instanceof SubscriptionLostError, `got ${error}`);
      assert.equal(error.taskId, handle.taskId);
      assert.equal(error.cursor, seen.at(-1).id);
      seen.forEach((ev, i) => assert.equal(ev.seq, i + 1));
    });

    test("subscribing from the start of a trimmed stream reports SubscriptionLostError", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Trip to Tallinn", options: { ...fast, tokens: 60 } }));
      await collect(handle);
      const other = createClient({ url: server.hubUrl, protocol, logger: LogLevel.None });
      try {
        await assert.rejects(collect(other.subscribe(handle.taskId)), SubscriptionLostError);
      } finally {
        await timeout(other.close());
      }
    });
  });
});
