// Measures the time from clicking Send to the first answer token painted, in Chromium against
// the real server (demo agent: firstTokenDelayMs=0, no tools, no reasoning, so what is measured
// is the UI + SDK + hub + worker path, not the agent's pretend thinking).
// Usage: npm run build && node scripts/measure.mjs [runs=20]
// Needs the server dll (REALTIMEAGENTS_SERVER_DLL or the repo's Debug build).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../typescript/test/server.mjs";
import { startBrowser } from "../test/browser.mjs";

const runs = Number(process.argv[2] ?? 20);
const here = path.dirname(fileURLToPath(import.meta.url));
const server = await startServer({ cwd: path.resolve(here, "../../../src/RealtimeAgents.Server") });
const chrome = await startBrowser();
try {
  const context = await chrome.browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/?tokens=5&tokenIntervalMs=10&firstTokenDelayMs=0&toolCalls=0&reasoning=false`);
  await page.waitForSelector('#connection[data-state="connected"]');
  const samples = [];
  for (let i = 0; i < runs + 3; i++) {
    await page.click("#new-chat");
    await page.fill("#composer-input", `Trip to Lisbon, run ${i}`);
    const ms = await page.evaluate(() => new Promise((resolve) => {
      let clicked = 0;
      document.querySelector("#send").addEventListener("click", () => { clicked = performance.now(); }, { capture: true, once: true });
      const observer = new MutationObserver(() => {
        const text = document.querySelector(".turn .answer .text");
        if (!text?.textContent) return;
        observer.disconnect();
        // The frame after the mutation is the one that paints it.
        requestAnimationFrame(() => resolve(performance.now() - clicked));
      });
      observer.observe(document.querySelector("#log"), { subtree: true, childList: true, characterData: true });
      setTimeout(() => document.querySelector("#send").click(), 0);
    }));
    await page.waitForSelector('.turn[data-phase="done"]');
    if (i >= 3) samples.push(ms); // the first runs warm up the JIT on both sides
  }
  samples.sort((a, b) => a - b);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  console.log(`Send → first token painted, ${samples.length} runs: median ${q(0.5).toFixed(1)} ms, ` +
    `p90 ${q(0.9).toFixed(1)} ms, min ${samples[0].toFixed(1)} ms, max ${samples.at(-1).toFixed(1)} ms`);
} finally {
  await chrome.stop();
  await server.stop();
}
