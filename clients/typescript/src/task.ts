import { Cursors, isTerminal, type AgentEvent, type ApprovalAnswerResult, type SubscribeResult, type TaskState, type ToolApprovalData } from "./contracts.js";
import { SubscriptionLostError, TaskCancelledError, TaskFailedError } from "./errors.js";
import { Replay } from "./signal.js";
import type { RealtimeAgentsClient } from "./client.js";

/**
 * @internal One task's subscription on the connection: the events it delivered, in seq order,
 * each once. It remembers the last delivered event so a resume continues right after it.
 */
export class Subscription {
  readonly events = new Replay<AgentEvent>();
  readonly fromStart: boolean;
  threadId: string | undefined;
  lastSeq = 0;
  lastId: string | undefined;
  result: SubscribeResult | undefined;
  /** Subscribe calls after the first one (reconnects and early ends). */
  resumes = -1;
  /** Open handles sharing this subscription. */
  handles = 0;
  private confirmedCursor: string | undefined;
  /** Events that arrived while a resume was pending, and how many resumes are pending. */
  private held: AgentEvent[] = [];
  private pending = 0;
  private readonly readyWaiters: { resolve: (r: SubscribeResult) => void; reject: (e: Error) => void }[] = [];

  constructor(readonly taskId: string, threadId: string | undefined, readonly cursor: string | undefined,
    private readonly onDone: () => void) {
    this.threadId = threadId;
    this.fromStart = cursor === undefined || cursor === Cursors.start;
  }

  get done(): boolean { return this.events.done; }

  /** Where a resume continues: after the last delivered event, else where the server said we were. */
  get resumeCursor(): string | undefined { return this.lastId ?? this.confirmedCursor ?? this.cursor; }

  /** A resume is under way: hold what arrives until its result says whether it follows on. */
  hold(): void { this.pending++; }

  /** A resume call failed (the connection dropped): drop what it held; the next resume replays it. */
  unhold(): void {
    if (this.pending > 0 && --this.pending === 0) this.held = [];
  }

  accept(ev: AgentEvent): void {
    if (this.pending > 0) {
      if (!this.done) this.held.push(ev);
      return;
    }
    this.deliver(ev);
  }

  private deliver(ev: AgentEvent): void {
    // A resume replays from the cursor; anything at or before what was delivered is a repeat.
    if (this.done || ev.seq <= this.lastSeq) return;
    this.lastSeq = ev.seq;
    this.lastId = ev.id;
    this.threadId ??= ev.threadId;
    this.events.push(ev);
    if (isTerminal(ev)) this.finish();
  }

  subscribed(result: SubscribeResult, cursorSent: string | null): void {
    this.result = result;
    this.resumes++;
    if (this.pending > 0) this.pending--;
    if (!this.done) {
      if (!result.recovered) {
        // What came meanwhile does not follow on from the cursor: a reader would see a jump in seq.
        this.held = [];
        this.fail(new SubscriptionLostError(this.taskId, cursorSent ?? undefined, result.cursor));
        return;
      }
      this.confirmedCursor ??= result.cursor;
      if (this.pending === 0) for (const ev of this.held.splice(0)) this.deliver(ev);
    }
    // The events, even the terminal one, may arrive before the call's result: whoever waits for
    // ready() still gets it.
    for (const w of this.readyWaiters.splice(0)) w.resolve(result);
  }

  ready(): Promise<SubscribeResult> {
    if (this.result) return Promise.resolve(this.result);
    if (this.events.error) return Promise.reject(this.events.error);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  fail(error: Error): void {
    this.held = [];
    this.finish(error);
  }

  /** Ends without error (closed by its owner). */
  end(): void { this.finish(); }

  private finish(error?: Error): void {
    if (this.done) return;
    this.events.end(error);
    for (const w of this.readyWaiters.splice(0)) {
      if (this.result) w.resolve(this.result);
      else w.reject(error ?? new Error("The subscription ended before the server confirmed it."));
    }
    this.onDone();
  }
}

export interface EventsOptions {
  /** Aborting ends this iteration with the signal's reason. */
  signal?: AbortSignal;
}

/** A task as its subscriber sees it: typed events, the assembled answer, interrupt. */
export class TaskHandle {
  private closed = false;

