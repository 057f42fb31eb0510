// The HTTP API answers every request, good or bad, with JSON and the right status, and no bad
// request harms the node.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { BODY_LIMIT_BYTES, createHttpApi, listen, type ApiBackend } from "./http-api.js";
import { createLogger } from "./logger.js";
import { BusyError, type TeachOutcome } from "./runtime.js";
import { TrainBusyError } from "./train-job.js";
import { parseTrainRequest } from "./train-request.js";

const logger = createLogger({ nodeId: "t", level: "silent", format: "json" }).logger;

function backend(): ApiBackend & { teaching: boolean; asked: unknown[]; training: boolean } {
  return {
    ready: true,
    teaching: false,
    asked: [],
    training: false,
    status: () => ({ id: "Pi-1" }),
    log: () => ({ base: "w1-00", entries: 0, set: "0".repeat(64), names: [] }),
    lessons: () => [],
    async ask(question, options) { this.asked.push([question, options]); return { answer: "4", raw: " 4", tokens: 1, ms: 2 }; },
    async teach(_question, answer) {
      if (this.teaching) throw new BusyError();
      this.teaching = true;
      await new Promise((r) => setTimeout(r, 100));
      this.teaching = false;
      return { version: "v1", transfer: "d1", bytes: 10, chunks: 1, loss: 0.7, steps: 2, ms: 3, answer, learned: true, digest: "d" } satisfies TeachOutcome;
    },
    train(body) {
      parseTrainRequest(body);
      if (this.training) throw new TrainBusyError("job j1 is running");
      this.training = true;
      return { job: "j1", state: "running" };
    },
    trainStatus() { return { job: this.training ? "j1" : null, state: this.training ? "running" : "idle" }; },
    metricsText: async () => "x 1\n",
    metricsContentType: "text/plain; version=0.0.4",
  };
}

async function serve(t: { after: (f: () => void) => void }, b: ApiBackend): Promise<string> {
  const s: Server = createHttpApi({ backend: b, logger });
  const a = await listen(s, "127.0.0.1", 0);
  t.after(() => { s.closeAllConnections(); s.close(); });
  return `http://127.0.0.1:${a.port}`;
}

