// Fake DeltaFleet nodes for fleetctl's tests: real node:http servers on loopback that answer the
// node HTTP API (docs/contracts.md) from a tiny model of a fleet: teaching one node adds an entry
// to its log and, after `propagateMs`, to every other node's. A node's digest is a function of the
// entries it holds, whatever their order, as a real node's weights are. Each node answers the
// lessons it holds as taught for the newest `remembers` of them (all, unless told), the way a small
// model forgets older lessons, and GET /lessons?recall=1 asks the newest RECALL_MAX_LESSONS as a node does.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { NodeAddress } from "../../../fleetctl/src/nodes/client.js";
import { RECALL_MAX_LESSONS, type RecalledLesson } from "../../../node/src/node/recall.js";

export interface FakeNodeOptions {
  count: number;
  propagateMs?: number;
  /** Node ids that never merge what others teach. */
  neverMerge?: string[];
  /** Node ids that start with a different model. */
  oddDigest?: string[];
  /**
   * Teaches that do not learn, as tiny-gpt2's often do: /teach reports learned: false and an answer
   * generated only as long as the taught one (a prefix of what /ask then says).
   */
  unlearned?: boolean;
  /** Node ids that missed an entry every other node holds from the start (a course delta). */
  behind?: string[];
  /** The nodes of `behind` fetch the entry they missed after this long (never when absent). */
  catchUpMs?: number;
  /** Node ids that answer 404 on GET /log, as a node from before the fleet log does. */
  noLog?: string[];
  /** The fleet's API token: /status, /ask and /teach answer 401 without it, as a node does to another machine. */
  token?: string;
  /** Lessons every node holds from the start (taught before, by a node not in this fleet). */
  lessons?: number;
  /** Per node id: how many of its newest lessons it answers as taught (default: all). */
  remembers?: Record<string, number>;
  /** Node ids that answer 404 on GET /lessons?recall=1, as a node from before recall does. */
  noRecall?: string[];
}

interface FakeNode {
  id: string;
  /** What the digest is made from besides the entries: the base model, or an odd one. */
  model: string;
  digest: string;
  applied: { version: string; from: string; at: number }[];
  /** Entry names held, in arrival order (GET /log sorts them). */
  names: string[];
  /** Entries this node authored: the next teach is seq + 1. */
  seq: number;
  /** The lessons of the entries held, oldest first. */
  lessons: Array<{ question: string; answer: string; author: string; seq: number; at: number }>;
  server: Server;
  port: number;
  fragmentsSent: number;
}

