import {
  ConnectionClosedError,
  createClient,
  RealtimeAgentsError,
  SubscriptionLostError,
  type Json,
  type MessagePolicy,
  type TaskHandle,
  type TaskState,
  type ThreadWatch,
} from "@realtime-agents/client";
import { $, h } from "./dom.js";
import { refusal, storedToken, storeToken } from "./auth.js";
import { phaseChip, TurnView, type TurnPhase } from "./turn.js";
import { ApprovalCards } from "./approvals.js";
import "./styles.css";

/**
 * The chat: one thread at a time. Each task of the thread is a turn that subscribes to the task's
 * events from the first one, so opening a link to a task (#/task/<id>) or reloading the page
 * mid-answer redraws the whole conversation and continues live; the SDK resumes every
 * subscription after a network drop.
 */

const hubUrl = new URL("hubs/agents", new URL("/", location.href)).toString();
// The token the user signed in with (none in development mode): asked for on each (re)connect.
const client = createClient({ url: hubUrl, accessTokenFactory: storedToken });

// The agent and its options may come from the URL (?agent=demo&tokens=30&firstTokenDelayMs=0),
// which tests and demos use; people never need to.
const params = new URLSearchParams(location.search);
const agent = params.get("agent") ?? "demo";
const agentOptions: Record<string, Json> = {};
for (const [key, value] of params) {
  if (key === "agent") continue;
  agentOptions[key] = value === "true" ? true : value === "false" ? false : /^-?\d+$/.test(value) ? Number(value) : value;
}

const log = $("#log");
const intro = $("#intro");
const taskList = $<HTMLOListElement>("#task-list");
const tasksNav = $("#tasks");
const tasksToggle = $<HTMLButtonElement>("#tasks-toggle");
const input = $<HTMLTextAreaElement>("#composer-input");
const form = $<HTMLFormElement>("#composer");
const policy = $<HTMLSelectElement>("#policy");
const stopButton = $<HTMLButtonElement>("#stop");
const errorBox = $("#error");
const announcer = $("#announcer");
const connection = $("#connection");
const dock = $(".dock");

// Shown when the server refuses the connection for want of a valid token (see signIn below).
const signinReason = h("p", { id: "signin-reason", class: "signin-reason" });
const tokenInput = h("input", {
  id: "signin-token", type: "password", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
  required: true, "aria-describedby": "signin-reason",
});
const signinForm = h("form", { class: "signin-form" },
  h("label", { for: "signin-token" }, "Access token"),
  h("div", { class: "signin-row" }, tokenInput, h("button", { class: "send", type: "submit" }, "Sign in")));
const signinPanel = h("section", { id: "signin", class: "intro signin", "aria-labelledby": "signin-title", hidden: true },
  h("h1", { id: "signin-title" }, "Sign in"), signinReason, signinForm);
log.prepend(signinPanel);
const signOutButton = h("button", { id: "sign-out", class: "ghost", type: "button", hidden: true }, "Sign out");
$("#new-chat").before(signOutButton);

// The server's input limit (RealtimeAgents:Tasks:MaxInputBytes, 32 KiB unless configured):
// a longer message is refused here, with the sizes in words, instead of failing on the wire.
const maxInputBytes = Number(document.querySelector<HTMLMetaElement>('meta[name="ra-max-input-bytes"]')?.content) || 32 * 1024;
const utf8 = new TextEncoder();

/** "32 KB", "1.5 MB": sizes as people read them. */
function sizeInWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Why a message cannot be sent as it is, or undefined. */
function tooLong(text: string): string | undefined {
  const bytes = utf8.encode(text).length;
  return bytes > maxInputBytes
    ? `This message is ${sizeInWords(bytes)}; the server accepts up to ${sizeInWords(maxInputBytes)}. Shorten it to send.`
    : undefined;
}

