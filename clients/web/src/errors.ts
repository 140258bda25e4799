import { ConnectionClosedError, RealtimeAgentsError } from "@realtime-agents/client";
import { h } from "./dom.js";

/** Raised when a message was not sent; the text stays in the box. */
export class NotSentError extends Error {
  override name = "NotSentError";
}

/** The thread is gone from the server (an in-memory server restarted). */
export class ThreadGoneError extends Error {
  override name = "ThreadGoneError";
  constructor() { super("This conversation is no longer on the server (it may have restarted)."); }
}

/** An error's message for people: without the SDK's "code: " prefix. */
export function messageOf(error: unknown): string {
  return error instanceof RealtimeAgentsError
    ? error.message.replace(/^[a-z_]+: /, "")
    : error instanceof Error ? error.message : String(error);
}

export interface ErrorAction { label: string; run: () => void }

/**
 * The line above the composer that says what went wrong, with at most one action. Its `kind`
 * says when it goes stale: "offline" once connected again, "busy" once the agent is done, "size"
 * once the message fits, "gone" when a new chat starts.
 */
export class ErrorBox {
  /** `newChat` is what a "gone" message offers when it has no action of its own. */
  constructor(private readonly el: HTMLElement, private readonly newChat: () => void) { }

  get kind(): string | undefined { return this.el.dataset.kind; }

  show(error: unknown, kind = "error", action?: ErrorAction): void {
    this.el.replaceChildren(h("span", { class: "error-text" }, messageOf(error)));
    if (action) this.el.append(h("button", { type: "button", class: "error-action", onclick: () => { this.hide(); action.run(); } }, action.label));
    if (kind === "gone" && !action) {
      this.el.append(h("button", { type: "button", class: "error-action", onclick: () => { this.hide(); this.newChat(); } }, "New chat"));
    }
    this.el.dataset.kind = kind;
    this.el.hidden = false;
  }

  hide(): void {
    this.el.hidden = true;
    delete this.el.dataset.kind;
  }
}

/** What the sign-in panel offers the error reporting: ask for a token, or check the one we have. */
export interface AuthPrompt {
  /** Shows the sign-in panel with the server's reason. */
  ask(reason: string): void;
  /** Resolves to true when the server refuses our token (the panel then asks for another). */
  check(): Promise<boolean>;
}

/**
 * Shows an error where it belongs: a refused token opens the sign-in panel, a failed connect is
 * checked for one first (a refused WebSocket does not say why), and the server's codes become
 * plain words; anything else goes to the error line.
 */
export function errorReporter(box: ErrorBox, auth: AuthPrompt): (error: unknown, kind?: string) => void {
  return (error, kind = "error") => {
    if (error instanceof RealtimeAgentsError && error.code === "unauthenticated") {
      auth.ask(messageOf(error));
      return;
    }
    // A failed connect does not say why; when the server refused our token, ask for another.
    if (error instanceof ConnectionClosedError) {
      void auth.check().then((refused) => { if (!refused) box.show(error); });
      return;
    }
    if (error instanceof RealtimeAgentsError && error.code === "not_found" && /^not_found: Thread /.test(error.message)) {
      box.show(new ThreadGoneError().message, "gone");
      return;
    }
    if (error instanceof RealtimeAgentsError && error.code === "conflict") {
      box.show("The agent is still working, so the message was not sent (policy: Don't send).", "busy");
      return;
    }
    box.show(error, kind);
  };
}
