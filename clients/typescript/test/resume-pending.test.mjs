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
const event = (seq) => ({
  taskId, threadId: "th0000000000000000000000000000001", seq, id: `${1000 + seq}-0`,
  kind: "text.delta", ts: 1, data: { messageId: "m1", delta: `d${seq}` },
});

/** Answers negotiate as a hub would; nothing else goes over HTTP. */
class Negotiate extends HttpClient {
  send() {
    return Promise.resolve(new HttpResponse(200, "OK",
      JSON.stringify({ negotiateVersion: 1, connectionId: "c1", connectionToken: "c1", availableTransports: [] })));
  }
}

/** A hub that replays three events, then on a resume sends seq 10 live before answering recovered: false. */
function scriptedHub(protocol) {
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
          const cursor = m.arguments[1];
          const recovered = cursor === null;
          for (const seq of recovered ? [1, 2, 3] : [10]) {
            hub.push({ type: MessageType.Invocation, target: "event", arguments: [event(seq)] });
          }
          hub.push({ type: MessageType.Completion, invocationId: m.invocationId,
            result: { taskId, status: "running", recovered, cursor: recovered ? "0-0" : "1010-0", epoch: "1-0" } });
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
});
