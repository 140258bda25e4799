import type { AgentEvent, TaskState } from "@realtime-agents/client";
import { formatDuration, h } from "./dom.js";
import { copyButton, renderMarkdown } from "./markdown.js";
import { ToolCard } from "./tools.js";

/** What a turn is doing, as the status line says it. */
export type TurnPhase = "queued" | "waiting" | "starting" | "thinking" | "acting" | "observing" | "writing"
  | "done" | "stopped" | "failed" | "lost";

const terminalPhases: ReadonlySet<TurnPhase> = new Set(["done", "stopped", "failed", "lost"]);

const phaseText: Record<TurnPhase, string> = {
  queued: "Queued",
  waiting: "Waiting for the running task",
  starting: "Starting",
  thinking: "Thinking",
  acting: "Calling a tool",
  observing: "Reading the results",
  writing: "Writing",
  done: "Done",
  stopped: "Stopped",
  failed: "Failed",
  lost: "Interrupted connection",
};

/** Short words for the sidebar chips, as a person would say them. */
export const phaseChip: Record<TurnPhase, string> = {
  queued: "Queued",
  waiting: "Waiting",
  starting: "Starting",
  thinking: "Thinking",
  acting: "Using a tool",
  observing: "Reading results",
  writing: "Writing",
  done: "Done",
  stopped: "Stopped",
  failed: "Failed",
  lost: "Connection lost",
};

interface TextView { raw: string; el: HTMLElement; role: string }

/**
 * One task in the conversation: the user's input, then the agent's work: its reasoning in a
 * collapsible "Thinking" section, each tool call as a compact card, and the answer as it streams,
 * drawn as Markdown, with a copy button. It is rebuilt from events alone, so replaying a task
 * from its first event draws the same turn.
 */
export class TurnView {
  readonly el: HTMLElement;
  phase: TurnPhase;
  private readonly statusEl: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly thinking: HTMLDetailsElement;
  private readonly thinkingBody: HTMLElement;
  private readonly toolsEl: HTMLElement;
  private readonly flow: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly metaText: HTMLElement;
  private readonly copy: HTMLButtonElement;
  private readonly texts = new Map<string, TextView>();
  private readonly reasoning = new Map<string, Text>();
  private readonly tools = new Map<string, ToolCard>();
  private readonly dirty = new Set<TextView>();
  private drawQueued = false;
  private label = "";

  constructor(readonly taskId: string, readonly input: string, status: TaskState,
    private readonly onChange: (turn: TurnView) => void) {
    this.phase = status === "pending" ? "waiting" : "queued";
    this.statusText = h("span", { class: "status-text" });
    this.statusEl = h("div", { class: "status" }, h("span", { class: "dot", "aria-hidden": "true" }), this.statusText);
    this.thinkingBody = h("div", { class: "thinking-body step-reasoning" });
    this.thinking = h("details", { class: "thinking", hidden: true },
      h("summary", {}, h("span", { class: "thinking-title" }, "Thinking")), this.thinkingBody);
    this.toolsEl = h("div", { class: "tools", hidden: true });
    this.flow = h("div", { class: "answer", "data-testid": "answer" });
    this.metaText = h("span", { class: "meta-text" });
    this.copy = copyButton(() => this.answerText, "Copy answer");
    this.copy.hidden = true;
    this.meta = h("div", { class: "meta" }, this.metaText, this.copy);
    this.el = h("article", { class: "turn", id: `task-${taskId}`, "data-task-id": taskId, "aria-label": `Task: ${input}` },
      h("div", { class: "msg user" }, h("p", {}, input)),
      h("div", { class: "msg agent" }, this.statusEl, this.thinking, this.toolsEl, this.flow, this.meta));
    this.render();
  }

  get running(): boolean { return !terminalPhases.has(this.phase); }

  /** The assistant's text as written (Markdown source), paragraphs joined like the agent's output. */
  get answerText(): string {
    return [...this.texts.values()].filter((t) => t.role === "assistant").map((t) => t.raw.trim())
      .filter(Boolean).join("\n\n");
  }

  /** The subscription failed: say so instead of leaving a spinner. */
  fail(message: string): void {
    if (!this.running) return;
    this.set("lost", message);
  }

