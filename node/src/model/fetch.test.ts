// The hub download, against a local server laid out like the hub, serving the course's files.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { courseFixture } from "../../../test/support/paths.js";
import { fetchModel } from "./fetch.js";
import { CheckpointError } from "../checkpoint/errors.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("fetch-");

const FILES: Record<string, Buffer> = {
  "config.json": Buffer.from(JSON.stringify({ n_embd: 2, n_layer: 2, n_head: 2 })),
  "pytorch_model.bin": readFileSync(courseFixture("base.pt")),
  "vocab.json": Buffer.from("{}"),
  "merges.txt": Buffer.from("#version: 0.2\n"),
};
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

interface Hub {
  url: string;
  server: Server;
  requests: string[];
  /** Cut the connection after this many bytes of the next response for the weights. */
  cutAfter?: number;
  /** Lie about the weights' hash. */
  wrongSha?: boolean;
}

async function startHub(): Promise<Hub> {
  const hub = { requests: [] as string[] } as Hub;
  hub.server = createServer((req, res) => {
    const m = /^\/sshleifer\/tiny-gpt2\/resolve\/main\/(.+)$/.exec(req.url ?? "");
    const body = m ? FILES[m[1]!] : undefined;
    hub.requests.push(`${req.url} ${req.headers.range ?? ""}`);
    if (!body) return res.writeHead(404).end();
    const lfs = m![1] === "pytorch_model.bin";
    const headers: Record<string, string> = lfs ? { "X-Linked-Etag": `"${hub.wrongSha ? "0".repeat(64) : sha(body)}"` } : {};
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { ...headers, "Content-Length": String(body.length - start) });
    if (lfs && hub.cutAfter !== undefined) {
      const cut = hub.cutAfter;
      hub.cutAfter = undefined;
      res.write(body.subarray(start, start + cut), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => hub.server.listen(0, "127.0.0.1", r));
  hub.url = `http://127.0.0.1:${(hub.server.address() as AddressInfo).port}`;
  return hub;
}

const opts = (hub: Hub, dir: string) => ({ baseUrl: hub.url, repo: "sshleifer/tiny-gpt2", revision: "main", files: ["config.json", "model.safetensors|pytorch_model.bin", "vocab.json", "merges.txt", "tokenizer.json?"], dir });

test("a model folder is fetched file by file, falling back to pytorch_model.bin, the weights sha-checked", async () => {
  const hub = await startHub();
  const dir = scratch();
  const got = await fetchModel(opts(hub, dir));
  assert.deepEqual(got.map((f) => f.file), ["config.json", "pytorch_model.bin", "vocab.json", "merges.txt"]);
  assert.ok(got.find((f) => f.file === "pytorch_model.bin")!.verified);
  assert.ok(readFileSync(join(dir, "pytorch_model.bin")).equals(FILES["pytorch_model.bin"]!));
  hub.server.close();
});

test("a download cut midway resumes from where it stopped on the next run", async () => {
  const hub = await startHub();
  const dir = scratch();
  hub.cutAfter = 100_000;
  await assert.rejects(fetchModel(opts(hub, dir)), (e) => e instanceof CheckpointError && /run the same command again/.test(e.message));
  assert.ok(existsSync(join(dir, "pytorch_model.bin.part")));
  const got = await fetchModel(opts(hub, dir));
  const weights = got.find((f) => f.file === "pytorch_model.bin")!;
  assert.equal(weights.resumed, true);
  assert.ok(hub.requests.some((r) => /pytorch_model.bin bytes=\d+-/.test(r)));
  assert.ok(readFileSync(join(dir, "pytorch_model.bin")).equals(FILES["pytorch_model.bin"]!));
  hub.server.close();
});

test("a file whose hash differs from the hub's is refused and not kept", async () => {
  const hub = await startHub();
  hub.wrongSha = true;
  const dir = scratch();
  await assert.rejects(fetchModel(opts(hub, dir)), (e) => e instanceof CheckpointError && /sha256 is [0-9a-f]{64}, the hub says 0{64}/.test(e.message));
  assert.ok(!existsSync(join(dir, "pytorch_model.bin")) && !existsSync(join(dir, "pytorch_model.bin.part")));
  hub.server.close();
});

test("an unreachable hub is an error that says what to do", async () => {
  await assert.rejects(fetchModel({ ...opts({ url: "http://127.0.0.1:9" } as Hub, scratch()), files: ["config.json"] }), (e) => e instanceof CheckpointError && /FLEET_HUB_URL/.test(e.message));
});