const announced: Partial<Record<TurnPhase, string>> = {
  thinking: "Thinking", acting: "Calling a tool", writing: "Writing the answer", done: "Answer complete",
  stopped: "Stopped", failed: "The task failed",
};

class Chat {
  threadId: string | undefined;
  private readonly turns = new Map<string, TurnView>();
  private readonly links = new Map<string, HTMLAnchorElement>();
  private scope = new AbortController();
  private watch: ThreadWatch | undefined;
  private lastAnnounced: TurnPhase | undefined;
  /** The task a link or a reload asked for: scrolled to and highlighted once it is drawn. */
  private pendingFocus: string | undefined;

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
    for (const el of [...log.querySelectorAll(".turn")]) el.remove();
    taskList.replaceChildren();
    intro.hidden = false;
    this.update();
  }

  async openTask(taskId: string): Promise<void> {
    if (this.turns.has(taskId)) { this.pendingFocus = undefined; this.focus(taskId); return; }
    this.reset();
    try {
      const task = await client.getTask(taskId, { signal: this.scope.signal });
      this.openThread(task.threadId, taskId);
    } catch (error) {
      if (error instanceof RealtimeAgentsError && error.code === "not_found") {
        showError(new Error("This task is no longer on the server (it expired, or the server restarted)."), "gone");
      } else {
        showError(error);
      }
    }
  }

  /** Shows a thread: its tasks so far, each replayed, and every new one as it is created. */
  openThread(threadId: string, focusTaskId?: string): void {
    if (this.threadId !== threadId) this.reset();
    this.threadId = threadId;
    if (this.watch) return;
    const watch = client.watchThread(threadId, { signal: this.scope.signal });
    this.watch = watch;
    const { signal } = this.scope;
    (async () => {
      for await (const task of watch) this.addTurn(task.taskId, task.input, task.status);
    })().catch((error) => { if (!signal.aborted) showError(error); });
    if (focusTaskId) {
      this.pendingFocus = focusTaskId;
      void watch.ready().then(() => this.settleFocus(focusTaskId), () => { });
    }
  }

  /** Adds a task's turn (once) and draws its events as they come. */
  addTurn(taskId: string, text: string, status: TaskState, handle?: TaskHandle): TurnView {
    const existing = this.turns.get(taskId);
    if (existing) return existing;
    intro.hidden = true;
    const turn = new TurnView(taskId, text, status, (t) => this.changed(t));
    this.turns.set(taskId, turn);
    log.append(turn.el);
    const link = h("a", { href: `#/task/${taskId}` }, h("span", { class: "task-input" }, text), h("span", { class: "chip" }));
    this.links.set(taskId, link);
    taskList.append(h("li", {}, link));
    this.changed(turn);

    const { signal } = this.scope;
    const events = handle ?? client.subscribe(taskId, { signal });
    const approvals = new ApprovalCards(client, taskId, turn.el);
    (async () => {
      for await (const ev of events.events({ signal })) {
        const pinned = isPinnedToBottom() && !this.pendingFocus;
        turn.apply(ev);
        approvals.apply(ev);
        if (pinned) scrollToBottomSoon();
      }
    })().catch((error) => {
      if (signal.aborted) return;
      if (error instanceof RealtimeAgentsError && error.code === "unauthenticated") showError(error);
      turn.fail(error instanceof SubscriptionLostError
        ? "part of this task is no longer kept by the server"
        : error instanceof Error ? error.message : String(error));
    });
    return turn;
  }

  async send(text: string): Promise<void> {
    hideError();
    const chosen = policy.value as MessagePolicy;
    // Waiting for a connection that is down would leave the message in limbo: say so at once.
    if (client.state === "reconnecting" || !navigator.onLine) throw new NotSentError(navigator.onLine
      ? "The connection to the server is down (it may be restarting)."
      : "This device is offline.");
    if (!this.threadId) {
      const handle = await client.submit({ agent, input: text, options: agentOptions });
      this.threadId = handle.threadId;
      this.addTurn(handle.taskId, text, "queued", handle);
      setRoute(handle.taskId);
      this.openThread(handle.threadId!);
      scrollToBottomSoon();
      return;
    }
    let result;
    try {
      result = await client.sendMessage(this.threadId, text, { policy: chosen });
    } catch (error) {
      if (error instanceof RealtimeAgentsError && error.code === "not_found") {
        throw new ThreadGoneError();
      }
      throw error;
    }
    if (result.outcome !== "injected") {
      this.addTurn(result.taskId, text, result.outcome === "queued" ? "pending" : "queued");
      setRoute(result.taskId);
    }
    scrollToBottomSoon();
  }

  async stop(): Promise<void> {
    const turns = [...this.turns.values()].filter((t) => t.running);
    await Promise.all(turns.map((t) => client.interrupt(t.taskId, "stopped by the user")));
  }

  focus(taskId: string): void {
    const turn = this.turns.get(taskId);
    if (!turn) return;
    for (const [id, link] of this.links) link.toggleAttribute("aria-current", id === taskId);
    for (const t of this.turns.values()) t.el.classList.toggle("linked", t === turn);
    // A live task at the end of the thread is followed as it writes; any other is shown from its top.
    if (turn.running && turn === [...this.turns.values()].at(-1)) scrollToBottomSoon();
    else turn.el.scrollIntoView({ block: "start" });
    turn.el.classList.add("flash");
    setTimeout(() => turn.el.classList.remove("flash"), 1600);
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
      announcer.textContent = announced[turn.phase]!;
    }
    this.update();
  }

  /** The composer follows the conversation: Stop while something runs, and what Send will do. */
  update(): void {
    const running = !!this.active;
    stopButton.hidden = !running;
    // "Not sent, the agent is busy" is stale once the agent is done.
    if (!running && errorBox.dataset.kind === "busy") hideError();
    document.body.classList.toggle("running", running);
    input.placeholder = running
      ? { interrupt: "Send to stop it and ask this instead…", enqueue: "Send to ask this next…",
        inject: "Send to tell the agent while it works…", reject: "The agent is busy…" }[policy.value] ?? "Message…"
      : this.threadId ? "Ask a follow-up…" : "Where would you like to go?";
    tasksToggle.hidden = this.turns.size === 0;
  }
}

