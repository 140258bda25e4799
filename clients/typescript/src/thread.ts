import type { TaskState, ThreadInfo, ThreadTaskNotice } from "./contracts.js";
import { Replay } from "./signal.js";

/** A task of a watched thread. */
export interface ThreadTask { threadId: string; taskId: string; agent: string; status: TaskState; input: string }

/**
 * The tasks of a thread: those it had when watching began, oldest first, then each new one,
 * each once (a reconnect loads the thread again and adds only what is new).
 */
export class ThreadWatch implements AsyncIterable<ThreadTask> {
  private readonly tasks = new Replay<ThreadTask>();
  private readonly seen = new Set<string>();
  private info: ThreadInfo | undefined;
  private readonly loaded: Promise<ThreadInfo>;
  private resolveLoaded!: (info: ThreadInfo) => void;
  private rejectLoaded!: (error: Error) => void;

  /** @internal */
  constructor(readonly threadId: string, private readonly onDone: () => void, private readonly signal?: AbortSignal) {
    this.loaded = new Promise((resolve, reject) => { this.resolveLoaded = resolve; this.rejectLoaded = reject; });
    this.loaded.catch(() => { /* reported to readers too */ });
    signal?.addEventListener("abort", () => this.end(), { once: true });
  }

  /** The thread as first loaded (agent and tasks so far). */
  ready(): Promise<ThreadInfo> { return this.loaded; }

  [Symbol.asyncIterator](): AsyncIterator<ThreadTask> { return this.tasks.read(this.signal); }

  /** Stops watching. */
  close(): void { this.end(); }

  /** @internal */
  load(info: ThreadInfo): void {
    if (!this.info) { this.info = info; this.resolveLoaded(info); }
    for (const t of info.tasks) this.accept(t);
  }

  /** @internal */
  accept(task: ThreadTaskNotice): void {
    if (task.threadId !== this.threadId || this.tasks.done || this.seen.has(task.taskId)) return;
    this.seen.add(task.taskId);
    const { threadId, taskId, agent, status, input } = task;
    this.tasks.push({ threadId, taskId, agent, status, input });
  }

  /** @internal */
  fail(error: Error): void {
    this.rejectLoaded(error);
    this.tasks.end(error);
    this.onDone();
  }

  /** @internal */
  end(): void {
    this.rejectLoaded(new Error("The watch ended."));
    this.tasks.end();
    this.onDone();
  }
}
