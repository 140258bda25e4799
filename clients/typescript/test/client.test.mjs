import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  createClient, LogLevel, RealtimeAgentsError, TaskCancelledError, EVENT_KINDS,
} from "../dist/index.js";
import { assertStream, collect, fast, startServer, timeout, PROTOCOLS } from "./server.mjs";

// Every test runs once per hub protocol.
for (const protocol of PROTOCOLS) describe(`over ${protocol}`, () => {
  let server;
  let client;

  before(async () => {
    server = await startServer();
    client = createClient({ url: server.hubUrl, protocol, logger: LogLevel.None });
    await timeout(client.connect(), 10_000, "connect");
  });

  after(async () => {
    await client?.close().catch(() => { });
    await server?.stop();
  });

  /** Waits until the handle has delivered an event matching `predicate`. */
  async function waitFor(handle, predicate, ms = 10_000) {
    return timeout((async () => {
      for await (const ev of handle.events()) if (predicate(ev)) return ev;
      throw new Error("the stream ended first");
    })(), ms, "waiting for an event");
  }

  describe("a submitted task", () => {
    test("delivers every event in order with seq 1..n through one terminal event", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Plan a trip to Porto", options: fast }));
      assert.match(handle.taskId, /^t[0-9a-f]+$/);
      assert.match(handle.threadId, /^th[0-9a-f]+$/);
      const events = await collect(handle);
      assertStream(assert, events);
      assert.equal(events.at(-1).kind, "task.completed");
      for (const ev of events) {
        assert.ok(EVENT_KINDS.includes(ev.kind), `known kind ${ev.kind}`);
        assert.equal(ev.taskId, handle.taskId);
        assert.equal(ev.threadId, handle.threadId);
      }
      const kinds = new Set(events.map((e) => e.kind));
      for (const k of ["status", "task.started", "reasoning.delta", "tool.start", "tool.args", "tool.end", "tool.result", "text.delta"]) {
        assert.ok(kinds.has(k), `has ${k}`);
      }
      const toolEnd = events.find((e) => e.kind === "tool.end");
      assert.equal(toolEnd.data.input.destination, "Porto");
      assert.equal(events.filter((e) => e.kind === "text.delta").length, fast.tokens);
    });

    test("text() resolves to the assembled answer, equal to the completed output", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "A weekend in Rome", options: fast }));
      const text = await timeout(handle.text());
      const events = await collect(handle);
      const deltas = events.filter((e) => e.kind === "text.delta").map((e) => e.data.delta).join("");
      assert.equal(text, events.at(-1).data.output);
      assert.equal(text, deltas.trim());
      assert.match(text, /^Here is a plan for Rome\./);
    });

    test("several readers of one handle each see the whole stream", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Oslo", options: fast }));
      const [a, b] = await Promise.all([collect(handle), collect(handle)]);
      assert.deepEqual(a.map((e) => e.seq), b.map((e) => e.seq));
      assertStream(assert, a);
    });

    test("interrupt ends the task with task.cancelled and text() rejects with the partial answer", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Paris", options: { ...fast, tokens: 5000, tokenIntervalMs: 10 } }));
      await waitFor(handle, (e) => e.kind === "text.delta");
      await timeout(handle.interrupt("changed my mind"));
      const events = await collect(handle);
      assertStream(assert, events);
      assert.equal(events.at(-1).kind, "task.cancelled");
      assert.equal(events.at(-1).data.reason, "changed my mind");
      const error = await timeout(handle.text().then(() => null, (e) => e));
      assert.ok(error instanceof TaskCancelledError);
      assert.ok(error.partialText.startsWith("Here"), error.partialText);
      const info = await timeout(client.getTask(handle.taskId));
      assert.equal(info.status, "cancelled");
    });

    test("a message sent with the inject policy appears in the running task as user.message", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Trip to Madrid", options: { ...fast, tokens: 300, tokenIntervalMs: 10 } }));
      await waitFor(handle, (e) => e.kind === "text.delta");
      const sent = await timeout(client.sendMessage(handle.threadId, "Actually, go to Vienna", { policy: "inject" }));
      assert.equal(sent.outcome, "injected");
      assert.equal(sent.taskId, handle.taskId);
      const events = await collect(handle);
      assertStream(assert, events);
      const message = events.find((e) => e.kind === "user.message");
      assert.ok(message, "user.message arrived");
      assert.equal(message.data.text, "Actually, go to Vienna");
      assert.equal(message.data.messageId, sent.messageId);
      assert.match(await timeout(handle.text()), /Changing course to Vienna/);
    });

    test("a message with the default policy interrupts the running task and starts a new one", async () => {
      // The new task inherits these options, so keep the run short.
      const first = await timeout(client.submit({ agent: "demo", input: "Trip to Berlin", options: { ...fast, tokens: 200, tokenIntervalMs: 10 } }));
      await waitFor(first, (e) => e.kind === "text.delta");
      const sent = await timeout(client.sendMessage(first.threadId, "Trip to Prague instead"));
      assert.equal(sent.outcome, "started");
      assert.notEqual(sent.taskId, first.taskId);
      assert.equal((await collect(first)).at(-1).kind, "task.cancelled");
      const second = client.subscribe(sent.taskId);
      assert.match(await timeout(second.text()), /plan for Prague/);
    });
  });

  describe("subscribing", () => {
    test("from a cursor delivers exactly the events after it", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Lisbon", options: fast }));
      const all = await collect(handle);
      const k = 7;
      const later = client.subscribe(handle.taskId, { cursor: all[k - 1].id });
      const rest = await collect(later);
      assertStream(assert, rest, { firstSeq: k + 1 });
      assert.deepEqual(rest.map((e) => e.id), all.slice(k).map((e) => e.id));
      const result = await timeout(later.ready());
      assert.equal(result.recovered, true);
      assert.equal(result.status, "completed");
    });

    test("live only (\"$\") on a finished task gets its terminal event and ends", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Lisbon", options: fast }));
      const all = await collect(handle);
      const live = client.subscribe(handle.taskId, { cursor: "$" });
      const events = await timeout(collect(live), 5_000, "a live-only subscription to a finished task ending");
      assert.deepEqual(events.map((e) => e.seq), [all.at(-1).seq]);
      assert.equal(events[0].kind, "task.completed");
    });

    test("by task id learns the thread from the events", async () => {
      const submitted = await timeout(client.submit({ agent: "demo", input: "Nice", options: fast }));
      await collect(submitted);
      const other = createClient({ url: server.hubUrl, protocol, logger: LogLevel.None });
      try {
        const handle = other.subscribe(submitted.taskId);
        assertStream(assert, await collect(handle));
        assert.equal(handle.threadId, submitted.threadId);
      } finally {
        await timeout(other.close());
      }
    });

    test("an aborted signal stops iteration with the signal's reason", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Tokyo", options: { ...fast, tokens: 5000, tokenIntervalMs: 10 } }));
      const controller = new AbortController();
      const seen = [];
      const error = await timeout((async () => {
        try {
          for await (const ev of handle.events({ signal: controller.signal })) {
            seen.push(ev);
            if (seen.length === 3) controller.abort();
          }
          return null;
        } catch (e) { return e; }
      })());
      assert.equal(error?.name, "AbortError");
      assert.equal(seen.length, 3);
      await timeout(handle.interrupt());
    });

    test("an aborted subscribe signal closes the handle, and aborted calls reject", async () => {
      const controller = new AbortController();
      const handle = await timeout(client.submit({ agent: "demo", input: "Seoul", options: { ...fast, tokens: 5000, tokenIntervalMs: 10 } }));
      const watched = client.subscribe(handle.taskId, { cursor: "$", signal: controller.signal });
      controller.abort();
      const events = await collect(watched, { ms: 5000 });
      assert.ok(events.every((e) => e.kind !== "task.completed"));
      assert.ok(watched.done);
      const aborted = AbortSignal.abort();
      await assert.rejects(client.getTask(handle.taskId, { signal: aborted }), { name: "AbortError" });
      await timeout(handle.interrupt());
    });
  });

  describe("refusals", () => {
    test("connecting to a port nobody listens on says the connection was refused", async () => {
      const { createServer } = await import("node:net");
      const port = await new Promise((resolve) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
      const down = createClient({ url: `http://127.0.0.1:${port}/hubs/agents`, protocol, logger: LogLevel.None });
      try {
        const error = await timeout(down.connect().then(() => undefined, (e) => e), 10_000, "connect to a closed port");
        assert.ok(error instanceof Error);
        assert.match(error.message, /refused/);
        assert.doesNotMatch(error.message, /SignalR endpoint|sticky/);
      } finally {
        await down.close();
      }
    });

    test("bad input rejects with the server's message and code", async () => {
      await assert.rejects(client.submit({ agent: "nobody", input: "hi" }), (e) => {
        assert.ok(e instanceof RealtimeAgentsError);
        assert.equal(e.code, "invalid_argument");
        assert.match(e.message, /^invalid_argument: Unknown agent 'nobody'\. Available: .*demo/);
        return true;
      });
      await assert.rejects(client.submit({ agent: "demo", input: "hi", options: { tokens: -1 } }),
        { code: "invalid_argument", message: /Option 'tokens' must be a whole number/ });
      await assert.rejects(client.submit({ agent: "demo", input: "   " }), { code: "invalid_argument", message: /Input is empty/ });
      await assert.rejects(client.getTask("t0000"), { code: "not_found" });
      await assert.rejects(client.sendMessage("th-none", "hi", { policy: "shout" }), { code: "invalid_argument", message: /Unknown policy/ });
    });

    test("subscribing to an unknown task fails its readers", async () => {
      const handle = client.subscribe("tmissing");
      await assert.rejects(collect(handle), { code: "not_found" });
    });

    test("the reject policy refuses a message while a task runs", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Cairo", options: { ...fast, tokens: 5000, tokenIntervalMs: 10 } }));
      await waitFor(handle, (e) => e.kind === "text.delta");
      await assert.rejects(client.sendMessage(handle.threadId, "hello", { policy: "reject" }), { code: "conflict" });
      await timeout(handle.interrupt());
    });
  });

  describe("inputs over the server's limits", () => {
    test("a 1 MiB input is refused before sending; the connection and its other subscriptions carry on", async () => {
      const running = await timeout(client.submit({ agent: "demo", input: "Trip to Bruges", options: { ...fast, tokens: 60, tokenIntervalMs: 10 } }));
      const huge = "x".repeat(1024 * 1024);
      await assert.rejects(client.submit({ agent: "demo", input: huge }), (e) => {
        assert.ok(e instanceof RealtimeAgentsError);
        assert.equal(e.code, "limit_exceeded");
        assert.equal(e.message, "limit_exceeded: Input is 1048576 bytes; the limit is 32768 bytes.");
        return true;
      });
      await assert.rejects(client.sendMessage(running.threadId, huge, { policy: "enqueue" }),
        { code: "limit_exceeded", message: "limit_exceeded: Message is 1048576 bytes; the limit is 32768 bytes." });
      assert.equal(client.state, "connected");
      const events = await collect(running);
      assertStream(assert, events);
      assert.equal(events.filter((e) => e.kind === "text.delta").length, 60);
      assert.equal(running.resumes, 0);
      assert.equal((await collect(await timeout(client.submit({ agent: "demo", input: "Trip to Ghent", options: fast })))).at(-1).kind, "task.completed");
    });

    test("the limits come from the server", async () => {
      const limits = await timeout(client.getLimits());
      assert.equal(limits.maxInputBytes, 32768);
      assert.ok(limits.maxMessageBytes >= 2 * 32768, `message limit ${limits.maxMessageBytes}`);
    });
  });

  describe("watching a thread", () => {
    test("yields the tasks so far, then each new one", async () => {
      const first = await timeout(client.submit({ agent: "demo", input: "Athens", options: fast }));
      await collect(first);
      const watch = client.watchThread(first.threadId);
      const info = await timeout(watch.ready());
      assert.deepEqual(info.tasks.map((t) => t.taskId), [first.taskId]);
      const iterator = watch[Symbol.asyncIterator]();
      assert.equal((await timeout(iterator.next())).value.taskId, first.taskId);
      const sent = await timeout(client.sendMessage(first.threadId, "Now Sofia", { policy: "enqueue" }));
      const next = (await timeout(iterator.next())).value;
      assert.equal(next.taskId, sent.taskId);
      assert.equal(next.input, "Now Sofia");
      watch.close();
      assert.equal((await timeout(iterator.next())).done, true);
    });
  });

  describe("tool approvals", () => {
    const approving = { ...fast, requireApproval: true, toolCalls: 2, reasoning: false };

    test("approvals() yields each pending call; an approved one runs, a denied one does not, a second answer is a conflict", async () => {
      const handle = await timeout(client.submit({ agent: "demo", input: "Plan a trip to Oslo", options: approving }));
      const seen = [];
      for await (const pending of handle.approvals()) {
        seen.push(pending);
        assert.equal(pending.status, "pending");
        assert.equal(pending.input.destination, "Oslo");
        const approve = seen.length === 1;
        const answer = await timeout(handle.respondToApproval(pending.toolCallId, approve, { reason: approve ? undefined : "not this one" }));
        assert.deepEqual([answer.approved, answer.waiting], [approve, true]);
        await assert.rejects(client.respondToApproval(handle.taskId, pending.toolCallId, true),
          (e) => e instanceof RealtimeAgentsError && e.code === "conflict");
      }
      assert.deepEqual(seen.map((p) => p.toolName), ["search_flights", "search_hotels"]);
      const events = await collect(handle);
      assertStream(assert, events);
      assert.equal(events.at(-1).kind, "task.completed");
      const results = events.filter((e) => e.kind === "tool.result").map((e) => [e.data.toolCallId, !!e.data.isError]);
      assert.deepEqual(results, [[seen[0].toolCallId, false], [seen[1].toolCallId, true]]);
      const answers = events.filter((e) => e.kind === "tool.approval" && e.data.status !== "pending").map((e) => [e.data.status, e.data.reason]);
      assert.deepEqual(answers, [["approved", undefined], ["denied", "not this one"]]);
    });
  });
});
