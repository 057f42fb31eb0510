// What one test started, torn down in the right order when it ends. node:test runs `t.after` hooks
// in the order they were added, so a folder registered before the node that writes into it would
// be removed while the node still saves (rm fails with ENOTEMPTY), and a hook that throws leaves
// the later ones' processes running and the runner waiting on them.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Stoppable { stop(): Promise<unknown> }
interface HasAfter { after: (f: () => Promise<void> | void) => void }

export interface TestScope {
  /** A new scratch folder, removed after every process of the scope has stopped. */
  dir(prefix: string): Promise<string>;
  /** A process stopped when the test ends (before any folder is removed). */
  proc<P extends Stoppable>(p: P): P;
}

const scopes = new WeakMap<HasAfter, TestScope>();

/** The scope of test `t` (one per test, however often it is asked for). */
export function testScope(t: HasAfter): TestScope {
  let scope = scopes.get(t);
  if (scope) return scope;
  const procs: Stoppable[] = [];
  const dirs: string[] = [];
  t.after(async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
  });
  scope = {
    async dir(prefix) {
      const d = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    proc(p) {
      procs.push(p);
      return p;
    },
  };
  scopes.set(t, scope);
  return scope;
}
