import {
  HttpTransportType,
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  LogLevel,
  MessageType,
  TransferFormat,
  type HubMessage,
  type IHttpConnectionOptions,
  type IHubProtocol,
  type ILogger,
  type IRetryPolicy,
} from "@microsoft/signalr";
import {
  Cursors,
  HubMethods,
  type HubLimits,
  type MessagePolicy,
  type SendMessageResult,
  type SubmitTaskRequest,
  type SubmitTaskResult,
  type SubscribeResult,
  type SubscriptionEnded,
  type TaskInfo,
  type ThreadInfo,
  type ThreadTaskNotice,
  type ThreadWatchEnded,
  type AgentEvent,
  type ApprovalAnswerResult,
} from "./contracts.js";
import { ConnectionClosedError, RealtimeAgentsError, fromInvocationError } from "./errors.js";
import { Subscription, TaskHandle } from "./task.js";
import { ThreadWatch } from "./thread.js";
import { abortable } from "./signal.js";

export interface ClientOptions {
  /** The hub URL, e.g. http://localhost:5080/hubs/agents. */
  url: string;
  /** Supplies a bearer token for each (re)connect. */
  accessTokenFactory?: () => string | Promise<string>;
  /** A SignalR logger or a level for the console logger (default: warnings). */
  logger?: ILogger | LogLevel;
  /**
   * Pauses before each reconnect attempt, in ms. The last one repeats forever unless
   * `giveUpAfterDelays` is set. Default: 0, 250, 1000, 2000, 5000, 10000.
   */
  reconnectDelaysMs?: number[];
  /** Stop reconnecting once `reconnectDelaysMs` is used up (default false: keep trying). */
  giveUpAfterDelays?: boolean;
  /**
   * Pauses before each retry of a call the hub answered `unavailable` (a store it depends on
   * cannot be reached), in ms; `[]` turns retrying off. SendMessage is never retried (it is not
   * idempotent); a submit without an idempotency key gets one so its retry cannot create a second
   * task. Default: 250, 500, 1000, 2000, 4000.
   */
  unavailableRetryDelaysMs?: number[];
  /**
   * The hub protocol: "json" (default) or "msgpack" (smaller frames, the same events). MessagePack
   * support (@microsoft/signalr-protocol-msgpack) is loaded on first connect, only when asked for,
   * so a JSON app's bundle does not carry it.
   */
  protocol?: "json" | "msgpack";
  /**
   * SignalR connection options, over the SDK's own (a direct WebSocket: `skipNegotiation: true`,
   * `transport: WebSockets`). To negotiate with fallback to Server-Sent Events and long polling,
   * pass `{ skipNegotiation: false, transport: undefined }`.
   */
  connectionOptions?: IHttpConnectionOptions;
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

/** What a UI shows about the connection. `resumed` follows a reconnect once every subscription is back. */
export type ConnectionEvent =
  | { type: "connected" }
  | { type: "reconnecting"; error?: Error }
  | { type: "resumed"; subscriptions: number }
  | { type: "disconnected"; error?: Error };

export interface SubscribeOptions {
  /** null/undefined or "0-0": from the first event; "$": live only; an event id: strictly after it. */
  cursor?: string | null;
  /** Aborting ends the subscription (the handle is closed). */
  signal?: AbortSignal;
}

export interface CallOptions { signal?: AbortSignal }

/** Creates a client; it connects on first use (or call `connect()` to do it now). */
export function createClient(options: ClientOptions): RealtimeAgentsClient {
  return new RealtimeAgentsClient(options);
}

/**
 * One connection to a RealtimeAgents hub. Every subscription remembers the last event it
 * delivered; after an automatic reconnect, or when the server ends a subscription early, the
 * client subscribes again from there and drops anything it already delivered, so readers never
 * see a gap or a repeat.
 */
export class RealtimeAgentsClient {
  /** The underlying SignalR connection. */
  readonly connection: HubConnection;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly watches = new Set<ThreadWatch>();
  private readonly listeners = new Set<(ev: ConnectionEvent) => void>();
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly unavailableDelays: number[];
  private readonly protocol: LazyMessagePackProtocol | undefined;
  private limits: Promise<HubLimits> | undefined;
  private readonly url: string;

