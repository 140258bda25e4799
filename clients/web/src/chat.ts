import {
  RealtimeAgentsError,
  SubscriptionLostError,
  type Json,
  type MessagePolicy,
  type RealtimeAgentsClient,
  type TaskHandle,
  type TaskState,
  type ThreadWatch,
} from "@realtime-agents/client";
import { h } from "./dom.js";
import { ApprovalCards } from "./approvals.js";
import { NotSentError, ThreadGoneError } from "./errors.js";
import { routeToTask } from "./routing.js";
import type { ScrollFollower } from "./scroll.js";
import { phaseChip, TurnView, type TurnPhase } from "./turn.js";

/** The parts of the page the chat draws in. */
export interface ChatElements {
  log: HTMLElement;
  intro: HTMLElement;
  taskList: HTMLOListElement;
  tasksNav: HTMLElement;
  tasksToggle: HTMLButtonElement;
  /** Says each phase of the newest turn to screen readers. */
  announcer: HTMLElement;
}

/** What the chat needs from around it. */
export interface ChatHost {
  client: RealtimeAgentsClient;
  /** The agent a new chat asks, and its options. */
  agent: { agent: string; options: Record<string, Json> };
  elements: ChatElements;
  follower: ScrollFollower;
  /** Shows an error (kind: when it goes stale, see ErrorBox). */
  report(error: unknown, kind?: string): void;
  /** A turn started or ended, or the thread changed. */
  changed(): void;
}

const announced: Partial<Record<TurnPhase, string>> = {
  thinking: "Thinking", acting: "Calling a tool", writing: "Writing the answer", done: "Answer complete",
  stopped: "Stopped", failed: "The task failed",
};

/**
 * The chat: one thread at a time. Each task of the thread is a turn that subscribes to the task's
 * events from the first one, so opening a link to a task (#/task/<id>) or reloading the page
 * mid-answer redraws the whole conversation and continues live; the SDK resumes every
 * subscription after a network drop. The sidebar lists the thread's tasks, each with its link.
 */
export class Chat {
  threadId: string | undefined;
  private readonly turns = new Map<string, TurnView>();
  private readonly links = new Map<string, HTMLAnchorElement>();
  private scope = new AbortController();
  private watch: ThreadWatch | undefined;
  private lastAnnounced: TurnPhase | undefined;
  /** The task a link or a reload asked for: scrolled to and highlighted once it is drawn. */
  private pendingFocus: string | undefined;
  private readonly client: RealtimeAgentsClient;
  private readonly el: ChatElements;

  constructor(private readonly host: ChatHost) {
    this.client = host.client;
    this.el = host.elements;
    const { tasksNav, tasksToggle, taskList } = this.el;
    tasksToggle.addEventListener("click", () => {
      const open = tasksNav.classList.toggle("open");
      tasksToggle.setAttribute("aria-expanded", String(open));
    });
    taskList.addEventListener("click", (e) => {
      if ((e.target as Element).closest("a")) {
        tasksNav.classList.remove("open");
        tasksToggle.setAttribute("aria-expanded", "false");
      }
    });
  }

  /** The turn still running, the newest first. */
  get active(): TurnView | undefined {
    return [...this.turns.values()].reverse().find((t) => t.running);
  }

  /** Clears the view (and stops its subscriptions) for another thread or a new chat. */
  reset(): void {
    this.scope.abort();
    this.scope = new AbortController();
    this.watch = undefined;
    this.threadId = undefined;
    this.turns.clear();
    this.links.clear();
    this.pendingFocus = undefined;
    for (const el of [...this.el.log.querySelectorAll(".turn")]) el.remove();
    this.el.taskList.replaceChildren();
    this.el.intro.hidden = false;
    this.update();
  }

  async openTask(taskId: string): Promise<void> {
    if (this.turns.has(taskId)) { this.pendingFocus = undefined; this.focus(taskId); return; }
    this.reset();
    try {
      const task = await this.client.getTask(taskId, { signal: this.scope.signal });
      this.openThread(task.threadId, taskId);
    } catch (error) {
      if (error instanceof RealtimeAgentsError && error.code === "not_found") {
        this.host.report(new Error("This task is no longer on the server (it expired, or the server restarted)."), "gone");
      } else {
        this.host.report(error);
      }
    }
  }

  /** Shows a thread: its tasks so far, each replayed, and every new one as it is created. */
  openThread(threadId: string, focusTaskId?: string): void {
    if (this.threadId !== threadId) this.reset();
    this.threadId = threadId;
    if (this.watch) return;
    const watch = this.client.watchThread(threadId, { signal: this.scope.signal });
    this.watch = watch;
    const { signal } = this.scope;
    (async () => {
      for await (const task of watch) this.addTurn(task.taskId, task.input, task.status);
    })().catch((error) => { if (!signal.aborted) this.host.report(error); });
    if (focusTaskId) {
      this.pendingFocus = focusTaskId;
      void watch.ready().then(() => this.settleFocus(focusTaskId), () => { });
    }
  }

