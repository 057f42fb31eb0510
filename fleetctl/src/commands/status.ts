import { Command } from "commander";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { emit, processIo, table, type Io } from "../io.js";
import { fleetStatus, STATUS_TIMEOUT_S, type FleetStatus } from "../nodes/fleet-status.js";
import { nodeAddressOf } from "../nodes/client.js";
import { describeLack, shortName } from "../nodes/fleet-log.js";
import { selectHosts } from "../inventory.js";
import { actionWith, flag, hostList, seconds, timeoutOption } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory, withLimit } from "./playbook-options.js";

/** A node that has not answered its /status in a minute is down, whatever the flag says. */
const STATUS_TIMEOUT_MAX_S = 60;

const statusOptions = z.object({ ...inventoryOption, limit: hostList.optional(), timeout: seconds(STATUS_TIMEOUT_MAX_S), json: flag });

/** `fleetctl status`: a row per node from its /status and /log, whether all hold the same model,
 * and what each node still lacks of the fleet's log. Exits 1 when a node is down, the digests
 * differ or a node lacks entries, so scripts can wait on it. */
export function statusCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("status")))
    .description("show every node's state (up, version, model digest, log entries, peers, merges, fragments), whether all models agree and what each node lacks of the fleet's log")
    .addOption(timeoutOption("how long to wait for each node", STATUS_TIMEOUT_S))
    .option("--json", "print the status as JSON");
  return actionWith(cmd, statusOptions, async (o) => {
    const inv = await inventoryFrom(o);
    const hosts = selectHosts(inv, o.limit);
    const status = await fleetStatus(
      hosts.map(nodeAddressOf),
      o.timeout * 1000,
    );
    emit(io, o.json, status, formatStatus);
    if (!status.ok) throw notOk(status);
  });
}

/** Why the fleet is not ok, the most basic reason first. */
function notOk(s: FleetStatus): FleetError {
  if (s.up < s.total) {
    return new FleetError("CHECK_FAILED", `${s.total - s.up} of ${s.total} nodes are down`, {
      suggestion: "`fleetctl up` starts them; `fleetctl logs` shows why they stopped",
      reported: true,
    });
  }
  const behind = s.nodes.filter((r) => r.log === null || r.log.lacking.length > 0);
  if (behind.length > 0) {
    return new FleetError("CHECK_FAILED", `${behind.length} of ${s.total} nodes have not converged on the fleet's log`, {
      suggestion: "a node fetches what it lacks from its peers within a minute or so: run status again; `fleetctl logs` shows its catch-up fetches",
      reported: true,
    });
  }
  return new FleetError("CHECK_FAILED", `the nodes hold ${s.digests.length} different models`, {
    suggestion: "wait for merges to finish, or look at `fleetctl logs` for rejected deltas",
    reported: true,
  });
}

export function formatStatus(s: FleetStatus): string {
  const short = (d: string | null) => (d ? d.slice(0, 12) : "-");
  const n = (v: number | null) => (v === null ? "-" : String(v));
  const rows = s.nodes.map((r) => [
    r.nodeId,
    r.host,
    r.up ? "up" : "DOWN",
    r.version ? shortName(r.version).slice(0, 16) : "-",
    short(r.digest),
    r.log ? String(r.log.entries) : "-",
    r.log ? (r.log.lacking.length === 0 ? "converged" : `lacks ${r.log.lacking.length}`) : "-",
    String(r.peers),
    String(r.applied),
    r.lastMergeAt ? r.lastMergeAt.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-",
    `${n(r.fragmentsSent)}/${n(r.fragmentsReceived)}`,
    n(r.retransmits),
  ]);
  let out = table(["NODE", "HOST", "STATE", "VERSION", "DIGEST", "ENTRIES", "LOG", "PEERS", "APPLIED", "LAST MERGE", "FRAG OUT/IN", "RETRANSMITS"], rows);
  for (const r of s.nodes) if (!r.up) out += `  ${r.nodeId}: ${r.error}\n`;
  for (const r of s.nodes) if (r.up && r.reportedId !== r.nodeId) out += `  ${r.host}: the node there says it is "${r.reportedId}", the inventory says "${r.nodeId}"\n`;
  for (const r of s.nodes) if (r.up && r.log === null) out += `  ${r.nodeId}: its log is unknown: ${r.logError}\n`;
  for (const r of s.nodes) if (r.log && r.log.lacking.length > 0) out += `  ${describeLack(r.nodeId, r.log.lacking)}\n`;
  out += s.digestsAgree
    ? `\nall ${s.total} nodes hold the same model (${short(s.digests[0] ?? null)})\n`
    : `\nmodels DISAGREE: ${s.up} of ${s.total} up, ${s.digests.length} distinct digest(s)\n`;
  out += s.converged
    ? `all ${s.total} nodes converged on the fleet's log (${s.log.entries} entries, set ${short(s.log.set)})\n`
    : `the fleet's log has ${s.log.entries} entries (set ${short(s.log.set)}); not every node holds them all\n`;
  return out;
}
