// The log's outlets: at the prompt the screen gets only warnings and errors, a log file gets every
// line as JSON.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "./logger.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("node-log-");

test("with sinkLevel warn the sink gets warnings and errors only; the file gets every line at the log level", () => {
  const file = join(scratch(), "node.log");
  const seen: string[] = [];
  const nlog = createLogger({ nodeId: "Pi-1", level: "info", format: "json", sink: (l) => seen.push(l), sinkLevel: "warn", file });
  nlog.logger.debug({ ev: "below_level" }, "not logged at all");
  nlog.logger.info({ ev: "merged" }, "delta merged");
  nlog.logger.warn({ ev: "rejected" }, "delta rejected");
  nlog.logger.error({ ev: "state_save_failed" }, "could not save");
  nlog.close();
  assert.deepEqual(seen.map((l) => JSON.parse(l).ev), ["rejected", "state_save_failed"]);
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { ev: string; node: string });
  assert.deepEqual(lines.map((l) => l.ev), ["merged", "rejected", "state_save_failed"]);
  assert.equal(lines[0]!.node, "Pi-1");
});

test("without sinkLevel every line reaches the sink, pretty when asked", () => {
  const seen: string[] = [];
  const nlog = createLogger({ nodeId: "Pi-1", level: "info", format: "pretty", sink: (l) => seen.push(l) });
  nlog.logger.info({ ev: "merged", mod: "runtime" }, "delta merged");
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /INFO.*\[runtime\] delta merged/);
});
