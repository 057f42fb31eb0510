import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fleetRepoRoot } from "../paths.js";
import { PlaybookProgress } from "./progress.js";

// Recorded from ansible-playbook 2.14 with ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl: three hosts,
// "good" runs every task, "bad" fails the last one, "gone" refuses SSH.
const recorded = readFileSync(join(fleetRepoRoot(), "fleetctl/src/ansible/testdata/jsonl-run.jsonl"), "utf8").split("\n");

test("a jsonl run becomes a task list per host", () => {
  const p = new PlaybookProgress();
  for (const line of recorded) p.feed(line);
  assert.deepEqual(p.plays, ["Sample play"]);
  assert.deepEqual(
    p.hosts.get("good")!.tasks.map((t) => [t.task, t.status]),
    [
      ["Ensure a thing is ok", "ok"],
      ["Ensure a thing changed", "changed"],
      ["Ensure a skipped thing", "skipped"],
      ["Ensure a failing thing", "skipped"],
    ],
  );
  assert.deepEqual(p.hosts.get("bad")!.tasks.map((t) => t.status), ["ok", "changed", "skipped", "failed"]);
});

test("a failed command says what it printed, an unreachable host what SSH said", () => {
  const p = new PlaybookProgress();
  for (const line of recorded) p.feed(line);
  assert.equal(p.hosts.get("bad")!.tasks.at(-1)!.msg, "boom");
  const gone = p.hosts.get("gone")!.tasks;
  assert.equal(gone.length, 1);
  assert.equal(gone[0]!.status, "unreachable");
  assert.match(gone[0]!.msg!, /port 1: Connection refused/);
});

test("the totals are Ansible's own once the stats event arrives", () => {
  const p = new PlaybookProgress();
  for (const line of recorded) p.feed(line);
  assert.equal(p.recapSeen, true);
  assert.deepEqual(p.hosts.get("bad")!.counts, { ok: 2, changed: 1, failed: 1, skipped: 1, unreachable: 0, ignored: 0, rescued: 0 });
  assert.equal(p.hosts.get("gone")!.counts.unreachable, 1);
});

test("events are reported one by one as the lines arrive", () => {
  const p = new PlaybookProgress();
  const kinds = recorded.map((l) => p.feed(l)?.kind ?? null).filter((k) => k !== null);
  assert.equal(kinds[0], "play");
  assert.equal(kinds[1], "task");
  assert.equal(kinds.at(-1), "recap");
  // good: 4 tasks, bad: 4, gone: 1 (unreachable ends its play)
  assert.equal(kinds.filter((k) => k === "result").length, 9);
});

test("the default callback's PLAY RECAP is read too (what --verbose shows)", () => {
  const p = new PlaybookProgress();
  p.feed("PLAY RECAP *********************************************************************");
  p.feed("pi-1                       : ok=12   changed=3    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0   ");
  p.feed("pi-2                       : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0   ");
  assert.equal(p.recapSeen, true);
  assert.equal(p.hosts.get("pi-1")!.counts.changed, 3);
  assert.equal(p.hosts.get("pi-2")!.counts.unreachable, 1);
});

test("lines that are not events are ignored, not fatal", () => {
  const p = new PlaybookProgress();
  assert.equal(p.feed(""), null);
  assert.equal(p.feed("[WARNING]: something"), null);
  assert.equal(p.feed("{not json"), null);
  assert.equal(p.feed('{"_event":"v2_playbook_on_no_hosts_matched"}'), null);
  assert.equal(p.hosts.size, 0);
});
