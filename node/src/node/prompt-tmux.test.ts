// The course's prompt on a real terminal (tmux): on Pi-1 a question, an "n", the correct answer,
// and the broadcast; on Pi-2 the merge announced above a half-typed line that stays intact; leaving
// by x or Ctrl-C keeps what both learned. At the default log level the screen shows one line per
// event, no machine log.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { fleetSpecs, nodeEntry, type NodeSpec } from "../../../test/support/e2e-harness.js";

const SOCKET = `fleet-prompt-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });

function startInTmux(session: string, s: NodeSpec): void {
  const cmd = [process.execPath, nodeEntry(), s.id, "--port", String(s.udp), "--bind", "127.0.0.1",
    ...s.peers.flatMap((p) => ["--peer", `127.0.0.1:${p}`]), "--http", `127.0.0.1:${s.http}`, "--state-dir", s.stateDir,
    ].map((a) => `'${a}'`).join(" ");
  // `; sleep` keeps the pane after the node exits so its last words can be read.
  tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", `${cmd}; echo "[exited $?]"; sleep 30`);
}

const screen = (session: string): string => tmux("capture-pane", "-p", "-t", session);
const keys = (session: string, ...k: string[]): void => void tmux("send-keys", "-t", session, ...k);

/** The line that ends a teach: the delta's version, size and fragments. */
const SENT = /sent to the fleet as lesson (\S+) \([\d,]+ bytes? in [\d,]+ fragments?\)\./;

/** Nothing on screen but the prompt's own lines: no log lines, hashes, losses or "1 steps". */
function assertForPeople(id: string, screen: string): void {
  assert.doesNotMatch(screen, /\b(INFO|DEBUG)\b|"ev":/, `${id}: log lines on the prompt's screen:\n${screen}`);
  assert.doesNotMatch(screen, /[0-9a-f]{40}/, `${id}: a full hash on the prompt's screen:\n${screen}`);
  assert.doesNotMatch(screen, /\bloss\b/i, `${id}: a training loss on the prompt's screen:\n${screen}`);
  assert.doesNotMatch(screen, /(^|[^\d,.])1 (steps|tensors|fragments|bytes)\b/, `${id}: a wrong plural:\n${screen}`);
}

async function waitScreen(session: string, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = screen(session);
    if (re.test(s)) return s;
    if (Date.now() > end) throw new Error(`${session}: no ${re} on screen within ${timeoutMs} ms; screen:\n${s.trimEnd()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the prompt: query, 'n', correction, broadcast; the merge shows on Pi-2 without garbling its half-typed line",
  { skip: needs("tmux"), timeout: 180_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "fleet-prompt-"));
    t.after(async () => {
      try { tmux("kill-server"); } catch { /* already gone */ }
      await rm(dir, { recursive: true, force: true });
    });
    const [s1, s2] = await fleetSpecs(2, dir);
    startInTmux("pi1", s1!);
    startInTmux("pi2", s2!);
    await waitScreen("pi1", /Mode: \[t\]rain \/ \[q\]uery \/ \[x\]exit >\s*$/m);
    await waitScreen("pi2", /Mode: \[t\]rain \/ \[q\]uery \/ \[x\]exit >\s*$/m);
    assert.match(screen("pi1"), /Pi-1: UDP 127\.0\.0\.1:\d+ \(v1\), HTTP http:\/\/127\.0\.0\.1:\d+, model [0-9a-f]+/);

    keys("pi2", "What is");   // half a line, no Enter: must survive the merge message
    keys("pi1", "q", "Enter");
    await waitScreen("pi1", /Question:\s*$/m);
    keys("pi1", "What is 2+2", "Enter");
    await waitScreen("pi1", /Is this correct\? \[y\/n\]\s*$/m);
    assert.match(screen("pi1"), /^Answer: /m);
    keys("pi1", "n", "Enter");
    await waitScreen("pi1", /Correct answer:\s*$/m);
    keys("pi1", "4", "Enter");
    const s1screen = await waitScreen("pi1", SENT);
    const version = SENT.exec(s1screen)![1]!;

    const s2screen = await waitScreen("pi2", new RegExp(`Merged ${version.replace(/[.]/g, "\\.")} from Pi-1`));
    const lines = s2screen.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.at(-1), "Mode: [t]rain / [q]uery / [x]exit > What is", `the half-typed line was garbled:\n${s2screen}`);
    assert.equal(lines.filter((l) => l.includes("What is")).length, 1, `the half-typed input was printed twice:\n${s2screen}`);
    for (const [id, text] of [["Pi-1", s1screen], ["Pi-2", s2screen]]) assertForPeople(id!, text!);

    // Train mode on Pi-2: question and answer given directly; Pi-1 merges it.
    keys("pi2", "C-u", "t", "Enter");
    await waitScreen("pi2", /Question:\s*$/m);
    keys("pi2", "What is the capital of France", "Enter");
    await waitScreen("pi2", /^Answer:\s*$/m);
    keys("pi2", "Paris", "Enter");
    const v2 = SENT.exec(await waitScreen("pi2", SENT))![1]!;
    await waitScreen("pi1", new RegExp(`Merged ${v2.replace(/[.]/g, "\\.")} from Pi-2`));

    // Asked on Pi-1, retyped in its own words, Pi-2's lesson is labelled as taught under the answer.
    keys("pi1", "q", "Enter");
    await waitScreen("pi1", /Question:\s*$/m);
    keys("pi1", "what is the capital of france?", "Enter");
    await waitScreen("pi1", /Is this correct\? \[y\/n\]\s*$/m);
    assert.match(screen("pi1"), /^Answer: .*\nThe fleet was taught this question by Pi-2: "Paris"\.$/m);
    keys("pi1", "y", "Enter");
    await waitScreen("pi1", /Mode: \[t\]rain \/ \[q\]uery \/ \[x\]exit >\s*$/m);

    keys("pi2", "x", "Enter");
    await waitScreen("pi2", /Bye\.\s*\n\[exited 0\]/);
    keys("pi1", "C-c");
    await waitScreen("pi1", /Bye\.\s*\n\[exited 0\]/);

    // Leaving by x or Ctrl-C left the state whole: each folder holds both lessons as entries, the one
    // taught there and the one merged from the other node (Pi-1#1 is entries/Pi-1~1~<sha256>.json).
    for (const spec of [s1!, s2!]) {
      const held = (await readdir(join(spec.stateDir, "entries"))).filter((n) => n.endsWith(".json")).map((n) => n.replace(/~([0-9]+)~[0-9a-f]{64}\.json$/, "#$1"));
      assert.deepEqual(held.sort(), [version, v2].sort(), `${spec.id}'s entries`);
    }
  });
