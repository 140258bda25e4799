import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, LogLevel } from "@realtime-agents/client";
import { startProxy, startServer, timeout } from "../../typescript/test/server.mjs";
import { startBrowser } from "./browser.mjs";

// The real server serves the UI freshly built into src/RealtimeAgents.Server/wwwroot (npm test
// builds it first); Debian's Chromium runs it. Screenshots of the main states go to test-output/.
const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, "../test-output");
mkdirSync(shots, { recursive: true });
const serverDir = path.resolve(here, "../../../src/RealtimeAgents.Server");

let server, chrome, sdk;

before(async () => {
  [server, chrome] = await Promise.all([startServer({ cwd: serverDir }), startBrowser()]);
  sdk = createClient({ url: server.hubUrl, logger: LogLevel.None });
});

after(async () => {
  await sdk?.close().catch(() => { });
  await chrome?.stop();
  await server?.stop();
});

/** A fresh browser context on the chat, with demo agent options in the query string. */
async function openChat(query = "", { width = 1100, height = 800, origin = server.url, waitFor = '#connection[data-state="connected"]' } = {}) {
  const context = await chrome.browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${origin}/?${query}`);
  await page.waitForSelector(waitFor);
  return { page, errors, close: () => context.close() };
}

async function send(page, text) {
  await page.fill("#composer-input", text);
  await page.keyboard.press("Enter");
}

const taskIdOf = (page) => page.evaluate(() => location.hash.replace("#/task/", ""));
const lastTurn = ".turn:last-of-type";

/** The assistant text drawn in a turn, paragraphs joined like the agent's output. */
function renderedAnswer(page, selector = lastTurn) {
  return page.$$eval(`${selector} .answer .text.assistant`, (ps) => ps.map((p) => p.textContent.trim()).filter(Boolean).join("\n\n"));
}

/** What the server says the answer is, read through the SDK. */
async function serverAnswer(taskId) {
  return timeout(sdk.subscribe(taskId).text(), 20_000, "the SDK's answer");
}

const fastQuery = "tokens=40&tokenIntervalMs=25&firstTokenDelayMs=0&toolDelayMs=50";
const slowQuery = "tokens=3000&tokenIntervalMs=25&firstTokenDelayMs=0&toolDelayMs=0";

describe("the chat", { timeout: 150_000 }, () => {
  test("an answer streams in token by token and ends with Done", async () => {
    const { page, errors, close } = await openChat(fastQuery);
    try {
      await page.screenshot({ path: path.join(shots, "01-empty.png") });
      await page.evaluate(() => {
        window.lengths = [];
        new MutationObserver(() => {
          const answer = document.querySelector(".turn:last-of-type .answer");
          if (answer) window.lengths.push(answer.textContent.length);
        }).observe(document.querySelector("#log"), { subtree: true, childList: true, characterData: true });
      });
      await send(page, "Plan a 3-day trip to Porto");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.screenshot({ path: path.join(shots, "02-streaming.png") });
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.equal(await page.textContent(`${lastTurn} .status-text`), "Done");
      const lengths = await page.evaluate(() => [...new Set(window.lengths)]);
      assert.ok(lengths.length >= 20, `the answer grew in ${lengths.length} steps`);
      assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b), "the answer only grows");
      const taskId = await taskIdOf(page);
      assert.match(taskId, /^t[0-9a-f]+$/);
      assert.equal(await renderedAnswer(page), await serverAnswer(taskId));
      assert.equal(await page.isHidden("#stop"), true);
      assert.match(await page.textContent(`${lastTurn} .meta`), /Answered in .* · 40 tokens/);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("reasoning is its own Thinking section; each tool call is a card with its arguments, state and folded result", async () => {
    const { page, close } = await openChat(fastQuery);
    try {
      await send(page, "Plan a trip to Kyoto");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.equal(await page.textContent(`${lastTurn} .thinking > summary`), "Thinking");
      const tools = page.locator(`${lastTurn} .tool-card`);
      assert.equal(await tools.count(), 2);
      assert.equal(await tools.nth(0).locator(".tool-name").textContent(), "search_flights");
      assert.equal(await tools.nth(0).locator(".tool-args").textContent(), 'destination: "Kyoto", when: "next month"');
      assert.equal(await tools.nth(0).getAttribute("data-state"), "done");
      assert.equal(await tools.nth(0).locator(".tool-state").textContent(), "Done");
      assert.equal(await tools.nth(0).locator(".tool-result").isVisible(), false, "the result is folded");
      await tools.nth(0).locator("summary").click();
      assert.equal(await tools.nth(0).locator(".tool-result").isVisible(), true);
      const result = JSON.parse(await tools.nth(0).locator(".tool-result").textContent());
      assert.equal(result.flights.length, 2);
      assert.match(await tools.nth(1).locator(".tool-result").textContent(), /Casa Kyoto/);
      assert.match(await page.textContent(`${lastTurn} .step-reasoning`), /The user wants a trip to Kyoto\. I should find flights/);
      await page.locator(`${lastTurn} .tool-card`).first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shots, "03-steps.png") });
    } finally { await close(); }
  });

  test("Stop mid-answer interrupts the task and shows Stopped", async () => {
    const { page, close } = await openChat(slowQuery);
    try {
      await send(page, "Trip to Paris");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.click("#stop");
      await page.waitForSelector(`${lastTurn}[data-phase="stopped"]`);
      assert.equal(await page.textContent(`${lastTurn} .status-text`), "Stopped");
      assert.equal(await page.isHidden("#stop"), true);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
      assert.equal((await sdk.getTask(await taskIdOf(page))).status, "cancelled");
      assert.equal(await page.textContent(".task-list .chip"), "Stopped");
      await page.screenshot({ path: path.join(shots, "04-stopped.png") });
    } finally { await close(); }
  });

  test("a follow-up becomes the next turn of the thread and is listed with its link", async () => {
    const { page, close } = await openChat(fastQuery);
    try {
      await send(page, "Plan a trip to Porto");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      const first = await taskIdOf(page);
      await send(page, "Now a trip to Rome");
      await page.waitForFunction((id) => location.hash !== `#/task/${id}`, first);
      await page.waitForSelector(`.turn:nth-of-type(2)[data-phase="done"]`);
      const second = await taskIdOf(page);
      assert.notEqual(second, first);
      assert.equal(await page.locator(".turn").count(), 2);
      assert.match(await renderedAnswer(page), /^Here is a plan for Rome\./);
      assert.equal((await sdk.getTask(second)).threadId, (await sdk.getTask(first)).threadId);
      const links = await page.$$eval(".task-list a", (as) => as.map((a) => a.getAttribute("href")));
      assert.deepEqual(links, [`#/task/${first}`, `#/task/${second}`]);
      await page.screenshot({ path: path.join(shots, "05-follow-up.png") });
    } finally { await close(); }
  });

  test("typing while it works interrupts by default: the answer stops and the new question runs", async () => {
    const { page, close } = await openChat("tokens=200&tokenIntervalMs=25&firstTokenDelayMs=0&toolDelayMs=0");
    try {
      await send(page, "Plan a trip to Berlin");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      assert.equal(await page.inputValue("#policy"), "interrupt");
      await send(page, "Prague instead, please");
      await page.waitForSelector(`.turn:nth-of-type(1)[data-phase="stopped"]`);
      assert.equal(await page.textContent(".turn:nth-of-type(1) .status-text"), "Stopped · superseded by a new message");
      await page.waitForSelector(`.turn:nth-of-type(2)[data-phase="writing"]`);
      assert.match(await page.textContent(".turn:nth-of-type(2) .msg.user"), /Prague instead, please/);
      await page.click("#stop");
      await page.waitForSelector(`.turn:nth-of-type(2)[data-phase="stopped"]`);
    } finally { await close(); }
  });

  test("a message sent with Tell it now reaches the running task and changes its course", async () => {
    const { page, close } = await openChat("tokens=120&tokenIntervalMs=25&firstTokenDelayMs=0&toolDelayMs=0");
    try {
      await send(page, "Plan a trip to Madrid");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.selectOption("#policy", "inject");
      await send(page, "Actually, go to Vienna");
      await page.waitForSelector(`${lastTurn} .msg.user.injected`);
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.equal(await page.locator(".turn").count(), 1);
      assert.match(await page.textContent(`${lastTurn} .injected`), /Actually, go to Vienna/);
      const answer = await renderedAnswer(page);
      assert.match(answer, /Changing course to Vienna/);
      assert.equal(answer, await serverAnswer(await taskIdOf(page)));
      await page.screenshot({ path: path.join(shots, "06-injected.png") });
    } finally { await close(); }
  });

  test("reloading mid-answer replays the task from its link with nothing missing or repeated", async () => {
    const { page, errors, close } = await openChat("tokens=250&tokenIntervalMs=20&firstTokenDelayMs=0&toolDelayMs=0");
    try {
      await send(page, "Plan a trip to Lisbon");
      await page.waitForFunction(() => (document.querySelector(".turn:last-of-type .answer")?.textContent.length ?? 0) > 60);
      const taskId = await taskIdOf(page);
      await page.reload();
      assert.equal(await taskIdOf(page), taskId);
      await page.waitForSelector(`.turn[data-task-id="${taskId}"]`);
      assert.equal((await sdk.getTask(taskId)).status, "running", "the reload happened mid-answer");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      await page.screenshot({ path: path.join(shots, "07-reloaded-mid-answer.png") });
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`, { timeout: 20_000 });
      assert.equal(await page.locator(".turn").count(), 1);
      assert.equal(await renderedAnswer(page), await serverAnswer(taskId));
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("a dropped connection shows Reconnecting, then Resumed, and the answer has no gap or repeat", async () => {
    const proxy = await startProxy(server.port);
    const { page, close } = await openChat("tokens=200&tokenIntervalMs=20&firstTokenDelayMs=0&toolDelayMs=0",
      { origin: `http://127.0.0.1:${proxy.port}` });
    try {
      await page.evaluate(() => {
        window.states = [];
        new MutationObserver(() => window.states.push(document.querySelector("#connection").dataset.state))
          .observe(document.querySelector("#connection"), { attributes: true });
      });
      await send(page, "Plan a trip to Oslo");
      await page.waitForFunction(() => (document.querySelector(".turn:last-of-type .answer")?.textContent.length ?? 0) > 40);
      proxy.refusing = true;
      proxy.drop();
      await page.waitForSelector('#connection[data-state="reconnecting"]');
      assert.equal(await page.textContent("#connection .connection-text"), "Reconnecting…");
      await page.screenshot({ path: path.join(shots, "08-reconnecting.png") });
      proxy.refusing = false;
      await page.waitForSelector('#connection[data-state="resumed"]');
      assert.ok(proxy.connections >= 1);
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`, { timeout: 20_000 });
      assert.equal(await renderedAnswer(page), await serverAnswer(await taskIdOf(page)));
      const states = await page.evaluate(() => window.states);
      assert.deepEqual(states.slice(0, 2), ["reconnecting", "resumed"]);
    } finally {
      await close();
      await proxy.close();
    }
  });

  test("everything works from the keyboard: Enter sends, Escape stops, steps open with Enter", async () => {
    const { page, close } = await openChat(slowQuery);
    try {
      assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
      await page.keyboard.type("Trip to Athens");
      await page.keyboard.press("Shift+Enter");
      await page.keyboard.type("with the kids");
      assert.equal(await page.inputValue("#composer-input"), "Trip to Athens\nwith the kids");
      await page.keyboard.press("Enter");
      await page.waitForSelector(`${lastTurn}[data-phase="writing"]`);
      assert.equal(await page.inputValue("#composer-input"), "");
      await page.keyboard.press("Escape");
      await page.waitForSelector(`${lastTurn}[data-phase="stopped"]`);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
      let onSummary = false;
      for (let i = 0; i < 20 && !onSummary; i++) {
        await page.keyboard.press("Shift+Tab");
        onSummary = await page.evaluate(() => document.activeElement?.tagName === "SUMMARY");
      }
      assert.ok(onSummary, "the steps summary is reachable with the keyboard");
      await page.keyboard.press("Enter");
      assert.equal(await page.evaluate(() => document.activeElement.parentElement.open), true);
      assert.equal(await page.getAttribute("#composer-input", "id"), "composer-input");
      assert.ok(await page.$eval("label[for=composer-input]", (l) => l.textContent === "Message"));
      assert.equal(await page.getAttribute("#announcer", "aria-live"), "polite");
    } finally { await close(); }
  });

  test("a failing agent shows Failed with its message, in the dark theme too", async () => {
    const { page, close } = await openChat("tokens=40&tokenIntervalMs=10&firstTokenDelayMs=0&toolDelayMs=0&failAfter=12");
    try {
      await page.emulateMedia({ colorScheme: "dark" });
      await send(page, "Plan a trip to Rome");
      await page.waitForSelector(`${lastTurn}[data-phase="failed"]`);
      assert.match(await page.textContent(`${lastTurn} .status-text`), /^Failed · .*failed on purpose after 12 tokens/);
      assert.equal(await page.textContent(".task-list .chip"), "Failed");
      assert.equal(await page.isHidden("#stop"), true);
      await page.screenshot({ path: path.join(shots, "11-failed-dark.png") });
    } finally { await close(); }
  });

  test("at phone width the chat fits the screen without sideways scrolling", async () => {
    const { page, close } = await openChat(fastQuery, { width: 375, height: 740 });
    try {
      await send(page, "Plan a 3-day trip to Barcelona");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      await page.click(`${lastTurn} .tool-card > summary`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), "no horizontal overflow");
      await page.screenshot({ path: path.join(shots, "09-phone.png") });
      await page.click("#tasks-toggle");
      assert.equal(await page.getAttribute("#tasks-toggle", "aria-expanded"), "true");
      assert.equal(await page.isVisible(".task-list a"), true);
      await page.screenshot({ path: path.join(shots, "10-phone-tasks.png") });
    } finally { await close(); }
  });
});

// --- a server with authentication on -----------------------------------------------------------

const signingKey = "web UI tests only: 0123456789abcdef0123456789abcdef";

/** An HS256 JWT for `sub`, minted here like an identity provider would, valid for `ttlSeconds`. */
function mintToken({ sub = "web-user", ttlSeconds = 600, key = signingKey } = {}) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, iat: now - 7200, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
}

describe("signing in to a server with authentication on", { timeout: 120_000 }, () => {
  let authServer, authSdk;
  const token = mintToken();

  before(async () => {
    authServer = await startServer({
      cwd: serverDir,
      // No clock skew, so a token can expire within a test.
      env: { RealtimeAgents__Auth__SigningKey: signingKey, RealtimeAgents__Auth__ClockSkew: "00:00:00" },
    });
    authSdk = createClient({ url: authServer.hubUrl, accessTokenFactory: () => token, logger: LogLevel.None });
  });

  after(async () => {
    await authSdk?.close().catch(() => { });
    await authServer?.stop();
  });

  /**
   * The chat on the auth server, waiting for the sign-in panel. Records every URL the page had,
   * its console, and how many WebSocket frames it received (a hub connection gets at least the
   * handshake's).
   */
  async function openSignIn(query = quickQuery, options = {}) {
    const chat = await openChat(query, { origin: authServer.url, waitFor: "#signin-token", ...options });
    chat.urls = [chat.page.url()];
    chat.console = [];
    chat.framesReceived = 0;
    chat.page.on("framenavigated", (frame) => { if (frame === chat.page.mainFrame()) chat.urls.push(frame.url()); });
    chat.page.on("console", (message) => chat.console.push(message.text()));
    chat.page.on("websocket", (ws) => ws.on("framereceived", () => chat.framesReceived++));
    return chat;
  }

  async function signInWith(page, value) {
    await page.fill("#signin-token", value);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  /** Waits until the panel shows again with a reason matching `pattern`. */
  async function refusedWith(page, pattern) {
    await page.waitForFunction((source) => !document.querySelector("#signin").hidden
      && new RegExp(source).test(document.querySelector("#signin-reason").textContent), pattern.source);
  }

  const storedToken = (page) => page.evaluate(() => sessionStorage.getItem("realtime-agents.access-token"));
  const quickQuery = "tokens=10&tokenIntervalMs=10&firstTokenDelayMs=0&toolDelayMs=0";

  test("without a token the chat asks for one, and nothing reaches the hub", async () => {
    const { page, errors, close, ...seen } = await openSignIn();
    try {
      const field = page.getByLabel("Access token");
      assert.equal(await field.getAttribute("type"), "password");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "signin-token");
      assert.equal(await page.getByRole("button", { name: "Sign in" }).isVisible(), true);
      assert.equal(await page.getByRole("region", { name: "Sign in" }).isVisible(), true);
      assert.equal(await page.textContent("#signin-reason"), "This server needs an access token.");
      assert.equal(await page.isHidden("#intro"), true);
      assert.equal(await page.isHidden("#sign-out"), true);
      assert.equal(await page.getAttribute("#connection", "data-state"), "offline");
      assert.equal(await page.textContent("#connection .connection-text"), "Not signed in");
      assert.equal(await page.$eval(".dock", (d) => d.inert), true, "the composer cannot be used");
      await page.screenshot({ path: path.join(shots, "12-sign-in.png") });

      // Even a message forced through the composer goes nowhere: it only brings the panel back.
      await page.evaluate(() => {
        document.querySelector("#composer-input").value = "Plan a trip to Porto";
        document.querySelector("#composer").requestSubmit();
      });
      await page.waitForFunction(() => document.activeElement?.id === "signin-token");
      assert.equal(await page.locator(".turn").count(), 0);
      assert.equal(await page.isHidden("#error"), true);
      assert.equal(seen.framesReceived, 0, "no hub connection was made");
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("a token the server refuses shows its reason, and is not kept", async () => {
    const { page, errors, close, ...seen } = await openSignIn();
    const tried = [mintToken({ key: "some other key, 0123456789abcdef0123456789" }), mintToken({ ttlSeconds: -3600 }), "not a token"];
    try {
      await signInWith(page, tried[0]);
      await refusedWith(page, /^The access token's signature is not valid\.$/);
      assert.equal(await page.$eval("#signin-reason", (p) => p.classList.contains("refused")), true);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "signin-token");
      assert.equal(await page.inputValue("#signin-token"), "");
      assert.equal(await storedToken(page), null);
      await page.screenshot({ path: path.join(shots, "13-sign-in-refused.png") });

      await signInWith(page, tried[1]);
      await refusedWith(page, /^The access token has expired; get a new one\.$/);
      await signInWith(page, tried[2]);
      await refusedWith(page, /^The access token is malformed\.$/);
      assert.equal(await storedToken(page), null);
      assert.equal(await page.locator(".turn").count(), 0);
      assert.equal(seen.framesReceived, 0, "no hub connection was made");
      // Checked over HTTP first, a refused token never went into a WebSocket URL (Chromium logs those).
      for (const t of tried) assert.ok(!seen.console.some((text) => text.includes(t) || text.includes(encodeURIComponent(t))), "a refused token is not logged");
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("the right token connects, an answer streams, and a reload stays signed in; the token is never in the URL", async () => {
    const { page, errors, close, ...seen } = await openSignIn();
    try {
      await page.keyboard.type(token);
      await page.keyboard.press("Enter");
      await page.waitForSelector('#connection[data-state="connected"]');
      assert.equal(await page.isHidden("#signin"), true);
      assert.equal(await page.isVisible("#intro"), true);
      assert.equal(await page.isVisible("#sign-out"), true);
      assert.equal(await page.evaluate(() => document.activeElement?.id), "composer-input");
      assert.equal(await storedToken(page), token);

      await send(page, "Plan a trip to Porto");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      const first = await taskIdOf(page);
      assert.equal(await renderedAnswer(page), await timeout(authSdk.subscribe(first).text(), 20_000, "the SDK's answer"));
      assert.equal((await timeout(authSdk.getTask(first), 10_000, "getTask")).status, "completed");

      await page.reload();
      await page.waitForSelector('#connection[data-state="connected"]');
      await page.waitForSelector(`.turn[data-task-id="${first}"][data-phase="done"]`);
      assert.equal(await page.isHidden("#signin"), true);
      await send(page, "Now a trip to Rome");
      await page.waitForSelector(`.turn:nth-of-type(2)[data-phase="done"]`);
      assert.match(await renderedAnswer(page), /^Here is a plan for Rome\./);

      const urls = [...seen.urls, page.url(), await page.evaluate(() => location.href)];
      assert.ok(urls.length >= 3);
      for (const url of urls) assert.ok(!url.includes(token) && !url.includes("access_token"), `the token is not in ${url}`);
      assert.ok(!seen.console.some((text) => text.includes(token)), "the token is not logged");
      assert.ok(!(await page.content()).includes(token), "the token is not in the page");
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("a token that expires during the visit brings the panel back, and a new one carries on", async () => {
    const { page, errors, close } = await openSignIn();
    try {
      const short = mintToken({ ttlSeconds: 4 });
      const expiresAt = JSON.parse(Buffer.from(short.split(".")[1], "base64url")).exp * 1000;
      await signInWith(page, short);
      await page.waitForSelector('#connection[data-state="connected"]');
      await timeout(new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1000)), 6000, "the token's expiry");
      await send(page, "Plan a trip to Porto");
      await refusedWith(page, /expired while connected/);
      assert.equal(await storedToken(page), null);
      assert.equal(await page.inputValue("#composer-input"), "Plan a trip to Porto", "the message is kept");
      assert.equal(await page.locator(".turn").count(), 0);
      await signInWith(page, token);
      await page.waitForSelector('#connection[data-state="connected"]');
      assert.equal(await page.isHidden("#signin"), true);
      await send(page, "Plan a trip to Porto");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("a reconnect the server refuses (the token expired meanwhile) asks to sign in, and then resumes", async () => {
    const proxy = await startProxy(authServer.port);
    const { page, errors, close } = await openSignIn(quickQuery, { origin: `http://127.0.0.1:${proxy.port}` });
    try {
      const short = mintToken({ ttlSeconds: 4 });
      const expiresAt = JSON.parse(Buffer.from(short.split(".")[1], "base64url")).exp * 1000;
      await signInWith(page, short);
      await page.waitForSelector('#connection[data-state="connected"]');
      await send(page, "Plan a trip to Oslo");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      await timeout(new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1000)), 6000, "the token's expiry");
      proxy.drop();
      await refusedWith(page, /^The access token has expired; get a new one\.$/);
      assert.equal(await storedToken(page), null);
      await signInWith(page, token);
      // SignalR's next reconnect attempt (at most 10 s away) takes the new token.
      await page.waitForSelector('#connection[data-state="resumed"]', { timeout: 20_000 });
      assert.equal(await page.isVisible("#sign-out"), true);
      await send(page, "Now a trip to Rome");
      await page.waitForSelector(`.turn:nth-of-type(2)[data-phase="done"]`);
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await proxy.close();
    }
  });

  test("Sign out forgets the token and asks again; signing in again reopens the task in the address bar", async () => {
    const { page, errors, close } = await openSignIn();
    try {
      await signInWith(page, token);
      await page.waitForSelector('#connection[data-state="connected"]');
      await send(page, "Plan a trip to Lisbon");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      const taskId = await taskIdOf(page);
      await page.click("#sign-out");
      await page.waitForSelector("#signin-token");
      assert.equal(await storedToken(page), null);
      assert.equal(await page.textContent("#signin-reason"), "This server needs an access token.");
      assert.equal(await page.isHidden("#sign-out"), true);
      assert.equal(await page.locator(".turn").count(), 0);
      assert.equal(await page.isHidden("#error"), true);
      assert.equal(await taskIdOf(page), taskId);
      await signInWith(page, token);
      await page.waitForSelector(`.turn[data-task-id="${taskId}"][data-phase="done"]`);
      assert.equal(await page.isVisible("#sign-out"), true);
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });

  test("at phone width the sign-in panel and the signed-in header fit without sideways scrolling", async () => {
    const { page, close } = await openSignIn(quickQuery, { width: 375, height: 740 });
    try {
      const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= 375);
      assert.ok(await fits(), "the sign-in panel fits");
      await page.screenshot({ path: path.join(shots, "14-sign-in-phone.png") });
      await signInWith(page, token);
      await page.waitForSelector('#connection[data-state="connected"]');
      await send(page, "Plan a trip to Oslo");
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.equal(await page.isVisible("#sign-out"), true);
      assert.equal(await page.isVisible("#tasks-toggle"), true);
      assert.ok(await fits(), "the header with Sign out fits");
      await page.screenshot({ path: path.join(shots, "15-signed-in-phone.png") });
    } finally { await close(); }
  });
});