  /** @internal */
  constructor(private readonly client: RealtimeAgentsClient, private readonly sub: Subscription,
    private readonly knownThreadId?: string) {
    sub.handles++;
  }

  get taskId(): string { return this.sub.taskId; }

  /** The task's thread: known at once after submit, after the first event when subscribing by id. */
  get threadId(): string | undefined { return this.knownThreadId ?? this.sub.threadId; }

  /** The id of the last event received: a cursor to resume after it. */
  get cursor(): string | undefined { return this.sub.lastId; }

  /** The seq of the last event received. */
  get lastSeq(): number { return this.sub.lastSeq; }

  /** How many times the subscription was resumed after a reconnect or an early end. */
  get resumes(): number { return Math.max(0, this.sub.resumes); }

  /** True once the terminal event arrived or the subscription ended. */
  get done(): boolean { return this.sub.done; }

  /** Resolves once the server confirmed the subscription (its status, cursor and epoch). */
  ready(): Promise<SubscribeResult> { return this.sub.ready(); }

  /** The task's state at subscription time. */
  get status(): TaskState | undefined { return this.sub.result?.status; }

  /**
   * The task's events from the subscription's cursor through the terminal event, in seq order,
   * each once, across reconnects. Each call iterates from the first event again. Throws
   * SubscriptionLostError if the server could not replay what was missed.
   */
  events(options: EventsOptions = {}): AsyncIterableIterator<AgentEvent> {
    return this.sub.events.read(options.signal);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<AgentEvent> { return this.events(); }

  /**
   * The answer: task.completed's output, or the assistant's text deltas joined when the output
   * is empty. Rejects with TaskFailedError / TaskCancelledError (with the text so far).
   */
  async text(options: EventsOptions = {}): Promise<string> {
    const roles = new Map<string, string | undefined>();
    let text = "";
    for await (const ev of this.events(options)) {
      switch (ev.kind) {
        case "text.start": roles.set(ev.data.messageId, ev.data.role); break;
        case "text.delta":
          if ((roles.get(ev.data.messageId) ?? "assistant") === "assistant") text += ev.data.delta ?? "";
          break;
        case "task.completed": return ev.data.output || text;
        case "task.failed": throw new TaskFailedError(this.taskId, ev.data.code, ev.data.message, text);
        case "task.cancelled": throw new TaskCancelledError(this.taskId, ev.data.reason, text);
      }
    }
    return text;
  }

  /** Interrupts the task; it ends with task.cancelled (which the events then show). */
  interrupt(reason?: string, options: EventsOptions = {}): Promise<void> {
    return this.client.interrupt(this.taskId, reason, options);
  }

  /**
   * The tool calls that wait for approval, each once, as their pending tool.approval events
   * arrive (answered or not since): answer them with respondToApproval. Ends with the task.
   */
  async *approvals(options: EventsOptions = {}): AsyncIterableIterator<ToolApprovalData> {
    for await (const ev of this.events(options)) {
      if (ev.kind === "tool.approval" && ev.data.status === "pending") yield ev.data;
    }
  }

  /** Answers one of this task's pending tool calls (see approvals()). */
  respondToApproval(toolCallId: string, approved: boolean, options: EventsOptions & { reason?: string } = {}): Promise<ApprovalAnswerResult> {
    return this.client.respondToApproval(this.taskId, toolCallId, approved, options);
  }

  /** Stops receiving events; readers end after what they have. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (--this.sub.handles === 0 && !this.sub.done) this.client.unsubscribe(this.sub);
  }
}
