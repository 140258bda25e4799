// Subscribes to one task with the official @microsoft/signalr client and prints each event as a
// JSON line until the terminal event. Usage: node subscribe.mjs <hubUrl> <taskId>
// SIGNALR_PACKAGE_JSON points at a package.json whose node_modules holds @microsoft/signalr.
import { createRequire } from "node:module";

const signalR = createRequire(process.env.SIGNALR_PACKAGE_JSON)("@microsoft/signalr");
const [hubUrl, taskId] = process.argv.slice(2);
const terminal = new Set(["task.completed", "task.failed", "task.cancelled"]);
const connection = new signalR.HubConnectionBuilder()
  .withUrl(hubUrl, { transport: signalR.HttpTransportType.WebSockets, skipNegotiation: true })
  .configureLogging(signalR.LogLevel.None)
  .build();
const timer = setTimeout(() => { console.error("timed out"); process.exit(3); }, 15_000);
const done = new Promise((resolve) => {
  connection.on("event", (ev) => {
    if (ev.taskId !== taskId) return;
    process.stdout.write(JSON.stringify(ev) + "\n");
    if (terminal.has(ev.kind)) resolve();
  });
});
await connection.start();
await connection.invoke("Subscribe", taskId, null);
await done;
clearTimeout(timer);
await connection.stop();
