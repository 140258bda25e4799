import type { Json } from "@realtime-agents/client";
import { formatJson, h } from "./dom.js";

/** Where a tool call stands. */
export type ToolState = "running" | "done" | "error";

const stateText: Record<ToolState, string> = { running: "Running", done: "Done", error: "Error" };

/**
 * One tool call as a compact card: its name, its arguments on one line, whether it is running,
 * done or failed, and its result folded away until asked for. A card is its own component so
 * more can be added to it (an approval's Approve / Deny controls go in `actions`).
 */
export class ToolCard {
  readonly el: HTMLDetailsElement;
  /** A slot for controls on the card (e.g. approving the call before it runs). */
  readonly actions: HTMLElement;
  state: ToolState = "running";
  private argsText = "";
  private readonly argsEl: HTMLElement;
  private readonly stateEl: HTMLElement;
  private readonly resultEl: HTMLElement;

  constructor(readonly toolCallId: string, readonly name: string) {
    this.argsEl = h("code", { class: "tool-args" });
    this.stateEl = h("span", { class: "tool-state" });
    this.resultEl = h("pre", { class: "tool-result", tabindex: "0" });
    this.actions = h("div", { class: "tool-actions", hidden: true });
    this.el = h("details", { class: "tool-card step-tool", "data-tool-call-id": toolCallId },
      h("summary", {},
        h("span", { class: "tool-name" }, name),
        this.argsEl,
        this.stateEl),
      this.actions,
      h("div", { class: "tool-label" }, "Result"),
      this.resultEl);
    this.setState("running");
  }

  /** Streamed argument text, shown as it arrives. */
  appendArgs(delta: string): void {
    this.argsText += delta;
    this.argsEl.textContent = oneLine(this.argsText);
  }

  /** The complete arguments, once known. */
  setArgs(input: Json | undefined): void {
    if (input === undefined) return;
    this.argsText = typeof input === "string" ? input : JSON.stringify(input);
    this.argsEl.textContent = oneLine(this.argsText);
    this.argsEl.title = formatJson(input);
  }

  setResult(output: Json | undefined, isError: boolean): void {
    this.resultEl.textContent = formatJson(output);
    this.setState(isError ? "error" : "done");
  }

  /** The task ended before the tool answered. */
  abandon(): void {
    if (this.state === "running") { this.resultEl.textContent = "No result: the task ended first."; this.setState("error"); }
  }

  private setState(state: ToolState): void {
    this.state = state;
    this.el.dataset.state = state;
    this.stateEl.textContent = stateText[state];
    if (state === "running") this.resultEl.textContent = "Waiting for the result…";
  }
}

/** JSON on one line, without the outer braces' noise: {"a":1,"b":"x"} → a: 1, b: "x". */
function oneLine(text: string): string {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return Object.entries(value).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
    }
  } catch { /* still streaming: show it as it is */ }
  return text.replace(/\s+/g, " ");
}