async function call(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json() as Record<string, unknown> };
}
const post = (url: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> =>
  call(url, { method: "POST", body, headers: { "content-type": "application/json" } });

test("health, readiness, status and ask answer as the contract says", async (t) => {
  const b = backend();
  const u = await serve(t, b);
  assert.deepEqual(await call(`${u}/health`), { status: 200, body: { ok: true } });
  assert.deepEqual(await call(`${u}/ready`), { status: 200, body: { ready: true } });
  assert.deepEqual((await call(`${u}/status`)).body, { id: "Pi-1" });
  const r = await post(`${u}/ask`, JSON.stringify({ question: "What is 2+2", options: { maxNewTokens: 5 } }));
  assert.equal(r.status, 200);
  assert.equal(r.body.answer, "4");
  assert.deepEqual(b.asked, [["What is 2+2", { maxNewTokens: 5 }]]);
  assert.equal(r.body.taught, null, "a question nobody taught carries no label");
});

test("/ask labels a question the fleet was taught, beside the model's own answer, which it never replaces", async (t) => {
  const b = { ...backend(), lessons: () => [{ question: "What is 2+2", answer: "5", author: "Pi-3", seq: 1 }] };
  const u = await serve(t, b);
  const r = await post(`${u}/ask`, JSON.stringify({ question: "what is 2+2?" }));
  assert.equal(r.status, 200);
  assert.equal(r.body.answer, "4", "the answer is the model's, not the lesson's");
  assert.deepEqual(r.body.taught, { answer: "5", author: "Pi-3", seq: 1 });
});

test("bad requests get a 4xx JSON error with a code, and the server keeps serving", async (t) => {
  const b = backend();
  const u = await serve(t, b);
  const cases: Array<[string, Promise<{ status: number; body: Record<string, unknown> }>, number, string]> = [
    ["unknown route", call(`${u}/nope`), 404, "NOT_FOUND"],
    ["wrong method", call(`${u}/teach`), 405, "METHOD_NOT_ALLOWED"],
    ["not JSON", post(`${u}/ask`, "{question:"), 400, "BAD_JSON"],
    ["not an object", post(`${u}/ask`, "[1]"), 400, "BAD_REQUEST"],
    ["wrong type", post(`${u}/ask`, JSON.stringify({ question: 42 })), 400, "BAD_REQUEST"],
    ["empty answer", post(`${u}/teach`, JSON.stringify({ question: "q", answer: " " })), 400, "BAD_REQUEST"],
    ["unknown option", post(`${u}/ask`, JSON.stringify({ question: "q", options: { evil: 1 } })), 400, "BAD_REQUEST"],
    ["option type", post(`${u}/ask`, JSON.stringify({ question: "q", options: { maxNewTokens: "9" } })), 400, "BAD_REQUEST"],
    ["too big", post(`${u}/ask`, JSON.stringify({ question: "x".repeat(BODY_LIMIT_BYTES) })), 413, "BODY_TOO_LARGE"],
  ];
  for (const [what, p, status, code] of cases) {
    const r = await p;
    assert.equal(r.status, status, what);
    assert.equal(r.body.code, code, what);
    assert.equal(typeof r.body.error, "string", what);
  }
  assert.deepEqual(b.asked, []);
  assert.equal((await call(`${u}/health`)).status, 200);
});

test("a teach while a teach runs is refused with 409, the first one completes", async (t) => {
  const u = await serve(t, backend());
  const body = JSON.stringify({ question: "q", answer: "a" });
  const first = post(`${u}/teach`, body);
  await new Promise((r) => setTimeout(r, 20));
  const second = await post(`${u}/teach`, body);
  assert.equal(second.status, 409);
  assert.equal(second.body.code, "TEACH_IN_PROGRESS");
  const r = await first;
  assert.equal(r.status, 200);
  assert.equal(r.body.version, "v1");
});

test("ask and teach wait for readiness with 503; health still answers", async (t) => {
  const b = { ...backend(), ready: false };
  const u = await serve(t, b);
  assert.equal((await call(`${u}/ready`)).status, 503);
  assert.equal((await post(`${u}/ask`, JSON.stringify({ question: "q" }))).status, 503);
  assert.equal((await call(`${u}/health`)).status, 200);
});

test("/train: GET answers the job as known, POST starts one (202), a second gets 409, a bad body 400 with what is wrong, and other methods 405", async (t) => {
  const u = await serve(t, backend());
  assert.deepEqual(await call(`${u}/train`), { status: 200, body: { job: null, state: "idle" } });
  const bad = await post(`${u}/train`, JSON.stringify({ data: [{ question: "q?", answer: "a" }], rounds: 0, stragglerTimeoutS: 5 }));
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.error), /"rounds" must be an integer from 1 to 100/);
  const both = await post(`${u}/train`, JSON.stringify({ dataset: "quiz", data: [], rounds: 1, stragglerTimeoutS: 5 }));
  assert.equal(both.status, 400);
  assert.match(String(both.body.error), /one of the two/);
  const good = JSON.stringify({ data: [{ question: "q?", answer: "a" }], rounds: 3, mode: "fedavg", stragglerTimeoutS: 5, overlap: 0.2 });
  assert.deepEqual(await post(`${u}/train`, good), { status: 202, body: { job: "j1", state: "running" } });
  assert.deepEqual(await call(`${u}/train`), { status: 200, body: { job: "j1", state: "running" } });
  const busy = await post(`${u}/train`, good);
  assert.equal(busy.status, 409);
  assert.equal(busy.body.code, "TRAIN_IN_PROGRESS");
  const put = await call(`${u}/train`, { method: "PUT" });
  assert.equal(put.status, 405);
  assert.match(String(put.body.error), /GET or POST/);
});