  constructor(options: ClientOptions) {
    this.url = options.url;
    this.unavailableDelays = options.unavailableRetryDelaysMs ?? [250, 500, 1000, 2000, 4000];
    const delays = options.reconnectDelaysMs ?? [0, 250, 1000, 2000, 5000, 10000];
    const retry: IRetryPolicy = {
      nextRetryDelayInMilliseconds: ({ previousRetryCount }) =>
        this.closed || (options.giveUpAfterDelays && previousRetryCount >= delays.length)
          ? null
          : delays[Math.min(previousRetryCount, delays.length - 1)] ?? 1000,
    };
    const builder = new HubConnectionBuilder()
      .withUrl(options.url, {
        // A direct WebSocket needs no /negotiate round trip and no sticky sessions.
        skipNegotiation: true,
        transport: HttpTransportType.WebSockets,
        accessTokenFactory: options.accessTokenFactory,
        ...options.connectionOptions,
      })
      .withAutomaticReconnect(retry)
      .configureLogging(options.logger ?? LogLevel.Warning);
    if (options.protocol === "msgpack") {
      this.protocol = new LazyMessagePackProtocol();
      builder.withHubProtocol(this.protocol);
    } else if (options.protocol !== undefined && options.protocol !== "json") {
      throw new TypeError(`Unknown protocol '${String(options.protocol)}': use "json" or "msgpack".`);
    }
    this.connection = builder.build();

    this.connection.on(HubMethods.event, (ev: AgentEvent) => this.subscriptions.get(ev.taskId)?.accept(ev));
    this.connection.on(HubMethods.subscriptionEnded, (ended: SubscriptionEnded) => {
      const sub = this.subscriptions.get(ended.taskId);
      if (sub) void this.resubscribe(sub, ended.cursor);
    });
    this.connection.on(HubMethods.threadTask, (notice: ThreadTaskNotice) => {
      for (const w of this.watches) w.accept(notice);
    });
    this.connection.on(HubMethods.threadEnded, (ended: ThreadWatchEnded) => {
      for (const w of [...this.watches]) {
        if (w.threadId === ended.threadId) w.fail(new Error(`The server stopped watching thread '${ended.threadId}': ${ended.reason}.`));
      }
    });
    this.connection.onreconnecting((error) => this.emit({ type: "reconnecting", error }));
    this.connection.onreconnected(() => void this.resumeAll());
    this.connection.onclose((error) => {
      this.starting = undefined;
      // The server may close a connection outright (a stalled client cut off): SignalR does not
      // reconnect after that by itself. Unless the caller closed us or asked to give up, start
      // again and resume every subscription from its cursor.
      if (!this.closed && !options.giveUpAfterDelays && this.subscriptions.size > 0) {
        this.emit({ type: "reconnecting", error });
        void this.restartAfterClose(delays);
        return;
      }
      const reason = new ConnectionClosedError(
        error ? `The connection to the hub closed: ${error.message}` : undefined, { cause: error });
      for (const sub of [...this.subscriptions.values()]) sub.fail(reason);
      for (const w of [...this.watches]) w.fail(reason);
      this.emit({ type: "disconnected", error });
    });
  }

  /** The connection's state as a UI would name it. */
  get state(): ConnectionState {
    switch (this.connection.state) {
      case HubConnectionState.Connected: return "connected";
      case HubConnectionState.Reconnecting: return "reconnecting";
      case HubConnectionState.Connecting: return "connecting";
      default: return this.starting ? "connecting" : "disconnected";
    }
  }

  /** Calls `listener` on connected / reconnecting / resumed / disconnected; returns an unsubscribe function. */
  onConnectionChange(listener: (ev: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects now (operations connect on their own when needed). */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosedError("The client is closed."));
    if (this.connection.state === HubConnectionState.Connected) return Promise.resolve();
    // While reconnecting, wait for it rather than starting a second connection.
    if (this.connection.state === HubConnectionState.Reconnecting) return this.whenReconnected();
    this.starting ??= (this.protocol ? this.protocol.load() : Promise.resolve()).then(() => this.connection.start()).then(
      () => this.emit({ type: "connected" }),
      async (error) => {
        this.starting = undefined;
        throw new ConnectionClosedError(`Could not connect to the hub at ${this.url}: ${await unreachable(this.url) ?? (error as Error)?.message ?? error}`, { cause: error });
      });
    return this.starting;
  }