const chat = new Chat();

// --- routing: #/task/<id> replays a task's thread; #/ is a new chat ---------------------------
function setRoute(taskId: string): void {
  history.replaceState(null, "", `#/task/${taskId}`);
  for (const [id, link] of chatLinks()) link.toggleAttribute("aria-current", id === taskId);
}

function chatLinks(): [string, Element][] {
  return [...taskList.querySelectorAll("a")].map((a) => [a.getAttribute("href")!.slice("#/task/".length), a]);
}

function route(): void {
  const m = /^#\/task\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  if (m) void chat.openTask(m[1]!);
  else chat.reset();
}

// --- composer and keyboard -------------------------------------------------------------------
/** Raised when a message was not sent; the text stays in the box. */
class NotSentError extends Error {
  override name = "NotSentError";
}

/** The thread is gone from the server (an in-memory server restarted). */
class ThreadGoneError extends Error {
  override name = "ThreadGoneError";
  constructor() { super("This conversation is no longer on the server (it may have restarted)."); }
}

let sending = false;
async function submit(): Promise<void> {
  const text = input.value.trim();
  if (!text) { input.focus(); return; }
  const refusedSize = tooLong(text);
  if (refusedSize) { displayError(refusedSize, "size"); return; }
  if (sending) return;
  sending = true;
  form.setAttribute("aria-busy", "true");
  try {
    await chat.send(text);
    // Sent: clear the box, unless the user already typed something else meanwhile.
    if (input.value.trim() === text) { input.value = ""; autosize(); }
  } catch (error) {
    // Not sent: the text stays where it is, with the reason and a way to try again.
    if (error instanceof ThreadGoneError) {
      displayError(`${error.message} Your message was not sent.`, "gone", { label: "Start a new chat with it", run: () => {
        history.replaceState(null, "", "#/");
        chat.reset();
        void submit();
      } });
    } else if (error instanceof RealtimeAgentsError) {
      showError(error);
    } else {
      const reason = error instanceof Error ? error.message : String(error);
      const show = () => displayError(`Not sent: ${reason} Your message is still in the box.`, "offline", { label: "Retry", run: () => void submit() });
      // A refused token also looks like a failed connection: then the sign-in panel asks for one.
      if (error instanceof ConnectionClosedError) void checkAuth().then((refused) => { if (!refused) show(); });
      else show();
    }
  } finally {
    sending = false;
    form.removeAttribute("aria-busy");
  }
  input.focus();
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  void submit();
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
input.addEventListener("input", () => {
  autosize();
  const refusedSize = tooLong(input.value);
  if (refusedSize) displayError(refusedSize, "size");
  else if (errorBox.dataset.kind === "size") hideError();
});
policy.addEventListener("change", () => chat.update());

stopButton.addEventListener("click", () => {
  void chat.stop().catch(showError);
  input.focus();
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && chat.active && !(e.target instanceof HTMLSelectElement)) {
    e.preventDefault();
    void chat.stop().catch(showError);
    input.focus();
  }
});

