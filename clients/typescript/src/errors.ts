/** Codes the server puts in front of a refusal ("invalid_argument: …"). */
export type ErrorCode = "not_found" | "invalid_argument" | "limit_exceeded" | "conflict" | "unavailable" | (string & {});

/** A refusal from the hub; `message` is the server's text, `code` its machine-readable prefix. */
export class RealtimeAgentsError extends Error {
  override name = "RealtimeAgentsError";
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The events after the subscription's cursor are no longer retained; what the reader had is incomplete. */
export class SubscriptionLostError extends Error {
  override name = "SubscriptionLostError";
  constructor(readonly taskId: string, readonly cursor: string | undefined, readonly liveCursor: string) {
    super(`Events of task '${taskId}' after '${cursor ?? "the start"}' are no longer retained; reload the task.`);
  }
}

/** The connection closed for good (reconnecting gave up, or the client was closed). */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  constructor(message = "The connection to the hub is closed.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** text() of a task that failed. */
export class TaskFailedError extends Error {
  override name = "TaskFailedError";
  constructor(readonly taskId: string, readonly code: string, message: string, readonly partialText: string) {
    super(message);
  }
}

/** text() of a task that was interrupted. */
export class TaskCancelledError extends Error {
  override name = "TaskCancelledError";
  constructor(readonly taskId: string, readonly reason: string, readonly partialText: string) {
    super(`Task '${taskId}' was cancelled: ${reason}`);
  }
}

// SignalR reports a HubException as "An unexpected error occurred invoking 'X' on the server.
// HubException: <our message>", and our message starts with "<code>: ".
const hubException = /HubException: ([a-z_]+): ([\s\S]*)$/;

/** Turns a failed invocation into a RealtimeAgentsError when the server refused it. */
export function fromInvocationError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const m = hubException.exec(error.message);
  return m ? new RealtimeAgentsError(m[1], `${m[1]}: ${m[2]}`, { cause: error }) : error;
}