export interface FakeFleet {
  nodes: NodeAddress[];
  /** Requests seen, "<id> <METHOD> <path>". */
  requests: string[];
  stop(id: string): Promise<void>;
  close(): Promise<void>;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** What a node "answers": a function of its weights, so equal digests answer equally. */
const answerOf = (digest: string) => `word-${digest.slice(0, 6)}`;
/** Base model + the set of entries held: arrival order changes nothing. */
const digestOf = (model: string, names: string[]) => sha(model + [...names].sort().join("\n"));

export async function startFakeFleet(o: FakeNodeOptions): Promise<FakeFleet> {
  const nodes: FakeNode[] = [];
  const requests: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const base = sha("base");
  /** The entry the nodes of `behind` missed. */
  const missed = `course-1~1764892800~${sha("missed")}`;
  const earlier = Array.from({ length: o.lessons ?? 0 }, (_, i) => ({
    name: `pi-0~${i + 1}~${sha(`earlier ${i}`)}`,
    lesson: { question: `Earlier question ${i + 1}?`, answer: `earlier-${i + 1}`, author: "pi-0", seq: i + 1, at: 1_764_892_800_000 + i },
  }));
  for (let i = 1; i <= o.count; i++) {
    const id = `pi-${i}`;
    const model = o.oddDigest?.includes(id) ? sha("odd" + id) : base;
    const n: FakeNode = { id, model, digest: digestOf(model, []), applied: [], names: [], seq: 0, lessons: [], server: createServer(), port: 0, fragmentsSent: 0 };
    const hold = (name: string) => {
      n.names.push(name);
      n.digest = digestOf(n.model, n.names);
    };
    for (const e of earlier) {
      n.lessons.push(e.lesson);
      hold(e.name);
    }
    if (o.behind && !o.behind.includes(id)) hold(missed);
    else if (o.behind && o.catchUpMs !== undefined) {
      const t = setTimeout(() => (timers.delete(t), hold(missed)), o.catchUpMs);
      timers.add(t);
    }
    n.server.on("request", (req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        requests.push(`${id} ${req.method} ${req.url}`);
        const reply = (code: number, v: unknown) => {
          res.writeHead(code, { "content-type": "application/json" });
          res.end(JSON.stringify(v));
        };
        if (o.token !== undefined && req.url !== "/health" && req.url !== "/ready" && req.url !== "/metrics" && req.headers.authorization !== `Bearer ${o.token}`) {
          return reply(401, { error: "needs the fleet's token", code: "UNAUTHORIZED" });
        }
        if (req.method === "GET" && req.url === "/status") {
          return reply(200, {
            id, fingerprint: "f00d", digest: n.digest, version: n.applied.at(-1)?.version,
            applied: n.applied, peers: nodes.filter((x) => x !== n).map((x) => ({ id: x.id, address: "127.0.0.1", port: 5000 })),
            transfers: [], counters: { fragmentsSent: n.fragmentsSent, fragmentsReceived: n.applied.length * 3, retransmits: 0 },
            lastMergeAt: n.applied.at(-1)?.at ?? null, startedAt: Date.now(),
          });
        }
        if (req.method === "GET" && req.url === "/log" && !o.noLog?.includes(id)) {
          const names = [...n.names].sort();
          return reply(200, { base, entries: names.length, set: sha(names.map((x) => `${x}\n`).join("")), names });
        }
        if (req.method === "POST" && req.url === "/teach") {
          const { question, answer } = JSON.parse(body) as { question: string; answer: string };
          // As a node does: the version is the lesson's entry name, author~seq~sha256.
          const version = `${id}~${++n.seq}~${sha(randomBytes(8).toString("hex"))}`;
          const lesson = { question, answer, author: id, seq: n.seq, at: Date.now() };
          const apply = (x: FakeNode) => {
            x.lessons.push(lesson);
            x.names.push(version);
            x.digest = digestOf(x.model, x.names);
            x.applied.push({ version, from: id, at: Date.now() });
          };
          apply(n);
          n.fragmentsSent += 3;
          for (const other of nodes) {
            if (other === n || o.neverMerge?.includes(other.id)) continue;
            const t = setTimeout(() => (timers.delete(t), apply(other)), o.propagateMs ?? 100);
            timers.add(t);
          }
          const said = o.unlearned ? answerOf(n.digest).slice(0, Math.max(1, answer.length)) : answerOf(n.digest);
          return reply(200, { version, bytes: 1234, chunks: 3, loss: 0.69, steps: 2, ms: 12, answer: said, learned: !o.unlearned && answer.length > 0 && question.length > 0 });
        }
        if (req.method === "GET" && req.url === "/lessons?recall=1" && !o.noRecall?.includes(id)) {
          const remembered = n.lessons.length - (o.remembers?.[id] ?? n.lessons.length);
          const lessons: RecalledLesson[] = n.lessons.map((l, i) => ({
            ...l,
            recall: i < n.lessons.length - RECALL_MAX_LESSONS ? null
              : i >= remembered ? { answer: l.answer, recalled: true } : { answer: answerOf(n.digest), recalled: false },
          }));
          return reply(200, { lessons });
        }
        if (req.method === "POST" && req.url === "/ask") return reply(200, { answer: answerOf(n.digest), raw: "", tokens: 3, ms: 7 });
        reply(404, { error: "no such route", code: "NOT_FOUND" });
      });
    });
    await new Promise<void>((r) => n.server.listen(0, "127.0.0.1", r));
    n.port = (n.server.address() as AddressInfo).port;
    nodes.push(n);
  }
  const close = (n: FakeNode) => new Promise<void>((r) => (n.server.closeAllConnections(), n.server.close(() => r())));
  return {
    nodes: nodes.map((n) => ({ host: `host-${n.id}`, nodeId: n.id, address: "127.0.0.1", httpPort: n.port })),
    requests,
    stop: (id) => close(nodes.find((n) => n.id === id)!),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await Promise.all(nodes.filter((n) => n.server.listening).map(close));
    },
  };
}

/** An inventory file pointing at the fake nodes (node ids pi-1..; hosts host-pi-1..). */
export function fakeInventoryYaml(fleet: FakeFleet): string {
  const lines = ["all:", "  children:", "    pis:", "      hosts:"];
  for (const n of fleet.nodes) {
    lines.push(`        ${n.host}:`, `          ansible_host: ${n.address}`, `          fleet_node_id: ${n.nodeId}`, `          fleet_node_http_port: ${n.httpPort}`);
  }
  return lines.join("\n") + "\n";
}
