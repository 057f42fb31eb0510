import { Command, Option } from "commander";
import { FleetError } from "../errors.js";
import { emit, processIo, table, type Io } from "../io.js";
import { fleetStatus, type FleetStatus } from "../nodes/fleet-status.js";
import { inventoryFrom, withInventory } from "./playbook-options.js";
import { selectHosts } from "../inventory.js";

interface StatusOptions {
  inventory?: string;
  limit?: string;
  timeout: string;
  json?: boolean;
}

/** `fleetctl status`: a row per node from its /status, and whether all hold the same model.
 * Exits 1 when a node is down or the digests differ, so scripts can wait on it. */
export function statusCommand(io: Io = processIo): Command {
  return withInventory(new Command("status"))
    .description("show every node's state (up, version, model digest, peers, merges, fragments) and whether all models agree")
    .option("-l, --limit <hosts>", "only these hosts (comma-separated host names or node ids)")
    .addOption(new Option("--timeout <ms>", "how long to wait for each node").default("5000"))
    .option("--json", "print the status as JSON")
    .action(async (opts: StatusOptions) => {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new FleetError("USAGE", `--timeout ${opts.timeout} is not a positive number of milliseconds`);
      const inv = await inventoryFrom(opts);
      const hosts = selectHosts(inv, opts.limit?.split(",").map((s) => s.trim()).filter(Boolean));
      const status = await fleetStatus(
        hosts.map((h) => ({ host: h.name, nodeId: h.nodeId, address: h.address, httpPort: h.httpPort })),
        timeoutMs,
      );
      emit(io, Boolean(opts.json), status, formatStatus);
      if (!status.ok) {
        throw new FleetError("CHECK_FAILED", status.up < status.total ? `${status.total - status.up} of ${status.total} nodes are down` : `the nodes hold ${status.digests.length} different models`, {
          suggestion: status.up < status.total ? "`fleetctl up` starts them; `fleetctl logs` shows why they stopped" : "wait for merges to finish, or look at `fleetctl logs` for rejected deltas",
          reported: true,
        });
      }
    });
}

export function formatStatus(s: FleetStatus): string {
  const short = (d: string | null) => (d ? d.slice(0, 12) : "-");
  const n = (v: number | null) => (v === null ? "-" : String(v));
  const rows = s.nodes.map((r) => [
    r.nodeId,
    r.host,
    r.up ? "up" : "DOWN",
    r.version ? r.version.slice(0, 16) : "-",
    short(r.digest),
    String(r.peers),
    String(r.applied),
    r.lastMergeAt ? r.lastMergeAt.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-",
    `${n(r.fragmentsSent)}/${n(r.fragmentsReceived)}`,
    n(r.retransmits),
  ]);
  let out = table(["NODE", "HOST", "STATE", "VERSION", "DIGEST", "PEERS", "APPLIED", "LAST MERGE", "FRAG OUT/IN", "RETRANSMITS"], rows);
  for (const r of s.nodes) if (!r.up) out += `  ${r.nodeId}: ${r.error}\n`;
  for (const r of s.nodes) if (r.up && r.reportedId !== r.nodeId) out += `  ${r.host}: the node there says it is "${r.reportedId}", the inventory says "${r.nodeId}"\n`;
  out += s.digestsAgree
    ? `\nall ${s.total} nodes hold the same model (${short(s.digests[0] ?? null)})\n`
    : `\nmodels DISAGREE: ${s.up} of ${s.total} up, ${s.digests.length} distinct digest(s)\n`;
  return out;
}
