import type { AgentEvent, TaskState } from "@realtime-agents/client";
import { formatDuration, formatJson, h } from "./dom.js";

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

interface ToolView { args: Text; result: HTMLElement; item: HTMLElement }

/**
 * One task in the conversation: the user's input, then the agent's answer as it streams, with
 * a collapsible list of the steps behind it (reasoning, status changes, tool calls and results).
 * It is rebuilt from events alone, so replaying a task from its first event draws the same turn.
 */
export class TurnView {
  readonly el: HTMLElement;
  phase: TurnPhase;
  private readonly statusEl: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly steps: HTMLDetailsElement;
  private readonly stepsCount: HTMLElement;
  private readonly stepList: HTMLOListElement;
  private readonly flow: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly texts = new Map<string, { node: Text; role: string }>();
  private readonly reasoning = new Map<string, Text>();
  private readonly tools = new Map<string, ToolView>();
  private label = "";

  constructor(readonly taskId: string, readonly input: string, status: TaskState,
    private readonly onChange: (turn: TurnView) => void) {
    this.phase = status === "pending" ? "waiting" : "queued";
    this.statusText = h("span", { class: "status-text" });
    this.statusEl = h("div", { class: "status" }, h("span", { class: "dot", "aria-hidden": "true" }), this.statusText);
    this.stepsCount = h("span", { class: "steps-count" });
    this.stepList = h("ol", { class: "step-list" });
    this.steps = h("details", { class: "steps", hidden: true },
      h("summary", {}, h("span", {}, "View steps"), this.stepsCount), this.stepList);
    this.flow = h("div", { class: "answer", "data-testid": "answer" });
    this.meta = h("div", { class: "meta" });
    this.el = h("article", { class: "turn", "data-task-id": taskId, "aria-label": `Task: ${input}` },
      h("div", { class: "msg user" }, h("p", {}, input)),
      h("div", { class: "msg agent" }, this.statusEl, this.steps, this.flow, this.meta));
    this.render();
  }

  get running(): boolean { return !terminalPhases.has(this.phase); }

  /** The assistant's text as drawn, paragraphs joined like the agent's output. */
  get answerText(): string {
    return [...this.texts.values()].filter((t) => t.role === "assistant").map((t) => t.node.data.trim())
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
        if (ev.data.attempt > 1) this.addStep("status", `Retrying (attempt ${ev.data.attempt})`);
        break;
      case "status": {
        const p = ev.data.phase;
        const phase: TurnPhase = p === "running" ? "starting" : p;
        this.set(phase, ev.data.label ?? "");
        if (ev.data.label && p !== "queued") this.addStep("status", ev.data.label);
        break;
      }
      case "reasoning.start": {
        const node = document.createTextNode("");
        this.reasoning.set(ev.data.messageId, node);
        this.addStep("reasoning", h("p", {}, node));
        if (this.phase !== "thinking") this.set("thinking", this.label);
        break;
      }
      case "reasoning.delta":
        this.reasoning.get(ev.data.messageId)?.appendData(ev.data.delta ?? "");
        break;
      case "tool.start": {
        const args = document.createTextNode("");
        const result = h("pre", { class: "tool-result pending" }, "running…");
        const item = this.addStep("tool",
          h("div", { class: "tool-name" }, h("span", { class: "tool-icon", "aria-hidden": "true" }, "⚙"), ev.data.toolName ?? "tool"),
          h("div", { class: "tool-label" }, "Arguments"), h("pre", { class: "tool-args" }, args),
          h("div", { class: "tool-label" }, "Result"), result);
        this.tools.set(ev.data.toolCallId, { args, result, item });
        this.set("acting", this.label || (ev.data.toolName ?? ""));
        break;
      }
      case "tool.args":
        this.tools.get(ev.data.toolCallId)?.args.appendData(ev.data.delta ?? "");
        break;
      case "tool.end": {
        const tool = this.tools.get(ev.data.toolCallId);
        if (tool && ev.data.input !== undefined) tool.args.data = formatJson(ev.data.input);
        break;
      }
      case "tool.result": {
        const tool = this.tools.get(ev.data.toolCallId);
        if (tool) {
          tool.result.textContent = formatJson(ev.data.output);
          tool.result.className = ev.data.isError ? "tool-result error" : "tool-result";
        }
        break;
      }
      case "text.start": {
        const node = document.createTextNode("");
        const role = ev.data.role ?? "assistant";
        this.texts.set(ev.data.messageId, { node, role });
        this.flow.append(h("p", { class: `text ${role}` }, node));
        break;
      }
      case "text.delta": {
        const text = this.texts.get(ev.data.messageId);
        if (text) text.node.appendData(ev.data.delta ?? "");
        if (this.phase !== "writing") this.set("writing", "");
        break;
      }
      case "text.end":
        break;
      case "user.message":
        this.flow.append(h("div", { class: "msg user injected" }, h("span", { class: "injected-label" }, "You, while it worked"),
          h("p", {}, ev.data.text)));
        this.addStep("status", "Your message reached the agent");
        break;
      case "task.completed":
        this.set("done", "");
        if (!this.answerText && ev.data.output) this.flow.append(h("p", { class: "text assistant" }, ev.data.output));
        this.meta.textContent = `Answered in ${formatDuration(ev.data.executionMs)}` +
          (ev.data.usage ? ` · ${ev.data.usage.outputTokens} tokens` : "");
        break;
      case "task.cancelled":
        // "Stopped" says it all when the user stopped it; other reasons (a newer message) are worth showing.
        this.set("stopped", /^(stopped|interrupted) by the user$/.test(ev.data.reason) ? "" : ev.data.reason);
        break;
      case "task.failed":
        this.set("failed", ev.data.message);
        break;
    }
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

  private addStep(kind: "status" | "reasoning" | "tool", ...content: (Node | string)[]): HTMLElement {
    const item = h("li", { class: `step step-${kind}` }, ...content);
    this.stepList.append(item);
    this.steps.hidden = false;
    const tools = this.tools.size + (kind === "tool" ? 1 : 0);
    this.stepsCount.textContent = tools ? ` · ${tools} tool call${tools > 1 ? "s" : ""}` : "";
    return item;
  }
}
