import { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomic } from "../../../node/src/util/atomic-write.js";
import { formatSummary, runPlaybook, type PlaybookSummary } from "../ansible/playbook.js";
import { FleetError, usageError } from "../errors.js";
import { selectHosts, type FleetHost, type Inventory } from "../inventory.js";
import { emit, processIo, table, type Io } from "../io.js";
import { entryOf, formatRoster, parseRoster, revoke, RosterSyntaxError, type Roster } from "../roster/roster-file.js";
import { actionWith, flag, text } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory } from "./playbook-options.js";

/** One node of the roster, with the inventory host that runs it (none once it left the inventory). */
export interface RosterNode {
  nodeId: string;
  key: string;
  host: string | null;
}

export interface RosterReport {
  file: string;
  members: RosterNode[];
  revoked: RosterNode[];
  /** Inventory hosts the roster does not name yet: the next `fleetctl up` enrols them. */
  notEnrolled: { nodeId: string; host: string }[];
}

export interface RosterChange {
  action: "revoke" | "add";
  nodeId: string;
  /** What the roster said of the node before: a member, revoked, or nothing. */
  was: "member" | "revoked" | "absent";
  roster: RosterReport;
  playbook: PlaybookSummary;
}

const listOptions = z.object({ ...inventoryOption, json: flag });
const changeOptions = z.object({ ...inventoryOption, node: text, verbose: flag, json: flag });
type ChangeOptions = z.output<typeof changeOptions>;

/** `fleetctl roster list|revoke|add`: who the fleet's nodes trust, kept in the roster beside the
 * inventory that `fleetctl up` fills; a change is handed to every Pi at once (ansible/roster.yml),
 * and the nodes take it without a restart. */
export function rosterCommand(io: Io = processIo): Command {
  const roster = new Command("roster").description("the fleet's roster: which nodes' deltas the others merge");

  const list = withInventory(roster.command("list"))
    .description("show the roster's members and revoked nodes, and the Pis not enrolled yet")
    .option("--json", "print the roster as JSON");
  actionWith(list, listOptions, async (o) => {
    const inv = await inventoryFrom(o);
    emit(io, o.json, rosterReport(inv, readRoster(inv.rosterFile)), formatRosterReport);
  });

  const revokeCmd = changeCommand(roster, "revoke", "revoke a node: its deltas are no longer merged anywhere; every Pi gets the roster, no restart");
  actionWith(revokeCmd, changeOptions, async (o) => {
    const inv = await inventoryFrom(o);
    const before = readRoster(inv.rosterFile);
    const nodeId = nodeIdOf(inv, o.node);
    const e = entryOf(before, nodeId);
    if (!e) {
      throw usageError(
        `${nodeId} is not in the roster ${inv.rosterFile}`,
        before.entries.length > 0 ? `it holds: ${before.entries.map((x) => x.nodeId).join(", ")}` : "`fleetctl up` enrols the Pis first",
      );
    }
    // Kept on this machine before any Pi is reached: an unreachable Pi gets it with the next push.
    if (!e.revoked) writeFileAtomic(inv.rosterFile, formatRoster(revoke(before, nodeId)));
    await pushRoster(io, inv, o, { action: "revoke", nodeId, was: e.revoked ? "revoked" : "member" });
  });

  const add = changeCommand(roster, "add", "admit a Pi (again): read its key there, enrol it even if it was revoked, hand every Pi the roster");
  actionWith(add, changeOptions, async (o) => {
    const inv = await inventoryFrom(o);
    // Its key is read on its Pi: only a node of the inventory can be added.
    const [host] = selectHosts(inv, [o.node]) as [FleetHost];
    const before = existsSync(inv.rosterFile) ? readRoster(inv.rosterFile) : parseRoster("");
    const e = entryOf(before, host.nodeId);
    await pushRoster(io, inv, o, { action: "add", nodeId: host.nodeId, was: e === undefined ? "absent" : e.revoked ? "revoked" : "member" });
  });

  return roster;
}

/** `roster revoke` and `roster add`: a node, and the options of a run that hands every Pi the roster. */
function changeCommand(roster: Command, name: RosterChange["action"], description: string): Command {
  return withInventory(roster.command(name))
    .argument("<node>", `the node id (or inventory host) to ${name === "add" ? "admit" : name}`)
    .description(description)
    .option("-v, --verbose", "show Ansible's own output instead of the per-host progress")
    .option("--json", "print the change and the per-host summary as JSON");
}

