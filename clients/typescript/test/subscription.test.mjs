import { test } from "node:test";
import assert from "node:assert/strict";
import { Subscription } from "../dist/task.js";

// The server may deliver a short replay, terminal event included, before the Subscribe call's own
// result reaches the client. Whoever waits for ready() must still get that result.
test("ready() resolves when the events, terminal included, arrive before the subscribe result", async () => {
  let forgotten = 0;
  const sub = new Subscription("t1", "th1", "100-0", () => forgotten++);
  sub.accept({ taskId: "t1", threadId: "th1", seq: 8, id: "101-0", kind: "text.delta", ts: 1, data: { messageId: "m", delta: "x" } });
  sub.accept({ taskId: "t1", threadId: "th1", seq: 9, id: "102-0", kind: "task.completed", ts: 2, data: { output: "x", executionMs: 1 } });
  assert.equal(sub.done, true);
  const waiting = sub.ready();
  const result = { taskId: "t1", status: "completed", recovered: true, cursor: "100-0", epoch: "1-0" };
  sub.subscribed(result, "100-0");
  const got = await Promise.race([waiting, new Promise((_, reject) => setTimeout(() => reject(new Error("ready() never resolved")), 2000))]);
  assert.deepEqual(got, result);
  assert.equal(forgotten, 1);
});
