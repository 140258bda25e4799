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
import { TurnView, type TurnPhase } from "./turn.js";
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
    for (const el of [...log.querySelectorAll(".turn")]) el.remove();
    taskList.replaceChildren();
    intro.hidden = false;
    this.update();
  }

  async openTask(taskId: string): Promise<void> {
    if (this.turns.has(taskId)) { this.focus(taskId); return; }
    this.reset();
    try {
      const task = await client.getTask(taskId, { signal: this.scope.signal });
      this.openThread(task.threadId, taskId);
    } catch (error) {
      showError(error);
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
    if (focusTaskId) void watch.ready().then(() => this.focus(focusTaskId), () => { });
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
        const pinned = isPinnedToBottom();
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
    if (!this.threadId) {
      const handle = await client.submit({ agent, input: text, options: agentOptions });
      this.threadId = handle.threadId;
      this.addTurn(handle.taskId, text, "queued", handle);
      setRoute(handle.taskId);
      this.openThread(handle.threadId!);
      scrollToBottomSoon();
      return;
    }
    const result = await client.sendMessage(this.threadId, text, { policy: chosen });
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
    turn.el.scrollIntoView({ block: "start" });
    turn.el.classList.add("flash");
    setTimeout(() => turn.el.classList.remove("flash"), 1200);
  }

  private changed(turn: TurnView): void {
    const chip = this.links.get(turn.taskId)?.querySelector(".chip");
    if (chip) { chip.textContent = turn.phase; chip.setAttribute("data-phase", turn.phase); }
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
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) { input.focus(); return; }
  input.value = "";
  autosize();
  chat.send(text).catch((error) => {
    input.value = input.value || text;
    autosize();
    showError(error);
  });
  input.focus();
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
input.addEventListener("input", autosize);
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
function showError(error: unknown): void {
  if (error instanceof RealtimeAgentsError && error.code === "unauthenticated") {
    signIn(error.message.replace(/^[a-z_]+: /, ""));
    return;
  }
  // A failed connect does not say why; when the server refused our token, ask for another.
  if (error instanceof ConnectionClosedError) {
    void checkAuth().then((refused) => { if (!refused) displayError(error); });
    return;
  }
  displayError(error);
}

function displayError(error: unknown): void {
  const message = error instanceof RealtimeAgentsError
    ? error.code === "conflict" ? "The agent is still working, so the message was not sent (policy: reject)."
      : error.message.replace(/^[a-z_]+: /, "")
    : error instanceof Error ? error.message : String(error);
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function hideError(): void {
  errorBox.hidden = true;
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
