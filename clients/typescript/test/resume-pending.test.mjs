import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HttpClient, HttpResponse, JsonHubProtocol, MessageType, NullLogger } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { createClient, LogLevel, SubscriptionLostError } from "../dist/index.js";
import { timeout, PROTOCOLS } from "./server.mjs";

// A resume the server cannot replay: live events may reach the client before the Subscribe result
// that says recovered: false. The SDK must not deliver them (a reader would see a jump in seq),
// only the loss. The real SignalR client talks to a scripted hub through a transport of SignalR's
// own interface, which puts the frames on the wire in exactly that order, every time.

const taskId = "t00000000000000000000000000000001";
const event = (seq, kind = seq === 6 ? "task.completed" : "text.delta") => ({
  taskId, threadId: "th0000000000000000000000000000001", seq, id: `${1000 + seq}-0`,
  kind, ts: 1, data: kind === "text.delta" ? { messageId: "m1", delta: `d${seq}` } : { output: "done", executionMs: 1 },
});

/** Answers negotiate as a hub would; nothing else goes over HTTP. */
class Negotiate extends HttpClient {
  send() {
    return Promise.resolve(new HttpResponse(200, "OK",
      JSON.stringify({ negotiateVersion: 1, connectionId: "c1", connectionToken: "c1", availableTransports: [] })));
  }
}

/**
 * A hub that replays three events; on a resume it sends `resumeSeqs` before its answer
 * (`recovered`), then `afterSeqs`.
 */
function scriptedHub(protocol, { resumeSeqs = [10], recovered: resumeRecovered = false, afterSeqs = [] } = {}) {
  let handshaken = false;
  const hub = {
    onreceive: null,
    onclose: null,
    connect: () => Promise.resolve(),
    stop() { hub.onclose?.(); return Promise.resolve(); },
    push: (message) => hub.onreceive(protocol.writeMessage({ headers: {}, ...message })),
    send(data) {
      if (!handshaken) {
        handshaken = true;
        setTimeout(() => hub.onreceive("{}\x1e"), 0);
        return Promise.resolve();
      }
      for (const m of protocol.parseMessages(data, NullLogger.instance)) {
        if (m.type !== MessageType.Invocation || m.target !== "Subscribe") continue;
        setTimeout(() => {
          const first = m.arguments[1] === null;
          const recovered = first || resumeRecovered;
          for (const seq of first ? [1, 2, 3] : resumeSeqs) {
            hub.push({ type: MessageType.Invocation, target: "event", arguments: [event(seq)] });
          }
          hub.push({ type: MessageType.Completion, invocationId: m.invocationId,
            result: { taskId, status: "running", recovered, cursor: first ? "0-0" : recovered ? "1003-0" : "1010-0", epoch: "1-0" } });
          if (!first) for (const seq of afterSeqs) hub.push({ type: MessageType.Invocation, target: "event", arguments: [event(seq)] });
        }, 0);
      }
      return Promise.resolve();
    },
  };
  return hub;
}

for (const protocol of PROTOCOLS) describe(`over ${protocol}`, () => {
  test("a resume that cannot recover delivers nothing that arrived meanwhile, then reports the loss", async () => {
    const hub = scriptedHub(protocol === "msgpack" ? new MessagePackHubProtocol() : new JsonHubProtocol());
    const client = createClient({
      url: "http://scripted.invalid/hubs/agents", protocol, logger: LogLevel.None,
      connectionOptions: { skipNegotiation: false, transport: hub, httpClient: new Negotiate() },
    });
    try {
      const handle = client.subscribe(taskId);
      const seen = [];
      const reading = (async () => {
        for await (const ev of handle.events()) {
          seen.push(ev.seq);
          // The server ends the subscription early (a lagging client): the SDK resumes from 1003-0.
          if (ev.seq === 3) hub.push({ type: MessageType.Invocation, target: "subscriptionEnded",
            arguments: [{ taskId, reason: "lagging", cursor: "1003-0" }] });
        }
      })();
      await assert.rejects(timeout(reading), SubscriptionLostError);
      assert.deepEqual(seen, [1, 2, 3]);
    } finally {
      await timeout(client.close());
    }
  });

  test("a resume that recovers delivers what arrived meanwhile, in order and once", async () => {
    const hub = scriptedHub(protocol === "msgpack" ? new MessagePackHubProtocol() : new JsonHubProtocol(),
      { resumeSeqs: [3, 4, 5], recovered: true, afterSeqs: [5, 6] });
    const client = createClient({
      url: "http://scripted.invalid/hubs/agents", protocol, logger: LogLevel.None,
      connectionOptions: { skipNegotiation: false, transport: hub, httpClient: new Negotiate() },
    });
    try {
      const handle = client.subscribe(taskId);
      const seen = [];
      await timeout((async () => {
        for await (const ev of handle.events()) {
          seen.push(ev.seq);
          if (ev.seq === 3 && seen.length === 3) hub.push({ type: MessageType.Invocation, target: "subscriptionEnded",
            arguments: [{ taskId, reason: "lagging", cursor: "1003-0" }] });
        }
      })());
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
      assert.equal(handle.resumes, 1);
    } finally {
      await timeout(client.close());
    }
  });
});
