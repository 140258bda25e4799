import type { RealtimeAgentsClient } from "@realtime-agents/client";
import { $ } from "./dom.js";
import type { ErrorBox } from "./errors.js";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "resumed" | "offline";

/** The connection indicator in the header; "Resumed" turns back into "Connected" after a while. */
export class ConnectionIndicator {
  private resumedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly el: HTMLElement) { }

  show(state: ConnectionState, text: string): void {
    clearTimeout(this.resumedTimer);
    this.el.dataset.state = state;
    $(".connection-text", this.el).textContent = text;
    if (state === "resumed") this.resumedTimer = setTimeout(() => this.show("connected", "Connected"), 3000);
  }
}

/** What keeping connected needs from the sign-in panel. */
export interface SignInState {
  /** Resolves to true when the server refuses our token (the panel then asks for another). */
  check(): Promise<boolean>;
  /** Whether the panel is showing (waiting for a token). */
  readonly open: boolean;
  /** Shows Sign out when a token is in use. */
  showSignedIn(signedIn: boolean): void;
  /** Whether a token is in use. */
  readonly hasToken: boolean;
}

const retryMs = 2000;
const authProbeMs = 3000;

/**
 * Connects, shows the connection's state as it changes, and connects again after it ends, unless
 * the server refuses our token: then the sign-in panel waits for one. Returns `connect`, which
 * starts (again) after a sign-in.
 */
export function keepConnected(client: RealtimeAgentsClient, indicator: ConnectionIndicator, errors: ErrorBox,
  signIn: SignInState): () => void {
  let authProbe: ReturnType<typeof setTimeout> | undefined;

  const connect = (): void => {
    client.connect().catch(async () => {
      if (await signIn.check()) return; // the sign-in panel waits for a token
      indicator.show("offline", "Offline, retrying…");
      setTimeout(connect, retryMs);
    });
  };

  // SignalR keeps retrying a reconnect the server refuses; a token that expired meanwhile needs the user.
  const probeWhileReconnecting = (): void => {
    authProbe = setTimeout(async () => {
      if (client.state !== "connected" && !signIn.open && !(await signIn.check())) probeWhileReconnecting();
    }, authProbeMs);
  };

  client.onConnectionChange((ev) => {
    clearTimeout(authProbe);
    // Back online: a "not connected" message is stale (the text is still in the box to send).
    if ((ev.type === "connected" || ev.type === "resumed") && errors.kind === "offline") errors.hide();
    if (ev.type === "connected") { indicator.show("connected", "Connected"); signIn.showSignedIn(signIn.hasToken); }
    else if (ev.type === "reconnecting") { indicator.show("reconnecting", "Reconnecting…"); probeWhileReconnecting(); }
    else if (ev.type === "resumed") { indicator.show("resumed", "Resumed"); signIn.showSignedIn(signIn.hasToken); }
    else { indicator.show("offline", "Offline"); setTimeout(connect, retryMs); }
  });

  return connect;
}
