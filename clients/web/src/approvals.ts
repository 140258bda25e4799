import type { AgentEvent, RealtimeAgentsClient } from "@realtime-agents/client";
import { formatJson, h } from "./dom.js";
import "./approvals.css";

interface Card { el: HTMLElement; actions: HTMLElement; note: HTMLElement }

/**
 * A turn's tool calls that wait for a person (tool.approval events): each is drawn inline, above
 * the answer, with the tool, its arguments and Approve / Deny buttons; the answer that follows
 * (approved, denied, or denied because nobody answered in time) replaces the buttons. Built from
 * events alone, so a replayed task shows its past approvals already answered.
 */
export class ApprovalCards {
  private readonly cards = new Map<string, Card>();

  constructor(private readonly client: RealtimeAgentsClient, private readonly taskId: string,
    private readonly turnEl: HTMLElement) { }

  apply(ev: AgentEvent): void {
    if (ev.kind !== "tool.approval") return;
    const d = ev.data;
    const card = this.cards.get(d.toolCallId);
    if (d.status === "pending") {
      if (!card) this.add(d.toolCallId, d.toolName ?? "tool", d.input);
      return;
    }
    if (!card) return;
    card.el.dataset.status = d.status;
    card.note.textContent = "";
    card.actions.replaceChildren(h("span", { class: `approval-outcome ${d.status}` },
      d.status === "approved" ? "Approved"
        : d.reason === "timeout" ? "Denied: nobody answered in time"
          : `Denied${d.reason ? `: ${d.reason}` : ""}`));
  }

  private add(toolCallId: string, toolName: string, input: unknown): void {
    const approve = h("button", { class: "send approve", type: "button" }, "Approve");
    const deny = h("button", { class: "ghost deny", type: "button" }, "Deny");
    const actions = h("div", { class: "approval-actions" }, approve, deny);
    const note = h("span", { class: "approval-note", role: "status" });
    const el = h("div", { class: "approval", role: "group", "data-tool-call-id": toolCallId, "data-status": "pending",
      "aria-label": `Approve the call to ${toolName}?` },
      h("div", { class: "approval-title" }, "The agent wants to run ", h("strong", {}, toolName)),
      h("pre", { class: "approval-args" }, formatJson(input ?? {})), actions, note);
    const answer = (approved: boolean) => {
      approve.disabled = deny.disabled = true;
      note.textContent = "Sending…";
      this.client.respondToApproval(this.taskId, toolCallId, approved).then(() => { note.textContent = ""; }, (error: unknown) => {
        note.textContent = error instanceof Error ? error.message.replace(/^[a-z_]+: /, "") : String(error);
        approve.disabled = deny.disabled = false;
      });
    };
    approve.addEventListener("click", () => answer(true));
    deny.addEventListener("click", () => answer(false));
    this.cards.set(toolCallId, { el, actions, note });
    const flow = this.turnEl.querySelector(".answer");
    if (flow) flow.before(el);
    else this.turnEl.append(el);
  }
}