  /** Adds a task's turn (once) and draws its events as they come. */
  addTurn(taskId: string, text: string, status: TaskState, handle?: TaskHandle): TurnView {
    const existing = this.turns.get(taskId);
    if (existing) return existing;
    this.el.intro.hidden = true;
    const turn = new TurnView(taskId, text, status, (t) => this.changed(t));
    this.turns.set(taskId, turn);
    this.el.log.append(turn.el);
    const link = h("a", { href: `#/task/${taskId}` }, h("span", { class: "task-input" }, text), h("span", { class: "chip" }));
    this.links.set(taskId, link);
    this.el.taskList.append(h("li", {}, link));
    this.changed(turn);

    const { signal } = this.scope;
    const events = handle ?? this.client.subscribe(taskId, { signal });
    const approvals = new ApprovalCards(this.client, taskId, turn.el);
    (async () => {
      for await (const ev of events.events({ signal })) {
        turn.apply(ev);
        approvals.apply(ev);
        // A link being landed on is not pulled away from.
        if (!this.pendingFocus) this.host.follower.follow();
      }
    })().catch((error) => {
      if (signal.aborted) return;
      if (error instanceof RealtimeAgentsError && error.code === "unauthenticated") this.host.report(error);
      turn.fail(error instanceof SubscriptionLostError
        ? "part of this task is no longer kept by the server"
        : error instanceof Error ? error.message : String(error));
    });
    return turn;
  }

  /**
   * Sends a message: a new chat's first becomes a task of a new thread; later ones go to the
   * thread, where `policy` says what happens while a task runs. Throws NotSentError or
   * ThreadGoneError when it was not sent.
   */
  async send(text: string, policy: MessagePolicy): Promise<void> {
    // Waiting for a connection that is down would leave the message in limbo: say so at once.
    if (this.client.state === "reconnecting" || !navigator.onLine) throw new NotSentError(navigator.onLine
      ? "The connection to the server is down (it may be restarting)."
      : "This device is offline.");
    if (!this.threadId) {
      const { agent, options } = this.host.agent;
      const handle = await this.client.submit({ agent, input: text, options });
      this.threadId = handle.threadId;
      this.addTurn(handle.taskId, text, "queued", handle);
      this.route(handle.taskId);
      this.openThread(handle.threadId!);
      this.host.follower.toBottom();
      return;
    }
    let result;
    try {
      result = await this.client.sendMessage(this.threadId, text, { policy });
    } catch (error) {
      if (error instanceof RealtimeAgentsError && error.code === "not_found") {
        throw new ThreadGoneError();
      }
      throw error;
    }
    if (result.outcome !== "injected") {
      this.addTurn(result.taskId, text, result.outcome === "queued" ? "pending" : "queued");
      this.route(result.taskId);
    }
    this.host.follower.toBottom();
  }

  async stop(): Promise<void> {
    const turns = [...this.turns.values()].filter((t) => t.running);
    await Promise.all(turns.map((t) => this.client.interrupt(t.taskId, "stopped by the user")));
  }

  focus(taskId: string): void {
    const turn = this.turns.get(taskId);
    if (!turn) return;
    this.markCurrent(taskId);
    for (const t of this.turns.values()) t.el.classList.toggle("linked", t === turn);
    // A live task at the end of the thread is followed as it writes; any other is shown from its top.
    if (turn.running && turn === [...this.turns.values()].at(-1)) this.host.follower.toBottom();
    else turn.el.scrollIntoView({ block: "start" });
    turn.el.classList.add("flash");
    setTimeout(() => turn.el.classList.remove("flash"), 1600);
  }

  /** Points the address and the sidebar at a task. */
  private route(taskId: string): void {
    routeToTask(taskId);
    this.markCurrent(taskId);
  }

  private markCurrent(taskId: string): void {
    for (const [id, link] of this.links) link.toggleAttribute("aria-current", id === taskId);
  }

  /**
   * A link or a reload lands on its task even while the turns above it are still replaying and
   * growing: it is scrolled to as soon as it is drawn and again while the page settles, unless
   * the reader scrolls first.
   */
  private settleFocus(taskId: string): void {
    let tries = 0;
    const scope = this.scope;
    const tick = () => {
      if (scope.signal.aborted || this.pendingFocus !== taskId) return;
      if (this.turns.has(taskId)) this.focus(taskId);
      if (++tries < 8) setTimeout(tick, 120);
      else this.pendingFocus = undefined;
    };
    const stop = () => { if (this.pendingFocus === taskId) this.pendingFocus = undefined; };
    for (const type of ["wheel", "touchmove", "keydown"]) addEventListener(type, stop, { once: true, passive: true });
    tick();
  }

  private changed(turn: TurnView): void {
    const chip = this.links.get(turn.taskId)?.querySelector(".chip");
    if (chip) { chip.textContent = phaseChip[turn.phase]; chip.setAttribute("data-phase", turn.phase); }
    if (turn === [...this.turns.values()].at(-1) && turn.phase !== this.lastAnnounced && announced[turn.phase]) {
      this.lastAnnounced = turn.phase;
      this.el.announcer.textContent = announced[turn.phase]!;
    }
    this.update();
  }

  private update(): void {
    this.el.tasksToggle.hidden = this.turns.size === 0;
    this.host.changed();
  }
}