  apply(ev: AgentEvent): void {
    switch (ev.kind) {
      case "task.started":
        this.set("starting", ev.data.attempt > 1 ? `attempt ${ev.data.attempt}` : "");
        break;
      case "status": {
        const p = ev.data.phase;
        const phase: TurnPhase = p === "running" ? "starting" : p;
        this.set(phase, ev.data.label ?? "");
        break;
      }
      case "reasoning.start": {
        const node = document.createTextNode("");
        this.reasoning.set(ev.data.messageId, node);
        this.thinkingBody.append(h("p", {}, node));
        this.thinking.hidden = false;
        this.thinking.dataset.state = "running";
        if (this.phase !== "thinking") this.set("thinking", this.label);
        break;
      }
      case "reasoning.delta":
        this.reasoning.get(ev.data.messageId)?.appendData(ev.data.delta ?? "");
        break;
      case "reasoning.end":
        this.thinking.dataset.state = "done";
        break;
      case "tool.start": {
        const card = new ToolCard(ev.data.toolCallId, ev.data.toolName ?? "tool");
        this.tools.set(ev.data.toolCallId, card);
        this.toolsEl.append(card.el);
        this.toolsEl.hidden = false;
        this.set("acting", this.label || (ev.data.toolName ?? ""));
        break;
      }
      case "tool.args":
        this.tools.get(ev.data.toolCallId)?.appendArgs(ev.data.delta ?? "");
        break;
      case "tool.end":
        this.tools.get(ev.data.toolCallId)?.setArgs(ev.data.input);
        break;
      case "tool.result":
        this.tools.get(ev.data.toolCallId)?.setResult(ev.data.output, !!ev.data.isError);
        break;
      case "text.start": {
        const role = ev.data.role ?? "assistant";
        const view: TextView = { raw: "", role, el: h("div", { class: `text ${role}` }) };
        this.texts.set(ev.data.messageId, view);
        this.flow.append(view.el);
        break;
      }
      case "text.delta": {
        const text = this.texts.get(ev.data.messageId);
        if (text) { text.raw += ev.data.delta ?? ""; this.draw(text); }
        if (this.phase !== "writing") this.set("writing", "");
        break;
      }
      case "text.end": {
        const text = this.texts.get(ev.data.messageId);
        if (text) this.draw(text, true);
        break;
      }
      case "user.message":
        this.flow.append(h("div", { class: "msg user injected" }, h("span", { class: "injected-label" }, "You, while it worked"),
          h("p", {}, ev.data.text)));
        break;
      case "task.completed":
        this.finish();
        this.set("done", "");
        if (!this.answerText && ev.data.output) {
          const view: TextView = { raw: ev.data.output, role: "assistant", el: h("div", { class: "text assistant" }) };
          this.texts.set("output", view);
          this.flow.append(view.el);
          this.draw(view, true);
        }
        this.metaText.textContent = `Answered in ${formatDuration(ev.data.executionMs)}` +
          (ev.data.usage ? ` · ${ev.data.usage.outputTokens} tokens` : "");
        break;
      case "task.cancelled":
        this.finish();
        // "Stopped" says it all when the user stopped it; other reasons (a newer message) are worth showing.
        this.set("stopped", /^(stopped|interrupted) by the user$/.test(ev.data.reason) ? "" : ev.data.reason);
        break;
      case "task.failed":
        this.finish();
        this.set("failed", ev.data.message);
        break;
    }
  }

  private finish(): void {
    for (const card of this.tools.values()) card.abandon();
    for (const text of this.texts.values()) this.draw(text, true);
    if (this.thinking.dataset.state === "running") this.thinking.dataset.state = "done";
  }

  /**
   * Draws a message's Markdown. While it streams, redraws are batched to one per frame (a
   * message re-renders as a whole, so a table or code block half-written shows as it stands).
   */
  private draw(text: TextView, now = false): void {
    if (now) { this.dirty.delete(text); this.paint(text); return; }
    this.dirty.add(text);
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      for (const t of this.dirty) this.paint(t);
      this.dirty.clear();
    });
  }

  private paint(text: TextView): void {
    if (text.role === "assistant") text.el.replaceChildren(renderMarkdown(text.raw));
    else text.el.textContent = text.raw;
    this.copy.hidden = !this.answerText;
  }

  private set(phase: TurnPhase, label: string): void {
    const changed = phase !== this.phase || label !== this.label;
    this.phase = phase;
    this.label = label;
    if (!changed) return;
    this.render();
    this.onChange(this);
  }

  private render(): void {
    this.statusEl.dataset.phase = this.phase;
    this.el.dataset.phase = this.phase;
    const text = phaseText[this.phase];
    const label = this.label && this.phase !== "done" && this.label.toLowerCase() !== text.toLowerCase() ? this.label : "";
    this.statusText.textContent = label ? `${text} · ${label}` : text;
  }
}
