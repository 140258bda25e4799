export * from "./contracts.js";
export * from "./errors.js";
export {
  createClient,
  RealtimeAgentsClient,
  type ClientOptions,
  type ConnectionEvent,
  type ConnectionState,
  type SubscribeOptions,
  type CallOptions,
} from "./client.js";
export { TaskHandle, type EventsOptions } from "./task.js";
export { ThreadWatch, type ThreadTask } from "./thread.js";
export { HttpTransportType, LogLevel, type ILogger } from "@microsoft/signalr";