describe("tool approvals", () => {
  test("a pending call shows inline with its arguments: Approve runs it and the answer streams on; Deny shows the agent going on without it", async () => {
    const { page, errors, close } = await openChat(
      "agent=demo&requireApproval=true&toolCalls=2&tokens=8&tokenIntervalMs=5&firstTokenDelayMs=0&toolDelayMs=0&reasoning=false");
    try {
      await send(page, "Plan a trip to Oslo");
      const pending = `${lastTurn} .approval[data-status="pending"]`;
      await page.waitForSelector(pending);
      assert.match(await page.textContent(`${pending} .approval-title`), /search_flights/);
      assert.match(await page.textContent(`${pending} .approval-args`), /"destination": "Oslo"/);
      await page.screenshot({ path: path.join(shots, "08-approval.png") });
      await page.click(`${pending} button.approve`);
      await page.waitForSelector(`${lastTurn} .approval[data-status="approved"]`);
      await page.waitForSelector(`${pending} .approval-title >> text=search_hotels`);
      await page.click(`${pending} button.deny`);
      await page.waitForSelector(`${lastTurn} .approval[data-status="denied"]`);
      await page.waitForSelector(`${lastTurn}[data-phase="done"]`);
      assert.deepEqual(await page.$$eval(`${lastTurn} .approval-outcome`, (els) => els.map((e) => e.textContent)), ["Approved", "Denied"]);
      const taskId = await taskIdOf(page);
      assert.equal(await renderedAnswer(page), await serverAnswer(taskId));
      const events = [];
      for await (const ev of sdk.subscribe(taskId).events()) events.push(ev);
      assert.deepEqual(events.filter((e) => e.kind === "tool.result").map((e) => !!e.data.isError), [false, true]);
      assert.equal(events.at(-1).kind, "task.completed");
      assert.deepEqual(errors, []);
    } finally { await close(); }
  });
});
