// Test support: Debian's Chromium (never a downloaded browser), started by us so we own its PID,
// driven over CDP by playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Starts Chromium headless with a fresh profile; resolves to { browser, pid, stop() }. */
export async function startBrowser({ timeoutMs = 30_000 } = {}) {
  const profile = mkdtempSync(path.join(os.tmpdir(), "ra-web-chromium-"));
  const child = spawn(chromiumPath, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    `--user-data-dir=${profile}`, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  // Chromium's own children (renderers, utilities) share its process group, which is ours to
  // stop: signalling -pid reaches all of them, so none is left writing into the profile.
  const signalGroup = (signal) => { try { process.kill(-child.pid, signal); } catch { } };
  process.once("exit", () => signalGroup("SIGKILL"));
  const stop = async () => {
    await browser?.close().catch(() => { });
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        const kill = setTimeout(() => signalGroup("SIGKILL"), 3000);
        child.once("exit", () => { clearTimeout(kill); resolve(); });
        signalGroup("SIGTERM");
      });
    }
    signalGroup("SIGKILL"); // children that outlived the main process
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (error) {
      // A leftover temporary profile is not a test failure; say where it is.
      console.error(`# could not remove Chromium profile ${profile}: ${error.message}`);
    }
  };
  let browser;
  try {
    const wsUrl = await new Promise((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${err}`)), timeoutMs);
      child.stderr.setEncoding("utf8").on("data", (chunk) => {
        err += chunk;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`Chromium exited with ${code}:\n${err}`)); });
    });
    child.stderr.resume();
    browser = await chromium.connectOverCDP(wsUrl);
    return { browser, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
