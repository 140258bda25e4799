// The chat beside the best: Markdown answers (and no script from a hostile one), copy buttons,
// links and reloads that land on the live task, a message that could not be sent stays, the
// phone layout, input over the server's limit, and axe-core on the main screens.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startProxy, startServer } from "../../typescript/test/server.mjs";
import { startBrowser } from "./browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, "../test-output");
mkdirSync(shots, { recursive: true });
const serverDir = path.resolve(here, "../../../src/RealtimeAgents.Server");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let server, chrome;

before(async () => {
  [server, chrome] = await Promise.all([startServer({ cwd: serverDir }), startBrowser()]);
});

after(async () => {
  await chrome?.stop();
  await server?.stop();
});

async function openChat(query = "", { width = 1100, height = 800, origin = server.url, hash = "", dark = false } = {}) {
  const context = await chrome.browser.newContext({ viewport: { width, height }, colorScheme: dark ? "dark" : "light" });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss(); });
  await page.goto(`${origin}/?${query}${hash}`);
  await page.waitForSelector('#connection[data-state="connected"]');
  return { page, context, errors, close: () => context.close() };
}

async function send(page, text) {
  await page.fill("#composer-input", text);
  await page.keyboard.press("Enter");
}

const lastTurn = ".turn:last-of-type";
const quick = "tokenIntervalMs=5&firstTokenDelayMs=0&toolDelayMs=20";

