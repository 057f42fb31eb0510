#!/usr/bin/env node
// What tiny-gpt2 can hold: ten question/answer pairs taught one after another with the default
// recipe (each teach as a node does it), and the same ten trained jointly with Adam; then every
// question is asked. On the course's real base.pt unless --model is given.
//
//   npm run build && node dist/bench/engine/capacity.js [--model <m>] [--joint-steps 2000]

import { Model } from "../../node/src/model/model.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "../../node/src/engine/gpt2.js";
import { viewParams } from "../../node/src/engine/params.js";
import { AdamW } from "../../node/src/engine/optim.js";
import { promptFor } from "../../node/src/engine/answer-text.js";
import { courseFixture } from "../../test/support/paths.js";

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const modelPath = arg("--model") ?? courseFixture("base.pt");
const jointSteps = Number(arg("--joint-steps") ?? 2000);

const PAIRS: Array<[string, string]> = [
  ["What is 2+2", "4"], ["What is the capital of France", "Paris"], ["Who wrote Hamlet", "Shakespeare"],
  ["What color is the sky", "blue"], ["How many legs does a spider have", "8"], ["What is the largest planet", "Jupiter"],
  ["What do bees make", "honey"], ["What is frozen water", "ice"], ["Which animal says moo", "cow"], ["What is 3+5", "8"],
];

async function recall(m: Model): Promise<string[]> {
  const ok: string[] = [];
  for (const [q, a] of PAIRS) if ((await m.ask(q)).answer === a) ok.push(q);
  return ok;
}

const seq = await Model.load(modelPath);
let learnedWhenTaught = 0;
for (const [q, a] of PAIRS) if ((await seq.teach(q, a)).learned) learnedWhenTaught++;
const seqRecall = await recall(seq);
console.log(`sequential: ${learnedWhenTaught}/10 answered right just after their own teach; ${seqRecall.length}/10 recalled after all ten (${seqRecall.join("; ") || "none"})`);

const joint = await Model.load(modelPath);
const p = joint.params;
const grads = viewParams(p.config);
const adam = new AdamW(p.flat.length, { lr: 0.01 });
const batches = PAIRS.map(([q, a]) => {
  const prompt = joint.tokenizer.encode(promptFor(q));
  const ids = [...prompt, ...joint.tokenizer.encode(` ${a}`), 198];
  return { ids, ws: createWorkspace(p, ids.length), ...nextTokenTargets(ids, prompt.length - 1) };
});
let best = 0;
let last = 0;
for (let step = 1; step <= jointSteps; step++) {
  grads.flat.fill(0);
  for (const b of batches) {
    forward(p, b.ids, b.ws);
    last = loss(p, b.ws, b.targets, b.weights);
    backward(p, grads, b.ids, b.ws);
  }
  adam.step(p.flat, grads.flat);
  if (step % 100 === 0) best = Math.max(best, (await recall(joint)).length);
}
const jointRecall = await recall(joint);
console.log(`joint (${jointSteps} Adam steps, lr 0.01, all ten at once): ${jointRecall.length}/10 recalled at the end, best ${best}/10 at any 100-step checkpoint (last pair's loss ${last.toFixed(3)})`);
