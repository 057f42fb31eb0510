// `fleet-node model ask --model STATE_DIR`: anyone can check what a node really learned by asking
// its weights offline. A real node is taught over HTTP and stopped; the command, run as a user runs
// it, must give the answers /ask gave and the digest /status gave, and say what is wrong with a
// folder rather than answer from something else.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fleetSpecs, NodeProc } from "../../../test/support/e2e-harness.js";
import { courseFixture } from "../../../test/support/paths.js";
import { testScope } from "../../../test/support/scope.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("model-ask-state-");
const MAIN = join(dirname(fileURLToPath(import.meta.url)), "main.js");

function ask(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, "model", "ask", ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Taught { dir: string; digest: string; asked: Array<[string, string]> }

const LESSONS: Array<[string, string]> = [["What is 2+2", "4"], ["What is the capital of France", "Paris"]];
const UNTAUGHT = "Who wrote Hamlet";

let taught: Promise<Taught> | undefined;
/** A real node's state folder after two teaches over HTTP and a clean stop, with what /ask and /status said before the stop. */
function taughtNode(t: TestContext): Promise<Taught> {
  return taught ??= (async () => {
    const [spec] = await fleetSpecs(1, scratch());
    const node = testScope(t).proc(new NodeProc(spec!));
    await node.ready();
    for (const [question, answer] of LESSONS) await node.post("/teach", { question, answer });
    const asked: Array<[string, string]> = [];
    for (const q of [...LESSONS.map(([q]) => q), UNTAUGHT]) asked.push([q, (await node.post<{ answer: string }>("/ask", { question: q })).answer]);
    const { digest } = await node.status();
    assert.equal(await node.stop(), 0, "the node should stop cleanly on SIGTERM");
    return { dir: spec!.stateDir, digest, asked };
  })();
}

test("a node taught over HTTP, then stopped: its state folder answers what /ask answered, with the digest /status gave", { timeout: 180_000 }, async (t) => {
  const n = await taughtNode(t);
  for (const [question, answer] of n.asked) {
    const r = ask("--model", n.dir, "--json", question);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.answer, answer, `"${question}": the node answered "${answer}", its folder "${out.answer}"`);
    assert.equal(out.digest, n.digest);
    assert.equal(out.entries, LESSONS.length);
    assert.deepEqual(out.problems, []);
  }
  const plain = ask("--model", n.dir, n.asked[1]![0]);
  assert.equal(plain.code, 0, plain.err);
  assert.equal(plain.out, `${n.asked[1]![1]}\n`, "without --json the answer alone, as for a model");
  assert.equal(plain.err, "");
});

test("a state folder with a damaged entry: the answer of what the node would keep, each problem on stderr, exit 1", { timeout: 180_000 }, async (t) => {
  const n = await taughtNode(t);
  const dir = join(scratch(), "copy");
  cpSync(n.dir, dir, { recursive: true });
  const deltas = readdirSync(join(dir, "entries")).filter((f) => f.endsWith(".delta"));
  for (const f of deltas) truncateSync(join(dir, "entries", f), 10);

  const r = ask("--model", dir, "--json", n.asked[0]![0]);
  assert.equal(r.code, 1, "problems must not pass unnoticed in a script");
  const out = JSON.parse(r.out);
  assert.equal(out.entries, 0);
  assert.notEqual(out.digest, n.digest);
  assert.equal(out.problems.length, 2 * deltas.length, "each entry's record and delta file");
  const lines = r.err.trim().split("\n");
  for (const p of out.problems) assert.ok(lines.includes(`fleet-node model: ${dir}: ${p}`), `not on stderr: ${p}\n${r.err}`);
  assert.match(lines.at(-1)!, /the answer is from the 0 entries a node started on it would keep/);
  assert.equal(readdirSync(join(dir, "entries")).length, 2 * deltas.length, "asking set nothing aside");
});

test("asked with another base model than the node's, the folder's entries are not held, and the command says which --base they need", { timeout: 180_000 }, async (t) => {
  const n = await taughtNode(t);
  const before = readdirSync(join(n.dir, "entries")).sort();
  const r = ask("--model", n.dir, "--base", courseFixture("base.pt"), "--json", n.asked[0]![0]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.out);
  assert.equal(out.entries, 0);
  assert.match(r.err, new RegExp(`entries were made on base model w1-[0-9a-f]+, and .*base\\.pt is ${out.baseId}: was the node started with another --model\\? pass it as --base`));
  assert.deepEqual(readdirSync(join(n.dir, "entries")).sort(), before, "nothing set aside in the node's folder");
});

test("a node started with --preset classroom: its folder is asked on that preset's model with no --base, and answers as /ask did", { timeout: 180_000 }, async (t) => {
  const [spec] = await fleetSpecs(1, scratch());
  const node = testScope(t).proc(new NodeProc({ ...spec!, extra: ["--preset", "classroom"] }));
  await node.ready();
  await node.post("/teach", { question: "What is the capital of France", answer: "Paris" });
  const said = (await node.post<{ answer: string }>("/ask", { question: "What is the capital of France" })).answer;
  const { digest } = await node.status();
  await node.stop();
  const r = ask("--model", spec!.stateDir, "--json", "What is the capital of France");
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  assert.match(out.base, /classroom-e\d+-l\d+-seed\d+$/);
  assert.equal(out.entries, 1);
  assert.equal(out.digest, digest);
  assert.equal(out.answer, said);
});

test("a folder that is neither a model nor a state folder is refused with what each would hold", () => {
  const dir = scratch();
  writeFileSync(join(dir, "notes.txt"), "not a model");
  const r = ask("--model", dir, "What is 2+2");
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.match(r.err, /is neither a model folder \(config\.json and model\.safetensors or pytorch_model\.bin\) nor a node's state folder \(entries\/\)/);
  assert.deepEqual(readdirSync(dir), ["notes.txt"], "nothing is created in it");
});

test("--base and --merge-weight belong to a state folder: given for a model they are refused, not ignored", () => {
  const model = join(scratch(), "m");
  mkdirSync(model);
  for (const flag of [["--base", model], ["--merge-weight", "0.5"]]) {
    const r = ask(...flag, "What is 2+2");
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`is a model, not a node's state folder; ${flag[0]} applies only to a state folder`));
  }
  const bad = ask("--model", model, "--merge-weight", "11", "What is 2+2");
  assert.equal(bad.code, 2, "a usage error");
  assert.match(bad.err, /--merge-weight.*must be a number above 0 and at most 10/);
});