  /** Submits a task and subscribes to its events from the start. */
  async submit(request: SubmitTaskRequest, options: CallOptions = {}): Promise<TaskHandle & { readonly threadId: string }> {
    await this.checkSize("Input", request.input, request.options, () => request, options.signal);
    // A retry after "unavailable" must not create a second task: give the request an idempotency key.
    const keyed = request.idempotencyKey || this.unavailableDelays.length === 0
      ? request
      : { ...request, idempotencyKey: globalThis.crypto.randomUUID() };
    const accepted = await this.invoke<SubmitTaskResult>(options.signal, HubMethods.submitTask, keyed);
    // The server named the thread, so this handle's threadId is known from the start.
    return this.open(accepted.taskId, { signal: options.signal }, accepted.threadId) as TaskHandle & { readonly threadId: string };
  }

  /**
   * Subscribes to a task's events. The handle buffers what it received, so several readers
   * (events(), text()) each see the whole stream from the cursor.
   */
  subscribe(taskId: string, options: SubscribeOptions = {}): TaskHandle {
    return this.open(taskId, options, undefined);
  }

  private open(taskId: string, options: SubscribeOptions, threadId: string | undefined): TaskHandle {
    const cursor = options.cursor ?? undefined;
    const fromStart = cursor === undefined || cursor === Cursors.start;
    let sub = this.subscriptions.get(taskId);
    if (!sub || sub.done || !(fromStart && sub.fromStart)) {
      // The server keeps one subscription per task and connection: a new one replaces the old.
      sub?.fail(new Error(`A newer subscription to task '${taskId}' replaced this one.`));
      sub = new Subscription(taskId, threadId, cursor, () => this.forget(sub!));
      this.subscriptions.set(taskId, sub);
      void this.resubscribe(sub);
    }
    const handle = new TaskHandle(this, sub, threadId);
    if (options.signal) {
      if (options.signal.aborted) handle.close();
      else options.signal.addEventListener("abort", () => handle.close(), { once: true });
    }
    return handle;
  }

  /** Interrupts a task: it ends with task.cancelled. */
  async interrupt(taskId: string, reason?: string, options: CallOptions = {}): Promise<void> {
    await this.invoke<void>(options.signal, HubMethods.interrupt, taskId, reason ?? null);
  }

  /**
   * Answers a tool call the task waits on (a tool.approval event with status "pending"):
   * approved, the tool runs; denied, the agent goes on without it. A second answer to the same
   * call is refused with code "conflict".
   */
  respondToApproval(taskId: string, toolCallId: string, approved: boolean,
    options: CallOptions & { reason?: string } = {}): Promise<ApprovalAnswerResult> {
    return this.invoke<ApprovalAnswerResult>(options.signal, HubMethods.respondToApproval, taskId, toolCallId, approved,
      options.reason ?? null);
  }

  /**
   * Sends a user message into a thread. With a task running, `policy` decides: interrupt it and
   * start a new one (default), enqueue after it, reject, or inject into it (it appears as user.message).
   */
  async sendMessage(threadId: string, text: string, options: CallOptions & { policy?: MessagePolicy } = {}): Promise<SendMessageResult> {
    const policy = options.policy ?? "interrupt";
    await this.checkSize("Message", text, undefined, () => [threadId, text, policy], options.signal);
    return this.invoke<SendMessageResult>(options.signal, HubMethods.sendMessage, threadId, text, policy);
  }

  /** What the server accepts (asked once, the first time a large input is sent). */
  getLimits(options: CallOptions = {}): Promise<HubLimits> {
    this.limits ??= this.invoke<HubLimits>(options.signal, HubMethods.getLimits).catch((error) => {
      this.limits = undefined;
      throw error;
    });
    return this.limits;
  }

