// Every example `fleet-node --help` prints is run, all of them together as one fleet of real
// processes on this machine, as printed: only the ports (free ones instead of 5000, 5001, 8477, ...,
// the same mapping in every flag), the state folders (a scratch dir) and the broadcast address
// (loopback's, not the LAN's) differ. Each node must see every other one and a teach on each must be
// merged by all the others, both ways.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { DEFAULT_HTTP, DEFAULT_UDP_PORT, ENV } from "../node/options.js";
import { freeTcpPorts, nodeEntry, NodeProc, until, type NodeSpec } from "../../../test/support/e2e-harness.js";
import { freeUdpPorts } from "../../../test/support/procs.js";
import { testScope } from "../../../test/support/scope.js";

const LOOPBACK_BROADCAST = "127.255.255.255";

/** The command lines under "Examples:" in --help, without the leading `fleet-node`. */
function helpExamples(): string[][] {
  const help = execFileSync(process.execPath, [nodeEntry(), "--help"], { encoding: "utf8" });
  const at = help.indexOf("Examples:");
  assert.ok(at >= 0, "--help has no Examples: section");
  return help.slice(at).split("\n").slice(1).map((l) => l.trim()).filter((l) => l.startsWith("fleet-node "))
    .map((l) => l.split(/\s+/).slice(1));
}

/** One port number of the examples -> one free port here, the same for every flag that names it. */
class PortMap {
  private readonly map = new Map<number, number>();
  constructor(private readonly free: number[]) {}
  get(port: number): number {
    let p = this.map.get(port);
    if (p === undefined) {
      p = this.free.shift();
      assert.ok(p !== undefined, "more ports in the examples than the test reserved");
      this.map.set(port, p);
    }
    return p;
  }
  hostPort(hp: string): string {
    const i = hp.lastIndexOf(":");
    return `${hp.slice(0, i)}:${this.get(Number(hp.slice(i + 1)))}`;
  }
}

/** The example's command line with its ports mapped and its state under root; defaults it relies on become FLEET_* variables. */
function asRun(argv: string[], udp: PortMap, tcp: PortMap, root: string): NodeSpec {
  const id = argv[0]!;
  const out = [id];
  const env: Record<string, string> = {};
  const stateDir = join(root, id);
  let http: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!flag.startsWith("--") || value === undefined || value.startsWith("--")) { out.push(flag); continue; }
    i++;
    if (flag === "--port") out.push(flag, String(udp.get(Number(value))));
    else if (flag === "--peer") out.push(flag, udp.hostPort(value));
    else if (flag === "--http") out.push(flag, (http = tcp.hostPort(value)));
    else if (flag === "--state-dir") out.push(flag, stateDir);
    else out.push(flag, value);
  }
  if (!argv.includes("--port")) env[ENV.port] = String(udp.get(DEFAULT_UDP_PORT));
  // A node without --peer broadcasts, by default to its LAN's address: keep the test on loopback.
  if (!argv.includes("--peer") && !argv.includes("--broadcast")) env[ENV.broadcast] = LOOPBACK_BROADCAST;
  if (!http) env[ENV.http] = http = tcp.hostPort(DEFAULT_HTTP);
  // The default state folder is ./state/<id>: run where it lands in root.
  return { id, udp: 0, http: Number(http.split(":")[1]), stateDir, peers: [], argv: out, env, cwd: root };
}

test("the --help examples, run together, make a fleet that syncs every way", { timeout: 240_000 }, async (t) => {
  const examples = helpExamples();
  assert.ok(examples.length >= 2, `--help shows ${examples.length} examples`);
  const scope = testScope(t);
  const root = await scope.dir("help-examples-");
  const udp = new PortMap(await freeUdpPorts(2 * examples.length));
  const tcp = new PortMap(await freeTcpPorts(2 * examples.length));
  const nodes = examples.map((argv) => scope.proc(new NodeProc(asRun(argv, udp, tcp, root))));
  await Promise.all(nodes.map((n) => n.ready()));
  const ids = nodes.map((n) => n.spec.id);
  for (const n of nodes) {
    await until(`${n.name} to list every other node as a peer`, async () => {
      const seen = (await n.status()).peers.map((p) => p.id);
      return ids.every((id) => id === n.spec.id || seen.includes(id));
    }, 30_000);
  }
  for (const [k, teacher] of nodes.entries()) {
    const r = await teacher.post<{ version: string }>("/teach", { question: `What is ${k}+2`, answer: String(k + 2) });
    for (const n of nodes.filter((x) => x !== teacher)) {
      await until(`${n.name} to merge ${teacher.name}'s delta ${r.version}`,
        async () => (await n.status()).applied.some((a) => a.version === r.version), 60_000);
    }
  }
});
