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
  ], { stdio: ["ignore", "ignore", "pipe"] });
  process.once("exit", () => { try { process.kill(child.pid, "SIGKILL"); } catch { } });
  const stop = async () => {
    await browser?.close().catch(() => { });
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        const kill = setTimeout(() => { try { process.kill(child.pid, "SIGKILL"); } catch { } }, 3000);
        child.once("exit", () => { clearTimeout(kill); resolve(); });
        try { process.kill(child.pid, "SIGTERM"); } catch { resolve(); }
      });
    }
    rmSync(profile, { recursive: true, force: true });
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
