// The hub's wire contract, mirrored from src/RealtimeAgents.Contracts (camelCase JSON, nulls
// omitted, so optional members may be absent). Keep this file in step with AgentEvent.cs,
// EventKinds.cs, Requests.cs and HubMethods.cs.

/** Any JSON value (tool inputs and outputs are free-form). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Phases reported by `status` events. */
export type StatusPhase = "queued" | "running" | "thinking" | "acting" | "observing" | "waiting";

/** Lifecycle states of a task, as returned by getTask and subscribe. */
export type TaskState = "pending" | "queued" | "running" | "completed" | "failed" | "cancelled";

/** How sendMessage treats a thread whose task is still running. */
export type MessagePolicy = "interrupt" | "enqueue" | "reject" | "inject";

export interface TaskStartedData { agent: string; input: string; attempt: number }
export interface StatusData { phase: StatusPhase; label?: string }
/** text.* and reasoning.*: `role` is set on text.start, `delta` on the deltas. */
export interface TextData { messageId: string; delta?: string; role?: string }
/** tool.start carries toolName, tool.args a piece of the JSON arguments, tool.end the parsed input. */
export interface ToolCallData { toolCallId: string; toolName?: string; delta?: string; input?: Json }
export interface ToolResultData { toolCallId: string; output: Json; isError?: boolean }
export interface UserMessageData { messageId: string; text: string }
/**
 * tool.approval: `status` "pending" (with the tool, its input and when the wait times out, unix
 * ms), then the answer, "approved" or "denied" with its reason ("timeout" when nobody answered).
 */
export interface ToolApprovalData {
  toolCallId: string;
  status: "pending" | "approved" | "denied";
  toolName?: string;
  input?: Json;
  reason?: string;
  deadlineMs?: number;
}
/** Result of respondToApproval; `waiting` is false when the agent had not asked yet. */
export interface ApprovalAnswerResult { taskId: string; toolCallId: string; approved: boolean; waiting: boolean }
export interface UsageData { inputTokens: number; outputTokens: number }
export interface TaskCompletedData { output: string; usage?: UsageData; executionMs: number }
export interface TaskFailedData { message: string; code: string }
export interface TaskCancelledData { reason: string }

/** Every event kind and the shape of its data. */
export interface EventDataByKind {
  "task.started": TaskStartedData;
  "status": StatusData;
  "text.start": TextData;
  "text.delta": TextData;
  "text.end": TextData;
  "reasoning.start": TextData;
  "reasoning.delta": TextData;
  "reasoning.end": TextData;
  "tool.start": ToolCallData;
  "tool.args": ToolCallData;
  "tool.end": ToolCallData;
  "tool.result": ToolResultData;
  "user.message": UserMessageData;
  "tool.approval": ToolApprovalData;
  "task.completed": TaskCompletedData;
  "task.failed": TaskFailedData;
  "task.cancelled": TaskCancelledData;
}

export type EventKind = keyof EventDataByKind;

/** The kinds in the order of the design table. */
export const EVENT_KINDS: readonly EventKind[] = [
  "task.started", "status", "text.start", "text.delta", "text.end", "reasoning.start", "reasoning.delta",
  "reasoning.end", "tool.start", "tool.args", "tool.end", "tool.result", "user.message", "tool.approval",
  "task.completed", "task.failed", "task.cancelled",
];

export type TerminalKind = "task.completed" | "task.failed" | "task.cancelled";

/**
 * One entry of a task's stream. `seq` is contiguous per task (1, 2, 3, …); `id` is the cursor to
 * resume after this event; `ts` is the worker's clock at emit, unix ms with a fraction.
 */
export interface AgentEventOf<K extends EventKind> {
  taskId: string;
  threadId: string;
  seq: number;
  id: string;
  kind: K;
  ts: number;
  data: EventDataByKind[K];
}

/** A discriminated union over `kind`: `if (ev.kind === "text.delta") ev.data.delta` is typed. */
export type AgentEvent = { [K in EventKind]: AgentEventOf<K> }[EventKind];

/** True for the three kinds that end a task. */
export function isTerminal(ev: { kind: string }): ev is AgentEventOf<TerminalKind> {
  return ev.kind === "task.completed" || ev.kind === "task.failed" || ev.kind === "task.cancelled";
}

export interface SubmitTaskRequest {
  /** Registered agent name, e.g. "demo". */
  agent: string;
  input: string;
  /** Continue this thread; a new one is started when absent. */
  threadId?: string;
  /** Submitting twice with one key creates one task. */
  idempotencyKey?: string;
  /** Agent-specific options (a JSON object). */
  options?: Record<string, Json>;
}

export interface SubmitTaskResult { taskId: string; threadId: string }

export interface SubscribeResult {
  taskId: string;
  status: TaskState;
  /** False when the cursor is older than what the server retains. */
  recovered: boolean;
  /** Events on this subscription come strictly after this id. */
  cursor: string;
  epoch: string;
}

export interface SendMessageResult {
  threadId: string;
  /** The task that got the message: a new one, or the running one for inject. */
  taskId: string;
  outcome: "started" | "queued" | "injected";
  messageId: string;
}

export interface TaskInfo {
  taskId: string;
  threadId: string;
  agent: string;
  status: TaskState;
  input: string;
  attempt: number;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

export interface ThreadTaskNotice { threadId: string; taskId: string; agent: string; status: TaskState; input: string }
export interface ThreadInfo { threadId: string; agent: string; tasks: TaskInfo[] }
export interface SubscriptionEnded { taskId: string; reason: string; cursor: string }
/** The server stopped a thread watch: "access_lost" (no longer shared with the caller) or "token_expired". */
export interface ThreadWatchEnded { threadId: string; reason: string }

/** What the hub accepts: an input or message text and an options object in UTF-8 bytes, one incoming message in bytes. */
export interface HubLimits { maxInputBytes: number; maxOptionsBytes: number; maxMessageBytes: number }

/** Hub path and method names (HubMethods.cs). */
export const HubMethods = {
  path: "/hubs/agents",
  submitTask: "SubmitTask",
  subscribe: "Subscribe",
  unsubscribe: "Unsubscribe",
  interrupt: "Interrupt",
  sendMessage: "SendMessage",
  getTask: "GetTask",
  subscribeThread: "SubscribeThread",
  unsubscribeThread: "UnsubscribeThread",
  getLimits: "GetLimits",
  respondToApproval: "RespondToApproval",
  event: "event",
  threadTask: "threadTask",
  subscriptionEnded: "subscriptionEnded",
  threadEnded: "threadEnded",
} as const;

/** Cursor spellings: from the first event, or only what is appended after subscribing. */
export const Cursors = { start: "0-0", live: "$" } as const;