/** Runs ansible/roster.yml (re-reading the key of a node being added) and reports the roster after it. */
async function pushRoster(io: Io, inv: Inventory, o: ChangeOptions, change: Pick<RosterChange, "action" | "nodeId" | "was">): Promise<void> {
  let playbook: PlaybookSummary;
  try {
    playbook = await runPlaybook({
      playbook: "roster",
      inventory: inv.file,
      io,
      verbose: o.verbose,
      quiet: o.json,
      extraVars: change.action === "add" ? { fleet_node_roster_admit: [change.nodeId] } : undefined,
    });
  } catch (e) {
    if (!(e instanceof FleetError) || change.action !== "revoke") throw e;
    throw new FleetError(e.code, `${change.nodeId} is revoked in ${inv.rosterFile}, but not every Pi holds the roster yet: ${e.message}`, {
      suggestion: "run `fleetctl roster revoke` again (or `fleetctl up`) once the Pi is back: it hands every Pi the roster",
      detail: e.detail,
    });
  }
  const roster = rosterReport(inv, readRoster(inv.rosterFile));
  if (change.action === "add" && !roster.members.some((m) => m.nodeId === change.nodeId)) {
    throw new FleetError("ROSTER_INVALID", `${change.nodeId} is not a member of ${inv.rosterFile} after its key was read`, {
      suggestion: "run it again with --verbose to see what the Pi reported",
    });
  }
  emit(io, o.json, { ...change, roster, playbook }, formatChange);
}

/** The roster file, read and checked; errors say how to get one or which line to fix. */
export function readRoster(file: string): Roster {
  if (!existsSync(file)) {
    throw new FleetError("ROSTER_MISSING", `there is no roster at ${file} yet`, {
      suggestion: "`fleetctl up -i <inventory>` enrols every Pi and writes it (fleet_node_roster: true, the default)",
    });
  }
  try {
    return parseRoster(readFileSync(file, "utf8"));
  } catch (e) {
    if (!(e instanceof RosterSyntaxError)) throw e;
    throw new FleetError("ROSTER_INVALID", `roster ${file}:\n  ${e.problems.join("\n  ")}`, {
      suggestion: "fix or remove those lines: each is `<node-id> <key>` or `!<node-id> <key>`, as `fleet-node identity` prints the first",
      detail: { problems: e.problems },
    });
  }
}

/** A node id as given: an inventory host's name stands for its node id. */
function nodeIdOf(inv: Inventory, name: string): string {
  return inv.hosts.find((h) => h.name === name)?.nodeId ?? name;
}

export function rosterReport(inv: Inventory, r: Roster): RosterReport {
  const hostOf = (nodeId: string) => inv.hosts.find((h) => h.nodeId === nodeId)?.name ?? null;
  const node = (e: { nodeId: string; key: string }): RosterNode => ({ nodeId: e.nodeId, key: e.key, host: hostOf(e.nodeId) });
  return {
    file: inv.rosterFile,
    members: r.entries.filter((e) => !e.revoked).map(node),
    revoked: r.entries.filter((e) => e.revoked).map(node),
    notEnrolled: inv.hosts.filter((h) => !entryOf(r, h.nodeId)).map((h) => ({ nodeId: h.nodeId, host: h.name })),
  };
}

function formatRosterReport(r: RosterReport): string {
  const row = (state: string) => (n: RosterNode) => [n.nodeId, n.host ?? "-", state, n.key];
  const rows = [
    ...r.members.map(row("member")),
    ...r.revoked.map(row("REVOKED")),
    ...r.notEnrolled.map((n) => [n.nodeId, n.host, "not enrolled", "-"]),
  ];
  let out = table(["NODE", "HOST", "STATE", "PUBLIC KEY"], rows);
  out += `\n${r.members.length} member(s), ${r.revoked.length} revoked in ${r.file}\n`;
  if (r.notEnrolled.length > 0) out += `not enrolled yet: ${r.notEnrolled.map((n) => n.host).join(", ")} (\`fleetctl up\` enrols them)\n`;
  return out;
}

function formatChange(c: RosterChange): string {
  const what =
    c.action === "revoke"
      ? c.was === "revoked" ? `${c.nodeId} was already revoked` : `${c.nodeId} revoked: its deltas are no longer merged`
      : c.was === "member" ? `${c.nodeId} is a member (its key read again)` : `${c.nodeId} admitted${c.was === "revoked" ? " again" : ""}`;
  return formatSummary(c.playbook) + `\n${what}; every Pi holds the roster (${c.roster.members.length} member(s), ${c.roster.revoked.length} revoked), the nodes re-read it without a restart\n`;
}
