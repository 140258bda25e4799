import { ConnectionClosedError, RealtimeAgentsError, type MessagePolicy } from "@realtime-agents/client";
import type { Chat } from "./chat.js";
import { ThreadGoneError, type ErrorBox } from "./errors.js";
import { routeToNewChat } from "./routing.js";

/** The composer's controls. */
export interface ComposerElements {
  form: HTMLFormElement;
  input: HTMLTextAreaElement;
  policy: HTMLSelectElement;
  stop: HTMLButtonElement;
  newChat: HTMLButtonElement;
  /** The intro's suggested prompts. */
  suggestions: Iterable<HTMLButtonElement>;
}

/** What the composer needs from around it. */
export interface ComposerHost {
  chat: Chat;
  errors: ErrorBox;
  /** Shows an error where it belongs (see errorReporter). */
  report(error: unknown, kind?: string): void;
  /** Resolves to true when the server refuses our token (the sign-in panel then asks for another). */
  checkAuth(): Promise<boolean>;
  /** The server's input limit in bytes. */
  maxInputBytes: number;
}

const utf8 = new TextEncoder();
const maxHeightPx = 200;

/** "32 KB", "1.5 MB": sizes as people read them. */
function sizeInWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * The message box and its buttons: Enter sends (Shift+Enter is a new line), Escape or Stop
 * interrupts what runs, New chat starts over. A message that was not sent stays in the box with
 * the reason and a way to try again; one over the server's limit is refused before it is sent.
 * The box says what Send will do while a task runs (the policy).
 */
export class Composer {
  private sending = false;
  private readonly chat: Chat;
  private readonly errors: ErrorBox;

  constructor(private readonly el: ComposerElements, private readonly host: ComposerHost) {
    this.chat = host.chat;
    this.errors = host.errors;
    const { form, input, policy, stop } = el;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    input.addEventListener("input", () => {
      this.autosize();
      const refusedSize = this.tooLong(input.value);
      if (refusedSize) this.errors.show(refusedSize, "size");
      else if (this.errors.kind === "size") this.errors.hide();
    });
    policy.addEventListener("change", () => this.update());
    stop.addEventListener("click", () => {
      void this.chat.stop().catch(host.report);
      input.focus();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.chat.active && !(e.target instanceof HTMLSelectElement)) {
        e.preventDefault();
        void this.chat.stop().catch(host.report);
        input.focus();
      }
    });
    for (const button of el.suggestions) {
      button.addEventListener("click", () => {
        input.value = button.dataset.prompt!;
        form.requestSubmit();
      });
    }
    el.newChat.addEventListener("click", () => {
      routeToNewChat();
      this.errors.hide();
      this.chat.reset();
      input.focus();
    });
  }

  focus(): void { this.el.input.focus(); }

  /** Follows the conversation: Stop while something runs, and what Send will do. */
  update(): void {
    const running = !!this.chat.active;
    this.el.stop.hidden = !running;
    // "Not sent, the agent is busy" is stale once the agent is done.
    if (!running && this.errors.kind === "busy") this.errors.hide();
    document.body.classList.toggle("running", running);
    this.el.input.placeholder = running
      ? { interrupt: "Send to stop it and ask this instead…", enqueue: "Send to ask this next…",
        inject: "Send to tell the agent while it works…", reject: "The agent is busy…" }[this.el.policy.value] ?? "Message…"
      : this.chat.threadId ? "Ask a follow-up…" : "Where would you like to go?";
  }

  /** Grows the box with its text, up to a limit. */
  autosize(): void {
    const { input } = this.el;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, maxHeightPx)}px`;
  }

  /** Why a message cannot be sent as it is, or undefined. */
  private tooLong(text: string): string | undefined {
    const bytes = utf8.encode(text).length;
    const max = this.host.maxInputBytes;
    return bytes > max
      ? `This message is ${sizeInWords(bytes)}; the server accepts up to ${sizeInWords(max)}. Shorten it to send.`
      : undefined;
  }

  private async submit(): Promise<void> {
    const { input, form } = this.el;
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    const refusedSize = this.tooLong(text);
    if (refusedSize) { this.errors.show(refusedSize, "size"); return; }
    if (this.sending) return;
    this.sending = true;
    form.setAttribute("aria-busy", "true");
    try {
      this.errors.hide();
      await this.chat.send(text, this.el.policy.value as MessagePolicy);
      // Sent: clear the box, unless the user already typed something else meanwhile.
      if (input.value.trim() === text) { input.value = ""; this.autosize(); }
    } catch (error) {
      // Not sent: the text stays where it is, with the reason and a way to try again.
      if (error instanceof ThreadGoneError) {
        this.errors.show(`${error.message} Your message was not sent.`, "gone", { label: "Start a new chat with it", run: () => {
          routeToNewChat();
          this.chat.reset();
          void this.submit();
        } });
      } else if (error instanceof RealtimeAgentsError) {
        this.host.report(error);
      } else {
        const reason = error instanceof Error ? error.message : String(error);
        const show = () => this.errors.show(`Not sent: ${reason} Your message is still in the box.`, "offline",
          { label: "Retry", run: () => void this.submit() });
        // A refused token also looks like a failed connection: then the sign-in panel asks for one.
        if (error instanceof ConnectionClosedError) void this.host.checkAuth().then((refused) => { if (!refused) show(); });
        else show();
      }
    } finally {
      this.sending = false;
      form.removeAttribute("aria-busy");
    }
    input.focus();
  }
}
