// Opening what a user points at: a bare weights file gets the config its shapes imply.

import { test } from "node:test";
import assert from "node:assert/strict";
import { courseFixture } from "../../../test/support/paths.js";
import { loadModel } from "./load.js";
import { TINY_GPT2 } from "../engine/config.js";

test("the course's base.pt opens as tiny-gpt2: two wide, two layers, two heads, GPT-2's vocabulary", () => {
  const { config, params, weightsFile, dir } = loadModel(courseFixture("base.pt"));
  assert.deepEqual(config, TINY_GPT2);
  assert.equal(params.flat.length, 102_714);
  assert.equal(weightsFile, courseFixture("base.pt"));
  assert.equal(dir, undefined);
});