for (const button of intro.querySelectorAll<HTMLButtonElement>("button[data-prompt]")) {
  button.addEventListener("click", () => {
    input.value = button.dataset.prompt!;
    form.requestSubmit();
  });
}

$("#new-chat").addEventListener("click", () => {
  history.replaceState(null, "", "#/");
  hideError();
  chat.reset();
  input.focus();
});

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

function autosize(): void {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

// --- errors and connection -------------------------------------------------------------------
function showError(error: unknown, kind = "error"): void {
  if (error instanceof RealtimeAgentsError && error.code === "unauthenticated") {
    signIn(error.message.replace(/^[a-z_]+: /, ""));
    return;
  }
  // A failed connect does not say why; when the server refused our token, ask for another.
  if (error instanceof ConnectionClosedError) {
    void checkAuth().then((refused) => { if (!refused) displayError(error); });
    return;
  }
  if (error instanceof RealtimeAgentsError && error.code === "not_found" && /^not_found: Thread /.test(error.message)) {
    displayError(new ThreadGoneError().message, "gone");
    return;
  }
  if (error instanceof RealtimeAgentsError && error.code === "conflict") {
    displayError("The agent is still working, so the message was not sent (policy: Don't send).", "busy");
    return;
  }
  displayError(error, kind);
}

/** Shows a message (and optionally one action) above the composer; `kind` says when it goes stale. */
function displayError(error: unknown, kind = "error", action?: { label: string; run: () => void }): void {
  const message = error instanceof RealtimeAgentsError
    ? error.message.replace(/^[a-z_]+: /, "")
    : error instanceof Error ? error.message : String(error);
  errorBox.replaceChildren(h("span", { class: "error-text" }, message));
  if (action) errorBox.append(h("button", { type: "button", class: "error-action", onclick: () => { hideError(); action.run(); } }, action.label));
  if (kind === "gone" && !action) {
    errorBox.append(h("button", { type: "button", class: "error-action", onclick: () => { hideError(); $("#new-chat").click(); } }, "New chat"));
  }
  errorBox.dataset.kind = kind;
  errorBox.hidden = false;
}

function hideError(): void {
  errorBox.hidden = true;
  delete errorBox.dataset.kind;
}

let resumedTimer: ReturnType<typeof setTimeout> | undefined;
function showConnection(state: "connecting" | "connected" | "reconnecting" | "resumed" | "offline", text: string): void {
  clearTimeout(resumedTimer);
  connection.dataset.state = state;
  $(".connection-text", connection).textContent = text;
  if (state === "resumed") resumedTimer = setTimeout(() => showConnection("connected", "Connected"), 3000);
}

let authProbe: ReturnType<typeof setTimeout> | undefined;
client.onConnectionChange((ev) => {
  clearTimeout(authProbe);
  // Back online: a "not connected" message is stale (the text is still in the box to send).
  if ((ev.type === "connected" || ev.type === "resumed") && errorBox.dataset.kind === "offline") hideError();
  if (ev.type === "connected") { showConnection("connected", "Connected"); showSignedIn(!!storedToken()); }
  else if (ev.type === "reconnecting") { showConnection("reconnecting", "Reconnecting…"); probeWhileReconnecting(); }
  else if (ev.type === "resumed") { showConnection("resumed", "Resumed"); showSignedIn(!!storedToken()); }
  else { showConnection("offline", "Offline"); setTimeout(connect, 2000); }
});

function connect(): void {
  client.connect().catch(async () => {
    if (await checkAuth()) return; // the sign-in panel waits for a token
    showConnection("offline", "Offline, retrying…");
    setTimeout(connect, 2000);
  });
}

// SignalR keeps retrying a reconnect the server refuses; a token that expired meanwhile needs the user.
function probeWhileReconnecting(): void {
  authProbe = setTimeout(async () => {
    if (client.state !== "connected" && signinPanel.hidden && !(await checkAuth())) probeWhileReconnecting();
  }, 3000);
}

// --- signing in (only when the server has authentication on) ---------------------------------
let authCheck: Promise<boolean> | undefined;

/** Asks the server whether it refuses our token; if so, shows why and the sign-in panel. */
function checkAuth(): Promise<boolean> {
  const token = storedToken();
  return authCheck ??= refusal(hubUrl, token).then((reason) => {
    authCheck = undefined;
    if (reason === undefined) return false;
    signIn(reason, !!token);
    return true;
  });
}

/** Shows the sign-in panel with the server's reason; `refused` when a token was tried and refused. */
function signIn(reason: string, refused = true): void {
  storeToken(); // refused: no use keeping it
  signinReason.textContent = reason;
  signinReason.classList.toggle("refused", refused);
  signinPanel.hidden = false;
  showSignedIn(false);
  dock.inert = true;
  hideError();
  showConnection("offline", "Not signed in");
  tokenInput.value = "";
  tokenInput.focus();
}

signinForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = tokenInput.value.trim();
  tokenInput.value = "";
  if (!token) { tokenInput.focus(); return; }
  signinForm.inert = true;
  const reason = await refusal(hubUrl, token);
  signinForm.inert = false;
  if (reason !== undefined) { signIn(reason); return; }
  storeToken(token);
  // An open connection keeps the token it was opened with: start afresh with the new one.
  if (client.state === "connected") { location.reload(); return; }
  signinPanel.hidden = true;
  dock.inert = false;
  input.focus();
  showConnection("connecting", "Connecting…");
  // While reconnecting, SignalR's next attempt asks for the new token by itself.
  if (client.state === "disconnected") { connect(); route(); }
});

/** Sign out shows while a token is in use; on phones the brand then keeps only its logo to make room. */
function showSignedIn(signedIn: boolean): void {
  signOutButton.hidden = !signedIn;
  document.body.classList.toggle("signed-in", signedIn);
}

signOutButton.addEventListener("click", () => {
  storeToken();
  location.reload();
});

// --- scrolling: follow the answer only while the reader is at the bottom ---------------------
function isPinnedToBottom(): boolean {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
}

let scrollQueued = false;
function scrollToBottomSoon(): void {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    window.scrollTo({ top: document.documentElement.scrollHeight });
  });
}

window.addEventListener("hashchange", route);
connect();
route();
autosize();
input.focus();
