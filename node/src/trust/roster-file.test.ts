// The roster file: read at start (a bad line names the file and the line), then polled.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rawPublicKey } from "./keys.js";
import { readRosterFile, RosterFileError, watchRosterFile } from "./roster-file.js";
import type { Roster } from "./roster.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const tmp = tempDirs("fleet-roster-");
const key = (): string => Buffer.from(rawPublicKey(generateKeyPairSync("ed25519").publicKey)).toString("base64");
const [k1, k2] = [key(), key()];

test("a bad line stops the read with the file and the line; a missing file says so", () => {
  const file = join(tmp(), "roster");
  writeFileSync(file, `Pi-1 ${k1}\n\nPi-2 nope\n`);
  assert.throws(() => readRosterFile(file), (e: Error) => e instanceof RosterFileError && e.message.startsWith(`roster ${file}: line 3:`));
  assert.throws(() => readRosterFile(join(tmp(), "none")), /cannot read it \(ENOENT\)/);
});

test("polling: a new valid roster is taken, a bad one reported once and the one in force kept, a removed file reported", async () => {
  const file = join(tmp(), "roster");
  writeFileSync(file, `Pi-1 ${k1}\nPi-2 ${k2}\n`);
  const { text } = readRosterFile(file);
  const seen: Roster[] = [];
  const errors: string[] = [];
  const w = watchRosterFile(file, text, { change: (r) => seen.push(r), error: (m) => errors.push(m) }, 10);
  try {
    await sleep(50);
    assert.equal(seen.length, 0, "unchanged content: nothing to do");
    writeFileSync(file, `Pi-1 ${k1}\n!Pi-2 ${k2}\n`);
    await sleep(60);
    assert.equal(seen.length, 1);
    assert.deepEqual([...seen[0]!.members.keys()], ["Pi-1"]);
    assert.deepEqual([...seen[0]!.revoked.keys()], ["Pi-2"]);
    writeFileSync(file, `Pi-1 ${k1}\nPi-2\n`);
    await sleep(60);
    assert.equal(seen.length, 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /line 2: .* the roster in force is kept/);
    rmSync(file);
    await sleep(60);
    assert.equal(errors.length, 2);
    assert.match(errors[1]!, /ENOENT/);
    writeFileSync(file, `# re-enrolled\nPi-1 ${k1}\nPi-2 ${k2}\n`);
    await sleep(60);
    assert.equal(seen.length, 2, "a good file after a bad one is taken again");
  } finally {
    w.stop();
  }
});
