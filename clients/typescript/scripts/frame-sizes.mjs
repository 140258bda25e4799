// Bytes on the wire per event kind, in the JSON and the MessagePack hub protocol, as the real
// server sends them: the official client's protocol is wrapped to record the size of each frame
// that carries exactly one "event" message. Usage (server built in Debug):
//   node scripts/frame-sizes.mjs [tokens=200]
import { HubConnectionBuilder, HttpTransportType, JsonHubProtocol, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { startServer, timeout } from "../test/server.mjs";

const tokens = Number(process.argv[2] ?? 200);

function measuring(protocol) {
  const sizes = new Map();
  const parse = protocol.parseMessages.bind(protocol);
  protocol.parseMessages = (input, logger) => {
    const messages = parse(input, logger);
    const size = typeof input === "string" ? Buffer.byteLength(input) : input.byteLength;
    if (messages.length === 1 && messages[0].target === "event") {
      const kind = messages[0].arguments[0].kind;
      (sizes.get(kind) ?? sizes.set(kind, []).get(kind)).push(size);
    }
    return messages;
  };
  return { protocol, sizes };
}

const server = await startServer();
try {
  for (const [name, m] of [["json", measuring(new JsonHubProtocol())], ["messagepack", measuring(new MessagePackHubProtocol())]]) {
    const connection = new HubConnectionBuilder()
      .withUrl(server.hubUrl, { skipNegotiation: true, transport: HttpTransportType.WebSockets })
      .withHubProtocol(m.protocol).configureLogging(LogLevel.None).build();
    let done;
    const finished = new Promise((resolve) => { done = resolve; });
    connection.on("event", (ev) => { if (ev.kind.startsWith("task.") && ev.kind !== "task.started") done(); });
    await timeout(connection.start());
    // Tokens 20 ms apart, so each reaches the client in a frame of its own.
    const task = await connection.invoke("SubmitTask", { agent: "demo", input: "Trip to Porto",
      options: { tokens, tokenIntervalMs: 20, firstTokenDelayMs: 0, toolDelayMs: 0, toolCalls: 0, reasoning: false } });
    await connection.invoke("Subscribe", task.taskId, null);
    await timeout(finished, 60_000);
    await connection.stop();
    for (const [kind, list] of m.sizes) {
      const avg = list.reduce((a, b) => a + b, 0) / list.length;
      console.log(`${name}\t${kind}\t${list.length} frames\tavg ${avg.toFixed(1)} B\tmin ${Math.min(...list)} B\tmax ${Math.max(...list)} B`);
    }
  }
} finally {
  await server.stop();
}