  /**
   * Refuses, before sending, an input the server would refuse, and above all a message over the
   * server's message limit: sent, that one would make the server close the connection, and every
   * subscription on it with it. The error is the one the server would give.
   */
  private async checkSize(what: string, text: string, agentOptions: unknown, payload: () => unknown, signal?: AbortSignal): Promise<void> {
    // Below this no limit of the server can be reached (it takes messages of twice its input
    // limit plus 16 KiB; even escaped six-fold this stays under 16 KiB): no need to ask.
    const small = 2 * 1024;
    if (typeof text !== "string" || (text.length <= small / 3 && agentOptions === undefined)) return;
    const textBytes = utf8.encode(text).length;
    const optionsBytes = agentOptions === undefined || agentOptions === null ? 0 : utf8.encode(JSON.stringify(agentOptions)).length;
    if (textBytes <= small && optionsBytes <= small) return;
    const limits = await this.getLimits({ signal });
    if (textBytes > limits.maxInputBytes) {
      throw new RealtimeAgentsError("limit_exceeded", `limit_exceeded: ${what} is ${textBytes} bytes; the limit is ${limits.maxInputBytes} bytes.`);
    }
    if (optionsBytes > limits.maxOptionsBytes) {
      throw new RealtimeAgentsError("limit_exceeded", `limit_exceeded: Options are larger than ${limits.maxOptionsBytes} bytes.`);
    }
    // The JSON size bounds the MessagePack one (strings travel unescaped there); the envelope adds a few dozen bytes.
    const size = utf8.encode(JSON.stringify(payload())).length + 64;
    if (size > limits.maxMessageBytes) {
      throw new RealtimeAgentsError("limit_exceeded",
        `limit_exceeded: The message is ${size} bytes; the server takes at most ${limits.maxMessageBytes} bytes in one message.`);
    }
  }

  /** A task's metadata. */
  getTask(taskId: string, options: CallOptions = {}): Promise<TaskInfo> {
    return this.invoke<TaskInfo>(options.signal, HubMethods.getTask, taskId);
  }

  /** The thread's tasks so far, then each new one, as an async iterable. */
  watchThread(threadId: string, options: CallOptions = {}): ThreadWatch {
    const watch = new ThreadWatch(threadId, () => {
      this.watches.delete(watch);
      // The server holds one watch per thread and connection: release it with the last local one.
      if (!this.closed && ![...this.watches].some((w) => w.threadId === threadId)) {
        void this.invoke<void>(undefined, HubMethods.unsubscribeThread, threadId).catch(() => { /* gone with the connection */ });
      }
    }, options.signal);
    this.watches.add(watch);
    void this.invoke<ThreadInfo>(undefined, HubMethods.subscribeThread, threadId).then(
      (info) => watch.load(info), (error) => watch.fail(error as Error));
    return watch;
  }

  /** Ends every subscription and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const sub of [...this.subscriptions.values()]) sub.end();
    for (const w of [...this.watches]) w.end();
    await this.connection.stop();
  }

  /** @internal Invokes a hub method once connected; refusals become RealtimeAgentsError. */
  async invoke<T>(signal: AbortSignal | undefined, method: string, ...args: unknown[]): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      await abortable(this.connect(), signal);
      try {
        return await abortable(this.connection.invoke<T>(method, ...args), signal);
      } catch (error) {
        const refusal = fromInvocationError(error);
        // A store the hub needs is down: nothing was done, so the call can be made again.
        if (refusal instanceof RealtimeAgentsError && refusal.code === "unavailable" &&
            method !== HubMethods.sendMessage && attempt < this.unavailableDelays.length && !this.closed) {
          await abortable(new Promise((resolve) => setTimeout(resolve, this.unavailableDelays[attempt])), signal);
          continue;
        }
        throw refusal;
      }
    }
  }

  /** @internal Stops a subscription on the server (its last handle was closed). */
  unsubscribe(sub: Subscription): void {
    sub.end();
    if (this.connection.state === HubConnectionState.Connected) {
      this.connection.invoke(HubMethods.unsubscribe, sub.taskId).catch(() => { /* gone with the connection */ });
    }
  }

  private forget(sub: Subscription): void {
    if (this.subscriptions.get(sub.taskId) === sub) this.subscriptions.delete(sub.taskId);
  }

  /** (Re)subscribes from what the subscription delivered last. */
  private async resubscribe(sub: Subscription, serverCursor?: string): Promise<void> {
    const cursor = sub.resumeCursor ?? serverCursor ?? null;
    // A resume holds what arrives until its result says whether it follows on from the cursor.
    if (sub.resumes >= 0) sub.hold();
    try {
      const result = await this.invoke<SubscribeResult>(undefined, HubMethods.subscribe, sub.taskId, cursor);
      sub.subscribed(result, cursor);
    } catch (error) {
      if (sub.resumes >= 0) sub.unhold();
      // A call cut off by a dropped connection (or one a stopping node closed right after the
      // reconnect) is repeated by resumeAll once it is back.
      if (!this.closed && this.connection.state !== HubConnectionState.Connected) return;
      sub.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async restartAfterClose(delays: number[]): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await new Promise((r) => setTimeout(r, Math.max(100, delays[Math.min(attempt, delays.length - 1)] ?? 1000)));
      if (this.closed) return;
      try {
        await this.connect();
        await this.resumeAll();
        return;
      } catch {
        // Not reachable yet; try again after the next delay.
      }
    }
  }

  private async resumeAll(): Promise<void> {
    const subs = [...this.subscriptions.values()].filter((s) => !s.done);
    const watches = [...this.watches];
    await Promise.all([
      ...subs.map((s) => this.resubscribe(s)),
      ...watches.map((w) => this.invoke<ThreadInfo>(undefined, HubMethods.subscribeThread, w.threadId).then(
        (info) => w.load(info), (error) => w.fail(error as Error))),
    ]);
    this.emit({ type: "resumed", subscriptions: subs.length });
  }

  private whenReconnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const off = this.onConnectionChange((ev) => {
        if (ev.type === "resumed") { off(); resolve(); }
        if (ev.type === "disconnected") { off(); reject(new ConnectionClosedError(undefined, { cause: ev.error })); }
      });
    });
  }

  private emit(ev: ConnectionEvent): void {
    for (const listener of [...this.listeners]) {
      try { listener(ev); } catch { /* a listener's bug is not the connection's */ }
    }
  }
}


