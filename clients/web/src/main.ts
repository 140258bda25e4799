import { createClient } from "@realtime-agents/client";
import { $ } from "./dom.js";
import { storedToken } from "./auth.js";
import { Chat } from "./chat.js";
import { Composer } from "./composer.js";
import { ConnectionIndicator, keepConnected } from "./connection.js";
import { ErrorBox, errorReporter } from "./errors.js";
import { agentFromQuery, onRouteChange, routedTask } from "./routing.js";
import { ScrollFollower } from "./scroll.js";
import { SignIn } from "./signin.js";
import "./styles.css";

/**
 * The web UI's entry: puts the parts together. The chat (chat.ts) draws a thread's turns as their
 * events come; the composer (composer.ts) sends; the address (routing.ts) says which task is open;
 * the sign-in panel (signin.ts) asks for a token when the server wants one; connection.ts keeps
 * the connection up and shows its state; scroll.ts keeps the newest text in view.
 */

const hubUrl = new URL("hubs/agents", new URL("/", location.href)).toString();
// The token the user signed in with (none in development mode): asked for on each (re)connect.
const client = createClient({ url: hubUrl, accessTokenFactory: storedToken });

// The server's input limit (RealtimeAgents:Tasks:MaxInputBytes, 32 KiB unless configured):
// a longer message is refused here, with the sizes in words, instead of failing on the wire.
const maxInputBytes = Number(document.querySelector<HTMLMetaElement>('meta[name="ra-max-input-bytes"]')?.content) || 32 * 1024;

const log = $("#log");
const input = $<HTMLTextAreaElement>("#composer-input");
const newChat = $<HTMLButtonElement>("#new-chat");
const indicator = new ConnectionIndicator($("#connection"));
const errors = new ErrorBox($("#error"), () => newChat.click());

const signIn = new SignIn(hubUrl, client, {
  indicator, errors, dock: $(".dock"), input,
  start: () => { connect(); route(); },
}, log);
const report = errorReporter(errors, signIn);

const chat = new Chat({
  client,
  agent: agentFromQuery(),
  elements: {
    log, intro: $("#intro"), taskList: $<HTMLOListElement>("#task-list"), tasksNav: $("#tasks"),
    tasksToggle: $<HTMLButtonElement>("#tasks-toggle"), announcer: $("#announcer"),
  },
  follower: new ScrollFollower(),
  report,
  changed: () => composer.update(),
});

const composer = new Composer({
  form: $<HTMLFormElement>("#composer"), input, policy: $<HTMLSelectElement>("#policy"),
  stop: $<HTMLButtonElement>("#stop"), newChat,
  suggestions: $("#intro").querySelectorAll<HTMLButtonElement>("button[data-prompt]"),
}, { chat, errors, report, checkAuth: () => signIn.check(), maxInputBytes });

const connect = keepConnected(client, indicator, errors, signIn);

/** Opens the task the address points at, or a new chat. */
function route(): void {
  const taskId = routedTask();
  if (taskId) void chat.openTask(taskId);
  else chat.reset();
}

onRouteChange(route);
connect();
route();
composer.autosize();
composer.focus();
