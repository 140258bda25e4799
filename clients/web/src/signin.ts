import type { RealtimeAgentsClient } from "@realtime-agents/client";
import { $, h } from "./dom.js";
import { refusal, storedToken, storeToken } from "./auth.js";
import type { ConnectionIndicator } from "./connection.js";
import type { ErrorBox } from "./errors.js";

/** What the sign-in panel acts on around it. */
export interface SignInHost {
  indicator: ConnectionIndicator;
  errors: ErrorBox;
  /** The composer's dock, unusable while the panel asks for a token. */
  dock: HTMLElement;
  /** The message box, focused once signed in. */
  input: HTMLElement;
  /** Connects and opens what the address points at (after a sign-in while disconnected). */
  start(): void;
}

/**
 * The sign-in panel, shown only when the server has authentication on and refuses the connection
 * for want of a valid token. It says the server's reason, takes a token, checks it over HTTP before
 * using it (see auth.ts) and keeps it for the tab; Sign out forgets it.
 */
export class SignIn {
  private readonly panel: HTMLElement;
  private readonly reason = h("p", { id: "signin-reason", class: "signin-reason" });
  private readonly tokenInput = h("input", {
    id: "signin-token", type: "password", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
    required: true, "aria-describedby": "signin-reason",
  });
  private readonly form = h("form", { class: "signin-form" },
    h("label", { for: "signin-token" }, "Access token"),
    h("div", { class: "signin-row" }, this.tokenInput, h("button", { class: "send", type: "submit" }, "Sign in")));
  private readonly signOut = h("button", { id: "sign-out", class: "ghost", type: "button", hidden: true }, "Sign out");
  private pending: Promise<boolean> | undefined;

  constructor(private readonly hubUrl: string, private readonly client: RealtimeAgentsClient, private readonly host: SignInHost,
    log: HTMLElement) {
    this.panel = h("section", { id: "signin", class: "intro signin", "aria-labelledby": "signin-title", hidden: true },
      h("h1", { id: "signin-title" }, "Sign in"), this.reason, this.form);
    log.prepend(this.panel);
    $("#new-chat").before(this.signOut);
    this.form.addEventListener("submit", (e) => { e.preventDefault(); void this.submit(); });
    this.signOut.addEventListener("click", () => {
      storeToken();
      location.reload();
    });
  }

  /** Whether the panel is showing (waiting for a token). */
  get open(): boolean { return !this.panel.hidden; }

  /** Whether a token is in use. */
  get hasToken(): boolean { return !!storedToken(); }

  /** Asks the server whether it refuses our token; if so, shows why and the panel. */
  check(): Promise<boolean> {
    const token = storedToken();
    return this.pending ??= refusal(this.hubUrl, token).then((reason) => {
      this.pending = undefined;
      if (reason === undefined) return false;
      this.ask(reason, !!token);
      return true;
    });
  }

  /** Shows the panel with the server's reason; `refused` when a token was tried and refused. */
  ask(reason: string, refused = true): void {
    storeToken(); // refused: no use keeping it
    this.reason.textContent = reason;
    this.reason.classList.toggle("refused", refused);
    this.panel.hidden = false;
    this.showSignedIn(false);
    this.host.dock.inert = true;
    this.host.errors.hide();
    this.host.indicator.show("offline", "Not signed in");
    this.tokenInput.value = "";
    this.tokenInput.focus();
  }

  /** Sign out shows while a token is in use; on phones the brand then keeps only its logo to make room. */
  showSignedIn(signedIn: boolean): void {
    this.signOut.hidden = !signedIn;
    document.body.classList.toggle("signed-in", signedIn);
  }

  private async submit(): Promise<void> {
    const token = this.tokenInput.value.trim();
    this.tokenInput.value = "";
    if (!token) { this.tokenInput.focus(); return; }
    this.form.inert = true;
    const reason = await refusal(this.hubUrl, token);
    this.form.inert = false;
    if (reason !== undefined) { this.ask(reason); return; }
    storeToken(token);
    // An open connection keeps the token it was opened with: start afresh with the new one.
    if (this.client.state === "connected") { location.reload(); return; }
    this.panel.hidden = true;
    this.host.dock.inert = false;
    this.host.input.focus();
    this.host.indicator.show("connecting", "Connecting…");
    // While reconnecting, SignalR's next attempt asks for the new token by itself.
    if (this.client.state === "disconnected") this.host.start();
  }
}
