import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { HubConnectionBuilder, HttpTransportType, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { fast, startServer, timeout } from "./server.mjs";

// The official npm client, unmodified, speaking MessagePack to the hub: what a user of SignalR
// gets without our SDK. Its decoded events must be the JSON client's, field by field.

describe("the official @microsoft/signalr client with MessagePack", () => {
  let server, msgpack, json;
  const received = { msgpack: [], json: [] };

  const connect = async (protocol, sink) => {
    const builder = new HubConnectionBuilder()
      .withUrl(server.hubUrl, { skipNegotiation: true, transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None);
    if (protocol) builder.withHubProtocol(protocol);
    const connection = builder.build();
    connection.on("event", (ev) => sink.push(ev));
    await timeout(connection.start());
    return connection;
  };

  /** Waits until `sink` holds an event matching `predicate`. */
  const until = (sink, predicate, ms = 10_000) => timeout((async () => {
    while (!sink.some(predicate)) await new Promise((r) => setTimeout(r, 10));
    return sink.find(predicate);
  })(), ms, "waiting for an event");

  before(async () => {
    server = await startServer();
    msgpack = await connect(new MessagePackHubProtocol(), received.msgpack);
    json = await connect(undefined, received.json);
  });

  after(async () => {
    await msgpack?.stop().catch(() => { });
    await json?.stop().catch(() => { });
    await server?.stop();
  });

  test("submit, subscribe from a cursor, inject, interrupt: the events equal the JSON client's", async () => {
    const accepted = await timeout(msgpack.invoke("SubmitTask", { agent: "demo", input: "Trip to Utrecht", options: { ...fast, tokens: 400, tokenIntervalMs: 10 } }));
    assert.match(accepted.taskId, /^t[0-9a-f]+$/);
    const subscribed = await timeout(msgpack.invoke("Subscribe", accepted.taskId, null));
    assert.equal(subscribed.recovered, true);
    await until(received.msgpack, (e) => e.kind === "text.delta" && e.seq > 10);

    const injected = await timeout(msgpack.invoke("SendMessage", accepted.threadId, "Add a day in Delft", "inject"));
    assert.equal(injected.outcome, "injected");
    await until(received.msgpack, (e) => e.kind === "user.message");
    await timeout(msgpack.invoke("Interrupt", accepted.taskId, "enough"));
    await until(received.msgpack, (e) => e.kind === "task.cancelled");

    // The same task read by the JSON client, and by the MessagePack one again, from a cursor.
    const cursor = received.msgpack[4];
    const fromCursor = [];
    const msgpackAgain = await connect(new MessagePackHubProtocol(), fromCursor);
    try {
      await timeout(json.invoke("Subscribe", accepted.taskId, cursor.id));
      await timeout(msgpackAgain.invoke("Subscribe", accepted.taskId, cursor.id));
      await until(received.json, (e) => e.kind === "task.cancelled");
      await until(fromCursor, (e) => e.kind === "task.cancelled");
    } finally {
      await msgpackAgain.stop();
    }

    const live = received.msgpack;
    live.forEach((ev, i) => assert.equal(ev.seq, i + 1));
    assert.deepStrictEqual(received.json, live.slice(5), "JSON from the cursor equals MessagePack live, field by field");
    assert.deepStrictEqual(fromCursor, received.json, "MessagePack from the cursor equals JSON from the cursor");
    // data is a real map, decoded to plain values (not a JSON string).
    const delta = live.find((e) => e.kind === "text.delta");
    assert.equal(typeof delta.data, "object");
    assert.equal(typeof delta.data.delta, "string");
    assert.equal(live.find((e) => e.kind === "user.message").data.text, "Add a day in Delft");
    assert.equal(live.at(-1).data.reason, "enough");
    assert.equal(typeof live[0].ts, "number");
  });

  test("a refusal reaches the MessagePack client as the same error as the JSON one", async () => {
    const errors = [];
    for (const connection of [msgpack, json]) {
      await assert.rejects(connection.invoke("SubmitTask", { agent: "nobody", input: "hi" }), (e) => { errors.push(e.message); return true; });
    }
    assert.match(errors[0], /invalid_argument: Unknown agent 'nobody'/);
    assert.equal(errors[0], errors[1]);
  });
});
