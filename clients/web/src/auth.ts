/**
 * Signing in to a server that has authentication on. The token the user pastes is kept for this
 * tab only (sessionStorage), handed to the SDK for each (re)connect, and never put in the page's
 * URL or logged. A server in development mode never asks, and then nothing here does anything.
 */

const key = "realtime-agents.access-token";
let fallback = ""; // when the browser refuses storage, the token lives as long as the page

/** The token the user signed in with, or "" (the SDK then sends none). */
export function storedToken(): string {
  try { return sessionStorage.getItem(key) ?? ""; } catch { return fallback; }
}

/** Keeps `token` for this tab, or forgets it. */
export function storeToken(token?: string): void {
  fallback = token ?? "";
  try {
    if (token) sessionStorage.setItem(key, token);
    else sessionStorage.removeItem(key);
  } catch { /* kept in memory only */ }
}

/**
 * Why the hub refuses `token` (or the lack of one), or undefined when it does not: it accepts it,
 * or it is unreachable. A browser WebSocket cannot read the 401 of its handshake, so this asks the
 * hub's negotiate endpoint over HTTP with the token in a header, and the 401's Problem Details say
 * what was wrong (expired, bad signature, malformed…). Asked before a new token is used, it also
 * keeps a refused token out of WebSocket URLs, which browsers print in their console.
 */
export async function refusal(hubUrl: string, token: string): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(`${hubUrl}/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      cache: "no-store",
      credentials: "omit",
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return undefined;
  }
  if (response.status !== 401) return undefined;
  // Without a token the server's text is about headers, which a person cannot set: say it plainly.
  if (!token) return "This server needs an access token.";
  const problem = (await response.json().catch(() => undefined)) as { detail?: unknown } | undefined;
  return typeof problem?.detail === "string" && problem.detail
    ? problem.detail
    : "The server did not accept this access token.";
}
