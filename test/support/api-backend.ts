// A stand-in for the node behind the HTTP API (http-api.ts ApiBackend), for tests of the HTTP layer
// alone — tokens, limits, the page's files and cookie: fixed answers, and the questions taught kept
// for assertions. Tests of the real node run the real runtime (runtime.test.ts, the e2e tests).

import type { ApiBackend } from "../../node/src/node/http-api.js";
import type { TeachOutcome } from "../../node/src/node/runtime.js";

export type StubBackend = ApiBackend & { taught: string[] };

export function stubBackend(over: Partial<ApiBackend> = {}): StubBackend {
  return {
    ready: true,
    taught: [],
    status: () => ({ id: "Pi-1" }),
    log: () => ({ base: "w1-00", entries: 0, set: "0".repeat(64), names: [] }),
    lessons: () => [],
    ask: async () => ({ answer: "4", raw: " 4", tokens: 1, ms: 2 }),
    async teach(question, answer) {
      this.taught.push(question);
      return { version: "v1", transfer: "d1", bytes: 10, chunks: 1, loss: 0.7, steps: 2, ms: 3, answer, learned: true, digest: "d" } satisfies TeachOutcome;
    },
    train: () => ({ job: "j1", state: "running" }),
    trainStatus: () => ({ job: null, state: "idle" }),
    metricsText: async () => "x 1\n",
    metricsContentType: "text/plain; version=0.0.4",
    ...over,
  } as StubBackend;
}
