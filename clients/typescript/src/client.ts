import {
  HttpTransportType,
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  LogLevel,
  type ILogger,
  type IRetryPolicy,
} from "@microsoft/signalr";
import {
  Cursors,
  HubMethods,
  type MessagePolicy,
  type SendMessageResult,
  type SubmitTaskRequest,
  type SubmitTaskResult,
  type SubscribeResult,
  type SubscriptionEnded,
  type TaskInfo,
  type ThreadInfo,
  type ThreadTaskNotice,
  type AgentEvent,
  type ApprovalAnswerResult,
} from "./contracts.js";
import { ConnectionClosedError, fromInvocationError } from "./errors.js";
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

  constructor(options: ClientOptions) {
    const delays = options.reconnectDelaysMs ?? [0, 250, 1000, 2000, 5000, 10000];
    const retry: IRetryPolicy = {
      nextRetryDelayInMilliseconds: ({ previousRetryCount }) =>
        this.closed || (options.giveUpAfterDelays && previousRetryCount >= delays.length)
          ? null
          : delays[Math.min(previousRetryCount, delays.length - 1)] ?? 1000,
    };
    this.connection = new HubConnectionBuilder()
      .withUrl(options.url, {
        // A direct WebSocket needs no /negotiate round trip and no sticky sessions.
        skipNegotiation: true,
        transport: HttpTransportType.WebSockets,
        accessTokenFactory: options.accessTokenFactory,
      })
      .withAutomaticReconnect(retry)
      .configureLogging(options.logger ?? LogLevel.Warning)
      .build();

    this.connection.on(HubMethods.event, (ev: AgentEvent) => this.subscriptions.get(ev.taskId)?.accept(ev));
    this.connection.on(HubMethods.subscriptionEnded, (ended: SubscriptionEnded) => {
      const sub = this.subscriptions.get(ended.taskId);
      if (sub) void this.resubscribe(sub, ended.cursor);
    });
    this.connection.on(HubMethods.threadTask, (notice: ThreadTaskNotice) => {
      for (const w of this.watches) w.accept(notice);
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
    this.starting ??= this.connection.start().then(
      () => this.emit({ type: "connected" }),
      (error) => {
        this.starting = undefined;
        throw new ConnectionClosedError(`Could not connect to the hub: ${(error as Error)?.message ?? error}`, { cause: error });
      });
    return this.starting;
  }

  /** Submits a task and subscribes to its events from the start. */
  async submit(request: SubmitTaskRequest, options: CallOptions = {}): Promise<TaskHandle> {
    const accepted = await this.invoke<SubmitTaskResult>(options.signal, HubMethods.submitTask, request);
    return this.open(accepted.taskId, { signal: options.signal }, accepted.threadId);
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
  sendMessage(threadId: string, text: string, options: CallOptions & { policy?: MessagePolicy } = {}): Promise<SendMessageResult> {
    return this.invoke<SendMessageResult>(options.signal, HubMethods.sendMessage, threadId, text, options.policy ?? "interrupt");
  }

  /** A task's metadata. */
  getTask(taskId: string, options: CallOptions = {}): Promise<TaskInfo> {
    return this.invoke<TaskInfo>(options.signal, HubMethods.getTask, taskId);
  }

  /** The thread's tasks so far, then each new one, as an async iterable. */
  watchThread(threadId: string, options: CallOptions = {}): ThreadWatch {
    const watch = new ThreadWatch(threadId, () => this.watches.delete(watch), options.signal);
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
    signal?.throwIfAborted();
    await abortable(this.connect(), signal);
    try {
      return await abortable(this.connection.invoke<T>(method, ...args), signal);
    } catch (error) {
      throw fromInvocationError(error);
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
    try {
      const result = await this.invoke<SubscribeResult>(undefined, HubMethods.subscribe, sub.taskId, cursor);
      sub.subscribed(result, cursor);
    } catch (error) {
      // A call cut off by a dropped connection is repeated by resumeAll once it is back.
      if (this.connection.state === HubConnectionState.Reconnecting) return;
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

