import type { Json } from "@realtime-agents/client";

/**
 * What the address says: #/task/<id> opens a task's thread, #/ (or nothing) is a new chat. The
 * agent and its options may come from the query (?agent=demo&tokens=30&firstTokenDelayMs=0),
 * which tests and demos use; people never need to.
 */

/** The task the address points at, if any. */
export function routedTask(): string | undefined {
  return /^#\/task\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash)?.[1];
}

/** Points the address at a task, without a history entry. */
export function routeToTask(taskId: string): void {
  history.replaceState(null, "", `#/task/${taskId}`);
}

/** Points the address at a new chat. */
export function routeToNewChat(): void {
  history.replaceState(null, "", "#/");
}

/** Calls `onRoute` whenever the reader changes the address (a link, back, typing it). */
export function onRouteChange(onRoute: () => void): void {
  window.addEventListener("hashchange", onRoute);
}

/** The agent to ask, and its options, from the query string. */
export function agentFromQuery(search = location.search): { agent: string; options: Record<string, Json> } {
  const params = new URLSearchParams(search);
  const options: Record<string, Json> = {};
  for (const [key, value] of params) {
    if (key === "agent") continue;
    options[key] = value === "true" ? true : value === "false" ? false : /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return { agent: params.get("agent") ?? "demo", options };
}