/** axe-core's serious and critical findings on the page as it is now. */
async function axeViolations(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

describe("answers as Markdown", { timeout: 120_000 }, () => {
  test("a Markdown answer renders its heading, list, table and code block, and the code has a copy button", async () => {
    const { page, errors, close } = await openChat(`markdown=true&tokens=2000&${quick}&toolCalls=2`);
    try {
      await send(page, "Plan a 3-day trip to Porto");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.screenshot({ path: path.join(shots, "20-markdown-streaming.png") });
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      const answer = `${lastTurn} .answer .text.assistant`;
      assert.equal(await page.textContent(`${answer} h3`), "3 days in Porto");
      assert.equal(await page.locator(`${answer} ul > li`).count(), 3);
      assert.equal(await page.textContent(`${answer} ul > li:first-child strong`), "Day 1");
      assert.deepEqual(await page.$$eval(`${answer} table th`, (ths) => ths.map((t) => t.textContent)), ["Day", "Morning", "Evening"]);
      assert.equal(await page.locator(`${answer} table tbody tr`).count(), 3);
      assert.equal(await page.textContent(`${answer} pre code`), '{ "destination": "Porto", "days": 3 }');
      assert.equal(await page.getAttribute(`${answer} pre code`, "data-lang"), "json");
      const link = page.locator(`${answer} a`);
      assert.equal(await link.getAttribute("href"), "https://example.com/guide/Porto");
      assert.equal(await link.getAttribute("target"), "_blank");
      assert.match(await link.getAttribute("rel"), /noopener/);
      assert.doesNotMatch(await page.textContent(answer), /\*\*|```|\|---/, "no raw Markdown");

      await page.click(`${answer} .code-block .copy`);
      await page.waitForSelector(`${answer} .code-block .copy[data-state="copied"]`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), '{ "destination": "Porto", "days": 3 }');
      await page.screenshot({ path: path.join(shots, "21-markdown-done.png"), fullPage: true });
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("a hostile answer runs no script: <img onerror> stays text, javascript: links are not links", async () => {
    const hostile = [
      "Hello <img src=x onerror=\"window.pwned=1\"> <script>window.pwned=2</script>",
      "[click me](javascript:window.pwned=3) and [data](data:text/html,<b>x</b>) and [fine](https://example.com/ok)",
      "<a href=\"javascript:window.pwned=4\">raw</a> **bold <em onmouseover=\"window.pwned=5\">x</em>**",
    ].join("\n\n");
    const { page, errors, close } = await openChat(`answer=${encodeURIComponent(hostile)}&${quick}&toolCalls=0&reasoning=false`);
    try {
      await send(page, "anything");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      const answer = `${lastTurn} .answer`;
      assert.equal(await page.locator(`${answer} img, ${answer} script, ${answer} em[onmouseover]`).count(), 0);
      const hrefs = await page.$$eval(`${answer} a`, (as) => as.map((a) => a.getAttribute("href")));
      assert.deepEqual(hrefs, ["https://example.com/ok"]);
      assert.match(await page.textContent(answer), /<img src=x onerror="window.pwned=1">/, "markup shows as text");
      assert.match(await page.textContent(answer), /\[click me\]\(javascript:window.pwned=3\)/);
      // Hover and click whatever is there: nothing runs.
      await page.hover(`${answer} strong`);
      await page.click(`${answer} .text`, { position: { x: 5, y: 5 } });
      assert.equal(await page.evaluate(() => window.pwned), undefined);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("the copy button of an answer puts its text on the clipboard", async () => {
    const { page, close } = await openChat(`tokens=12&${quick}&toolCalls=1`);
    try {
      await send(page, "Plan a trip to Rome");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      await page.click(`${lastTurn} .meta .copy`);
      await page.waitForSelector(`${lastTurn} .meta .copy[data-state="copied"]`);
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      assert.match(copied, /^Here is a plan for Rome\./);
      assert.equal(copied, (await page.textContent(`${lastTurn} .answer .text.assistant`)).trim());
    } finally { await close(); }
  });
});

describe("landing on a task", { timeout: 90_000 }, () => {
  const inView = (page, id) => page.waitForFunction((taskId) => {
    const r = document.querySelector(`.turn[data-task-id="${taskId}"]`)?.getBoundingClientRect();
    return !!r && r.top < innerHeight - 100 && r.bottom > 60;
  }, id);

  test("a link to a task, a link to the live task and a reload each scroll to it and highlight it", async () => {
    const { page, close } = await openChat("tokens=20000&tokenIntervalMs=15&firstTokenDelayMs=0&toolDelayMs=0&toolCalls=1", { height: 560 });
    try {
      // A thread long enough to scroll: three turns stopped after a few lines each, then a live one.
      const ids = [];
      for (const city of ["Rome", "Oslo", "Lima"]) {
        await send(page, `Plan a trip to ${city}`);
        const turn = `.turn:nth-of-type(${ids.length + 1})`;
        await page.waitForFunction((sel) => (document.querySelector(`${sel} .answer`)?.textContent.length ?? 0) > 300, turn);
        await page.click("#stop");
        await page.waitForSelector(`${turn}[data-phase="stopped"]`);
        ids.push(await page.evaluate(() => location.hash.replace("#/task/", "")));
      }
      await send(page, "Plan a trip to Kyoto");
      await page.waitForSelector(`.turn:nth-of-type(4)[data-phase="writing"]`);
      const live = await page.evaluate(() => location.hash.replace("#/task/", ""));

      // A link to a finished turn in the middle: shown from its top, highlighted.
      await page.goto(`${server.url}/#/task/${ids[1]}`);
      await page.waitForSelector(`.turn[data-task-id="${ids[1]}"].linked[data-phase="stopped"]`);
      await inView(page, ids[1]);
      assert.equal(await page.getAttribute(`.task-list a[href="#/task/${ids[1]}"]`, "aria-current"), "");

      // A link to the live task, then a reload: on it, following it as it writes.
      await page.goto(`${server.url}/#/task/${live}`);
      await page.waitForSelector(`.turn[data-task-id="${live}"].linked[data-phase="writing"]`);
      await inView(page, live);
      await page.evaluate(() => scrollTo(0, 0));
      await page.reload();
      await page.waitForSelector(`.turn[data-task-id="${live}"].linked`);
      await inView(page, live);
      assert.equal(await page.locator(".turn.linked").count(), 1);
      await page.screenshot({ path: path.join(shots, "22-linked-live-task.png") });
      await page.click("#stop");
      await page.waitForSelector(`.turn[data-task-id="${live}"][data-phase="stopped"]`);
    } finally { await close(); }
  });
});

describe("when things go wrong", { timeout: 150_000 }, () => {
  test("a message sent while the server is unreachable stays in the box, with the reason and Retry", async () => {
    const proxy = await startProxy(server.port);
    const { page, errors, close } = await openChat(`tokens=10&${quick}`, { origin: `http://127.0.0.1:${proxy.port}` });
    try {
      proxy.refusing = true;
      proxy.drop();
      await page.waitForSelector('#connection:not([data-state="connected"])');
      await send(page, "Plan a trip to Oslo");
      await page.waitForSelector("#error:not([hidden])");
      assert.equal(await page.inputValue("#composer-input"), "Plan a trip to Oslo");
      assert.match(await page.textContent("#error .error-text"), /Not sent: .*(connection|server|reached).*still in the box/i);
      assert.equal(await page.textContent("#error .error-action"), "Retry");
      assert.equal(await page.locator(".turn").count(), 0);
      await page.screenshot({ path: path.join(shots, "23-not-sent.png") });

      proxy.refusing = false;
      await page.waitForSelector('#connection[data-state="connected"], #connection[data-state="resumed"]', { timeout: 20_000 });
      await page.waitForSelector("#error", { state: "hidden" }); // the stale reason goes
      await page.click("#send");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.equal(await page.inputValue("#composer-input"), "");
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await proxy.close();
    }
  });

  test("a message over the server's limit is refused before sending, with the limit in words", async () => {
    const { page, close } = await openChat(`tokens=10&${quick}`);
    try {
      const big = "x".repeat(100 * 1024);
      await page.fill("#composer-input", big);
      await page.waitForSelector("#error:not([hidden])");
      assert.match(await page.textContent("#error"), /This message is 100 KB; the server accepts up to 32 KB/);
      await page.keyboard.press("Enter");
      assert.equal(await page.locator(".turn").count(), 0);
      assert.equal((await page.inputValue("#composer-input")).length, big.length, "the text stays");
      assert.equal(await page.getAttribute("#connection", "data-state"), "connected");
      await page.fill("#composer-input", "Plan a trip to Rome");
      await page.waitForSelector("#error", { state: "hidden" });
    } finally { await close(); }
  });

  test("after an in-memory server restart, a follow-up offers a new chat that carries the message", async () => {
    let first = await startServer({ cwd: serverDir });
    const proxy = await startProxy(first.port);
    let second;
    const { page, errors, close } = await openChat(`tokens=10&${quick}`, { origin: `http://127.0.0.1:${proxy.port}` });
    try {
      await send(page, "Plan a trip to Rome");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      // The server restarts (in-memory: every thread is gone); the page reconnects to the new one.
      second = await startServer({ cwd: serverDir });
      proxy.target = second.port;
      await first.stop();
      first = undefined;
      await page.waitForSelector('#connection[data-state="connected"], #connection[data-state="resumed"]', { timeout: 20_000 });
      await send(page, "Make it Osaka");
      await page.waitForSelector("#error:not([hidden])");
      assert.match(await page.textContent("#error .error-text"), /no longer on the server/);
      assert.equal(await page.inputValue("#composer-input"), "Make it Osaka");
      await page.screenshot({ path: path.join(shots, "27-thread-gone.png") });
      await page.click("#error .error-action");
      await page.waitForSelector(`.turn:only-of-type[data-phase="done"]`);
      assert.match(await page.textContent(`${lastTurn} .answer`), /Here is a plan for Osaka\./);
      assert.equal(await page.isHidden("#error"), true);
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await proxy.close();
      await first?.stop();
      await second?.stop();
    }
  });

  test("a Don't send refusal clears once the agent is done", async () => {
    const { page, close } = await openChat(`tokens=60&tokenIntervalMs=20&firstTokenDelayMs=0&toolDelayMs=0`);
    try {
      await send(page, "Plan a trip to Rome");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.selectOption("#policy", "reject");
      await send(page, "Make it Osaka");
      await page.waitForSelector("#error:not([hidden])");
      assert.match(await page.textContent("#error"), /not sent/);
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      await page.waitForSelector("#error", { state: "hidden" });
    } finally { await close(); }
  });
});

describe("layout and accessibility", { timeout: 150_000 }, () => {
  test("on a phone, Stop and Send share one row on the right, and nothing scrolls sideways", async () => {
    const { page, close } = await openChat(`tokens=3000&tokenIntervalMs=25&firstTokenDelayMs=0&toolDelayMs=0&toolCalls=2`, { width: 375, height: 740 });
    try {
      await send(page, "Plan a 3-day trip to Barcelona");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      const stop = await page.locator("#stop").boundingBox();
      const sendBox = await page.locator("#send").boundingBox();
      const bar = await page.locator(".composer-bar").boundingBox();
      assert.ok(Math.abs(stop.y - sendBox.y) < 4, `Stop (${stop.y}) and Send (${sendBox.y}) on one row`);
      assert.ok(stop.x < sendBox.x, "Stop before Send");
      assert.ok(bar.x + bar.width - (sendBox.x + sendBox.width) < 8, "Send at the right edge");
      await page.screenshot({ path: path.join(shots, "24-phone-streaming.png") });
      const wide = await page.evaluate(() => [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > 376).map((e) => `${e.tagName}.${e.className}`).slice(0, 5));
      assert.deepEqual(wide, [], "no horizontal overflow");
      await page.click("#stop");
      await page.waitForSelector(`${lastTurn}[data-phase="stopped"]`);
    } finally { await close(); }
  });

  for (const dark of [false, true]) {
    test(`axe-core finds nothing serious on the empty, streaming and done screens (${dark ? "dark" : "light"})`, async () => {
      const { page, close } = await openChat(`markdown=true&tokens=2000&tokenIntervalMs=40&firstTokenDelayMs=0&toolDelayMs=300&toolCalls=2`, { dark });
      try {
        assert.deepEqual(await axeViolations(page), [], "empty");
        await send(page, "Plan a 3-day trip to Porto");
        await page.waitForSelector(`${lastTurn} .tool-card`);
        await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
        assert.deepEqual(await axeViolations(page), [], "streaming");
        if (dark) await page.screenshot({ path: path.join(shots, "25-dark-streaming.png") });
        await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
        await page.click(`${lastTurn} .tool-card > summary`);
        await page.click(`${lastTurn} .thinking > summary`);
        assert.deepEqual(await axeViolations(page), [], "done");
        await page.screenshot({ path: path.join(shots, dark ? "26-dark-done.png" : "26-light-done-tools.png"), fullPage: true });
      } finally { await close(); }
    });
  }
});