const utf8 = new TextEncoder();

/**
 * The MessagePack hub protocol, imported on first connect. The HubConnection is built at once (it
 * only reads the name, version and format before it starts); the module comes in with a dynamic
 * import, so bundlers split it off and a JSON app never loads it.
 */
class LazyMessagePackProtocol implements IHubProtocol {
  readonly name = "messagepack";
  readonly version = 2;
  readonly transferFormat = TransferFormat.Binary;
  private inner: IHubProtocol | undefined;
  private loading: Promise<void> | undefined;

  load(): Promise<void> {
    this.loading ??= import("@microsoft/signalr-protocol-msgpack").then(
      (m) => { this.inner = new m.MessagePackHubProtocol(); },
      (error) => {
        this.loading = undefined;
        throw new Error(`protocol "msgpack" needs the package @microsoft/signalr-protocol-msgpack: ${(error as Error)?.message ?? error}`, { cause: error });
      });
    return this.loading;
  }

  private get loaded(): IHubProtocol {
    if (!this.inner) throw new Error("The MessagePack protocol is not loaded yet.");
    return this.inner;
  }

  parseMessages(input: string | ArrayBuffer, logger: ILogger): HubMessage[] { return this.loaded.parseMessages(input, logger); }

  writeMessage(message: HubMessage): string | ArrayBuffer {
    // HubConnection encodes its ping once, when it is built: that one frame is written here
    // (length 2, then the array [6]), so nothing else needs the module before connecting.
    if (!this.inner && message.type === MessageType.Ping) return new Uint8Array([0x02, 0x91, 0x06]).buffer;
    return this.loaded.writeMessage(message);
  }
}

/**
 * A WebSocket that fails to open says nothing about why, and SignalR then guesses at sticky
 * sessions. One plain HTTP request tells a refused or unresolvable address apart from a server
 * that answered: the words for the first, undefined (keep SignalR's text) for the second.
 */
async function unreachable(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { method: "GET", signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } })?.cause;
    switch (cause?.code) {
      case "ECONNREFUSED": return "the connection was refused (is the server running, on this address and port?)";
      case "ENOTFOUND": case "EAI_AGAIN": return "the host name could not be resolved";
      case "ETIMEDOUT": case "UND_ERR_CONNECT_TIMEOUT": return "the connection timed out";
    }
    if ((error as Error)?.name === "TimeoutError") return "the server did not answer within 3 s";
    // Browsers hide the reason ("Failed to fetch"): the server is down, or blocked by CORS or a proxy.
    return error instanceof TypeError ? "the server could not be reached (is it running?)" : undefined;
  }
}
