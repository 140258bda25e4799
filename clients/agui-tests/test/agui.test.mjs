// The official AG-UI client against /ag-ui on a real server. HttpAgent runs every event through
// @ag-ui/client's own verifier (RUN_STARTED first, no content for unopened blocks, nothing after
// RUN_FINISHED, nothing left open at RUN_FINISHED); a violation makes runAgent reject.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HttpAgent } from "@ag-ui/client";
import * as signalR from "@microsoft/signalr";
import { startServer, within } from "./server.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

const fast = { tokens: 25, tokenIntervalMs: 5, firstTokenDelayMs: 0, toolCalls: 2, toolDelayMs: 5, reasoning: true };

/** Runs the agent once; returns the AG-UI events it received and the agent. */
async function run(options, text = "Plan a weekend trip to Porto", path = "/ag-ui") {
  const agent = new HttpAgent({ url: server.url + path, threadId: "th-" + randomUUID() });
  agent.addMessage({ id: randomUUID(), role: "user", content: text });
  const events = [];
  const result = await within(agent.runAgent(
    { runId: randomUUID(), forwardedProps: { options } },
    { onEvent: ({ event }) => { events.push(event); } },
  ), 20_000, "runAgent");
  return { agent, events, result };
}

/** The task's events as a SignalR subscriber sees them, through the terminal event. */
async function signalRView(taskId) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(server.url + "/hubs/agents")
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  const events = [];
  const done = new Promise((resolve) => {
    connection.on("event", (e) => {
      events.push(e);
      if (["task.completed", "task.failed", "task.cancelled"].includes(e.kind)) resolve();
    });
  });
  await within(connection.start(), 10_000, "SignalR connect");
  try {
    await within(connection.invoke("Subscribe", taskId, null), 10_000, "Subscribe");
    await within(done, 15_000, "the SignalR stream");
  } finally {
    await connection.stop();
  }
  return events;
}

const assistantText = (agent) =>
  agent.messages.filter((m) => m.role === "assistant" && typeof m.content === "string").map((m) => m.content).join("");

test("a full run passes the official client's verification and its text equals the SignalR view of the same task", async () => {
  const { agent, events, result: { result } } = await run(fast);
  const types = events.map((e) => e.type);
  assert.equal(types[0], "RUN_STARTED");
  assert.equal(types.at(-1), "RUN_FINISHED");
  for (const t of ["REASONING_START", "REASONING_MESSAGE_CONTENT", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END",
    "TOOL_CALL_RESULT", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "STEP_STARTED", "STEP_FINISHED"]) {
    assert.ok(types.includes(t), `${t} was received`);
  }
  const taskId = events[0].metadata?.taskId;
  assert.match(taskId, /^t[0-9a-f]+$/);

  const text = assistantText(agent);
  assert.ok(text.startsWith("Here is a plan for Porto."), text);
  assert.equal(result, text, "RUN_FINISHED.result is the assembled text");

  const view = await signalRView(taskId);
  const signalRText = view.filter((e) => e.kind === "text.delta").map((e) => e.data.delta).join("");
  assert.equal(text, signalRText);
  assert.equal(view.at(-1).kind, "task.completed");

  // The tool calls and their results landed in the agent's message history.
  const calls = agent.messages.flatMap((m) => m.toolCalls ?? []);
  assert.deepEqual(calls.map((c) => c.function.name), ["search_flights", "search_hotels"]);
  assert.equal(agent.messages.filter((m) => m.role === "tool").length, 2);
});

test("a failing agent ends the run with RUN_ERROR, still passing verification", async () => {
  const { events } = await run({ ...fast, toolCalls: 0, reasoning: false, failAfter: 4 });
  const last = events.at(-1);
  assert.equal(last.type, "RUN_ERROR");
  assert.equal(last.code, "agent_error");
  assert.equal(events.filter((e) => e.type === "RUN_ERROR" || e.type === "RUN_FINISHED").length, 1);
});

test("an unknown agent is refused with Problem Details before any event", async () => {
  await assert.rejects(run(fast, "hello", "/ag-ui/nobody"), (err) => {
    assert.equal(err.status, 400);
    // application/problem+json: the client hands over the raw text for anything but application/json.
    const problem = typeof err.payload === "string" ? JSON.parse(err.payload) : err.payload;
    assert.equal(problem.status, 400);
    assert.equal(problem.code, "invalid_argument");
    return true;
  });
});

/** Runs the agent and calls act(agent, taskId) once, at the first streamed token. */
async function runAndActAtFirstToken(options, act) {
  const agent = new HttpAgent({ url: server.url + "/ag-ui", threadId: "th-" + randomUUID() });
  agent.addMessage({ id: randomUUID(), role: "user", content: "Plan a weekend trip to Porto" });
  const events = [];
  let taskId, acted;
  await within(agent.runAgent({ runId: randomUUID(), forwardedProps: { options } }, {
    onEvent: ({ event }) => {
      events.push(event);
      if (event.type === "RUN_STARTED") taskId = event.metadata.taskId;
      if (event.type === "TEXT_MESSAGE_CONTENT" && !acted) acted = act(agent, taskId);
    },
  }), 20_000, "runAgent");
  await acted;
  return { agent, events };
}

const post = (path, body) => fetch(server.url + path, {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
}).then((r) => { if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`); return r.json(); });

test("a message injected mid-run arrives as a user text message and the run still verifies", async () => {
  const slow = { tokens: 60, tokenIntervalMs: 20, firstTokenDelayMs: 0, toolCalls: 0, reasoning: false };
  const { agent, events } = await runAndActAtFirstToken(slow,
    (a) => post(`/threads/${a.threadId}/messages`, { text: "Make it Vienna instead", policy: "inject" }));
  assert.equal(events.at(-1).type, "RUN_FINISHED");
  const user = agent.messages.filter((m) => m.role === "user").map((m) => m.content);
  assert.deepEqual(user, ["Plan a weekend trip to Porto", "Make it Vienna instead"]);
  assert.match(assistantText(agent), /Vienna/);
});

test("interrupting the task over REST ends the run with RUN_ERROR code abort, every block closed", async () => {
  const slow = { tokens: 500, tokenIntervalMs: 20, firstTokenDelayMs: 0, toolCalls: 1, reasoning: false };
  const { events } = await runAndActAtFirstToken(slow, (_, taskId) => post(`/tasks/${taskId}/interrupt`, { reason: "stop" }));
  const last = events.at(-1);
  assert.equal(last.type, "RUN_ERROR");
  assert.equal(last.code, "abort");
  assert.equal(last.message, "stop");
  const starts = events.filter((e) => e.type === "TEXT_MESSAGE_START").length;
  assert.equal(events.filter((e) => e.type === "TEXT_MESSAGE_END").length, starts);
});
