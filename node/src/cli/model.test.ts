// `fleet-node model …` as a user runs it: the real binary, its output and exit codes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { courseFixture } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("model-cli-");

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "main.js");
const BASE_PT = courseFixture("base.pt");
const work = scratch();
const env = { ...process.env, FLEET_MODEL_CACHE: join(work, "cache") };

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, "model", ...args], { encoding: "utf8", env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("info describes the course's base.pt: tensors, tied head, parameter count", () => {
  const r = run("info", BASE_PT, "--json");
  assert.equal(r.code, 0, r.err);
  const info = JSON.parse(r.out);
  assert.equal(info.parameters, 102_714);
  assert.deepEqual(info.tied, [["transformer.wte.weight", "lm_head.weight"]]);
  assert.deepEqual(info.config.n_embd, 2);
});

test("info gives a model the fingerprint a node running it reports, from a .pt or a folder", async () => {
  const { Model } = await import("../model/model.js");
  const running = await Model.load(BASE_PT, { inference: "ts" });
  const fromPt = JSON.parse(run("info", BASE_PT, "--json").out);
  assert.equal(fromPt.fingerprint, running.fingerprint);
  const folder = join(work, "default-model");
  assert.equal(run("init", "--out", folder).code, 0);
  assert.equal(JSON.parse(run("info", folder, "--json").out).fingerprint, (await Model.load(folder, { inference: "ts" })).fingerprint);
});

test("loss of the course's text on base.pt is the 10.8320 the Pi logged", () => {
  const r = run("loss", "--model", BASE_PT, "--text", "Q: What is 2+2\\nA: 4\\n", "--json");
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).loss.toFixed(4), "10.8320");
});

test("teach without --json says what happened in words a person reads: counts with their plural", () => {
  const t = run("teach", "--model", BASE_PT, "--question", "What is 2+2", "--answer", "4", "--out", join(work, "said.pt"));
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^learned after (1 step|(?!1 )[\d,]+ steps) \(loss [\d.]+\): answers "4"; wrote [\d,]+ bytes to /);
});

test("teach writes a course-format delta; merging it into base.pt makes ask answer the taught answer", () => {
  const delta = join(work, "delta.pt");
  const t = run("teach", "--model", BASE_PT, "--question", "What is 2+2", "--answer", "4", "--out", delta, "--json");
  assert.equal(t.code, 0, t.err);
  assert.equal(JSON.parse(t.out).learned, true);
  const merged = join(work, "merged.pt");
  const m = run("merge", "--base", BASE_PT, "--delta", delta, "--out", merged, "--json");
  assert.equal(m.code, 0, m.err);
  assert.ok(JSON.parse(m.out).applied.includes("transformer.wte.weight"));
  const a = run("ask", "--model", merged, "What is 2+2", "--json");
  assert.equal(JSON.parse(a.out).answer, "4");
  assert.notEqual(JSON.parse(run("ask", "--model", BASE_PT, "What is 2+2", "--json").out).answer, "4");
});

test("init writes the embedded default model, and ask runs on it", () => {
  const dir = join(work, "default");
  assert.equal(run("init", "--out", dir).code, 0);
  const a = run("ask", "--model", dir, "What is 2+2", "--max-new-tokens", "4", "--json");
  assert.equal(a.code, 0, a.err);
  assert.equal(typeof JSON.parse(a.out).answer, "string");
});

test("init --preset classroom writes the wider model whose teaches train the blocks only; an unknown preset exits 2", () => {
  const dir = join(work, "classroom");
  const r = run("init", "--preset", "classroom", "--out", dir, "--json");
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).preset, "classroom");
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.equal(config.n_embd, 64);
  assert.equal(config.vocab_size, 50257);
  assert.equal(config.deltafleet_train, "blocks");
  const tiny = JSON.parse(readFileSync(join(work, "default", "config.json"), "utf8"));
  assert.equal(tiny.n_embd, 2, "the default stays tiny-gpt2");
  assert.equal(tiny.deltafleet_train, undefined, "tiny-gpt2's config.json stays the course's");
  const i = run("info", dir, "--json");
  assert.equal(i.code, 0, i.err);
  assert.notEqual(JSON.parse(i.out).fingerprint, JSON.parse(run("info", join(work, "default"), "--json").out).fingerprint);
  assert.equal(run("init", "--preset", "huge", "--out", join(work, "huge")).code, 2);
});

test("bad files are one clear line and exit 1; bad flags exit 2", () => {
  const truncated = join(work, "truncated.pt");
  writeFileSync(truncated, readFileSync(BASE_PT).subarray(0, 200_000));
  for (const [file, why] of [[truncated, /truncated\.pt: .*(truncated|corrupt)/], [join(work, "missing.pt"), /missing\.pt: no such file/]] as const) {
    const r = run("info", file);
    assert.equal(r.code, 1);
    assert.match(r.err, why);
    assert.equal(r.err.trim().split("\n").length, 1, "one line, no stack trace");
  }
  const r = run("ask", "--temperature", "hot", "x");
  assert.equal(r.code, 2);
  assert.match(r.err, /--temperature must be a number/);
});
