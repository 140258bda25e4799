// Following a streaming answer: the page keeps its end in view while the reader is at the bottom,
// lets go when they scroll up, and does so without making the browser lay out the page from script
// (a forced, synchronous layout) for the tokens it draws. Checked with a Chromium performance
// trace of a long answer.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, timeout } from "../../typescript/test/server.mjs";
import { startBrowser } from "./browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const serverDir = path.resolve(here, "../../../src/RealtimeAgents.Server");

let server, chrome;

before(async () => {
  [server, chrome] = await Promise.all([startServer({ cwd: serverDir }), startBrowser()]);
});

after(async () => {
  await chrome?.stop();
  await server?.stop();
});

/** A fresh page on the chat, 600 px high so that a long answer has to be scrolled to. */
async function openChat(query) {
  const context = await chrome.browser.newContext({ viewport: { width: 1100, height: 600 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}/?${query}`);
  await page.waitForSelector('#connection[data-state="connected"]');
  return { page, context, errors, close: () => context.close() };
}

async function send(page, text) {
  await page.fill("#composer-input", text);
  await page.keyboard.press("Enter");
}

const lastTurn = ".turn:last-of-type";
const atBottom = () => innerHeight + scrollY >= document.documentElement.scrollHeight - 2;

/**
 * Records a Chromium trace (devtools.timeline, with the script stack that forced a layout) while
 * `run` runs, and counts animation frames meanwhile. Resolves to the Layout events and the frames.
 */
async function traced(context, page, run) {
  const cdp = await timeout(context.newCDPSession(page), 10_000, "a CDP session");
  const events = [];
  cdp.on("Tracing.dataCollected", (d) => events.push(...d.value));
  const complete = new Promise((resolve) => cdp.once("Tracing.tracingComplete", resolve));
  await page.evaluate(() => {
    window.framesSeen = 0;
    const count = () => { window.framesSeen++; requestAnimationFrame(count); };
    requestAnimationFrame(count);
  });
  await timeout(cdp.send("Tracing.start", {
    categories: "devtools.timeline,disabled-by-default-devtools.timeline.stack",
    transferMode: "ReportEvents",
  }), 10_000, "Tracing.start");
  const firstFrame = await page.evaluate(() => window.framesSeen);
  await run();
  const frames = (await page.evaluate(() => window.framesSeen)) - firstFrame;
  await timeout(cdp.send("Tracing.end"), 10_000, "Tracing.end");
  await timeout(complete, 20_000, "the trace");
  await cdp.detach();
  const layouts = events.filter((e) => e.name === "Layout" && (e.ph === "X" || e.ph === "B"));
  // A layout with a script stack was forced by reading layout (or scrolling) from script.
  const forced = layouts.filter((e) => e.args?.beginData?.stackTrace?.length);
  return { layouts: layouts.length, forced: forced.length, frames };
}

describe("following the answer", { timeout: 120_000 }, () => {
  test("a long answer is followed to its end with no layout forced per token", async () => {
    const tokens = 800;
    const { page, context, errors, close } = await openChat(
      `tokens=${tokens}&tokenIntervalMs=1&firstTokenDelayMs=0&toolCalls=0&reasoning=false`);
    try {
      const seen = await traced(context, page, async () => {
        await send(page, "Plan a trip to Porto");
        await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      });
      const per100 = (n) => (n * 100 / tokens).toFixed(1);
      console.log(`# ${tokens} tokens, ${seen.frames} frames: ${seen.layouts} layouts (${per100(seen.layouts)} per 100 tokens), ` +
        `${seen.forced} forced from script (${per100(seen.forced)} per 100 tokens)`);
      assert.match(await page.textContent(`${lastTurn} .meta`), new RegExp(`· ${tokens} tokens`));
      assert.ok(await page.evaluate(() => document.documentElement.scrollHeight > innerHeight * 2), "the answer is longer than the page");
      await page.waitForFunction(atBottom, null, { timeout: 5_000 });
      // The answer is drawn at most once a frame, and the page laid out by the browser when it
      // draws a frame, not by the UI's script in between: sending (the composer's size and the
      // scroll to the new turn) may force a layout or two, the tokens none.
      assert.ok(seen.forced <= 3, `${seen.forced} layouts forced from script while ${tokens} tokens streamed`);
      assert.ok(seen.layouts <= seen.frames + 3, `${seen.layouts} layouts in ${seen.frames} frames`);
      assert.ok(seen.layouts < tokens / 2, `${seen.layouts} layouts for ${tokens} tokens`);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("scrolling up mid-answer lets the answer go on below; back at the bottom, it is followed again", async () => {
    const { page, errors, close } = await openChat("tokens=3000&tokenIntervalMs=10&firstTokenDelayMs=0&toolCalls=0&reasoning=false");
    try {
      await send(page, "Plan a trip to Oslo");
      await page.waitForFunction(() => document.documentElement.scrollHeight > innerHeight + 300);
      await page.waitForFunction(atBottom, null, { timeout: 5_000 });

      // Scrolled to the top within a frame, as a wheel would: the growing answer leaves it there.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => { scrollTo(0, 0); resolve(); })));
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.waitForFunction((h) => document.documentElement.scrollHeight > h + 200, height);
      assert.equal(await page.evaluate(() => scrollY), 0, "the page stayed where the reader put it");

      // Back at the bottom: followed again as it grows.
      await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
      const back = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.waitForFunction((h) => document.documentElement.scrollHeight > h + 200, back);
      await page.waitForFunction(atBottom, null, { timeout: 5_000 });
      assert.equal(await page.getAttribute(lastTurn, "data-phase"), "writing");
      await page.click("#stop");
      await page.waitForSelector(`${lastTurn}[data-phase="stopped"]`);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });
});
