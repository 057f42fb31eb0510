import { Command } from "commander";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { emit, processIo, table, type Io } from "../io.js";
import { fleetStatus, STATUS_TIMEOUT_S, type FleetStatus } from "../nodes/fleet-status.js";
import { nodeAddressOf } from "../nodes/client.js";
import { selectHosts } from "../inventory.js";
import { actionWith, flag, hostList, seconds, timeoutOption } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory, withLimit } from "./playbook-options.js";

/** A node that has not answered its /status in a minute is down, whatever the flag says. */
const STATUS_TIMEOUT_MAX_S = 60;

const statusOptions = z.object({ ...inventoryOption, limit: hostList.optional(), timeout: seconds(STATUS_TIMEOUT_MAX_S), json: flag });

/** `fleetctl status`: a row per node from its /status, and whether all hold the same model.
 * Exits 1 when a node is down or the digests differ, so scripts can wait on it. */
export function statusCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("status")))
    .description("show every node's state (up, version, model digest, peers, merges, fragments) and whether all models agree")
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
