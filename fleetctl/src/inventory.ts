// The fleet's inventory, read the way Ansible reads it (`ansible-inventory --list`, so group_vars
// beside the file and every format Ansible knows apply), then checked for what fleetctl and the
// roles need: a `pis` group, a unique node id per host, valid ports.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { FleetError } from "./errors.js";
import { run } from "./exec.js";
import { isNodeId, NODE_ID_RULE } from "../../node/src/util/ids.js";

export const FLEET_GROUP = "pis";
export const DEFAULT_HTTP_PORT = 8477;
/** Where the fleet_node role keeps the fleet's API token on the control machine: beside the inventory. */
export const API_TOKEN_FILE_NAME = "fleet-api-token";
/** Where the fleet_node role keeps the fleet's roster on the control machine: beside the inventory. */
export const ROSTER_FILE_NAME = "fleet-roster";

export interface FleetHost {
  /** Ansible's name for the host. */
  name: string;
  /** Where fleetctl reaches it: ansible_host, else the name. */
  address: string;
  nodeId: string;
  httpPort: number;
  interface: string | undefined;
  sshUser: string | undefined;
  /** The fleet's API token, sent to the node's HTTP API; undefined when the inventory has none. */
  apiToken: string | undefined;
}

export interface Inventory {
  file: string;
  hosts: FleetHost[];
  /** The fleet's roster on this machine (it may not exist before the first `fleetctl up`). */
  rosterFile: string;
}

/** The `ansible-inventory --list` JSON of `file`, checked. Needs Ansible installed. */
export async function loadInventory(file: string): Promise<Inventory> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new FleetError("INVENTORY_MISSING", `inventory ${file} does not exist`, {
      suggestion: "write one like ansible/inventory/hosts.yml (a `pis` group, one host per Pi), or let `fleetctl sim up --inventory <file>` write one",
    });
  }
  let r;
  try {
    r = await run("ansible-inventory", ["-i", path, "--list"], {
      timeoutMs: 60_000,
      env: { ANSIBLE_INVENTORY_UNPARSED_FAILED: "True", ANSIBLE_NOCOLOR: "1", ANSIBLE_DEPRECATION_WARNINGS: "False" },
    });
  } catch (e) {
    throw ansibleMissingOr(e);
  }
  if (r.exitCode !== 0) {
    throw new FleetError("INVENTORY_INVALID", `inventory ${file} could not be read: ${parseProblem(r.stderr)}`, {
      suggestion: "fix the file (YAML as in ansible/inventory/hosts.yml); `ansible-inventory -i " + file + " --list` shows what Ansible sees",
    });
  }
  let list: unknown;
  try {
    list = JSON.parse(r.stdout);
  } catch {
    throw new FleetError("INVENTORY_INVALID", `ansible-inventory printed something that is not JSON for ${file}`);
  }
  return validateInventory(list, path);
}

/** ENOENT of an Ansible program, said as what to install. */
export function ansibleMissingOr(e: unknown): unknown {
  if (e instanceof FleetError && e.code === "TOOL_MISSING") {
    return new FleetError("ANSIBLE_MISSING", `Ansible is not installed: ${e.message}`, {
      suggestion: "install it on this machine: `apt-get install ansible` (Debian/Ubuntu, includes community.docker) or `pipx install ansible`",
    });
  }
  return e;
}

/** The reason Ansible gives, without its repetitions: the YAML parser's message if there is one. */
export function parseProblem(stderr: string): string {
  const text = stderr.replace(/\s+/g, " ");
  const yaml = /(Syntax Error while loading YAML\..*?)(?:,? but may be elsewhere| The offending line|\[WARNING\]|$)/.exec(text);
  if (yaml) return yaml[1]!.trim().slice(0, 400);
  const lines = stderr.split("\n").map((l) => l.replace(/^\[WARNING\]:\s*/, "").trim()).filter(Boolean);
  return (lines.find((l) => !/^\* Failed to parse .* with (auto|ini|toml|host_list|script) plugin/.test(l)) ?? lines[0] ?? "unknown error").slice(0, 400);
}

interface AnsibleList {
  _meta?: { hostvars?: Record<string, Record<string, unknown>> };
  [group: string]: unknown;
}

/** Checks the inventory JSON; every problem is listed at once, each naming its host. */
export function validateInventory(list: unknown, file: string): Inventory {
  if (typeof list !== "object" || list === null) {
    throw new FleetError("INVENTORY_INVALID", `inventory ${file} is empty`);
  }
  const inv = list as AnsibleList;
  const hostvars = inv._meta?.hostvars ?? {};
  const names = hostsOfGroup(inv, FLEET_GROUP, new Set());
  if (names.length === 0) {
    throw new FleetError("INVENTORY_INVALID", `inventory ${file} has no hosts in the "${FLEET_GROUP}" group`, {
      suggestion: `put every Pi under all.children.${FLEET_GROUP}.hosts, as in ansible/inventory/hosts.yml`,
    });
  }
  const problems: string[] = [];
  const hosts: FleetHost[] = [];
  const byId = new Map<string, string>();
  const rosterFiles = new Set<string>();
  for (const name of names) {
    const v = hostvars[name] ?? {};
    const nodeId = v.fleet_node_id === undefined ? name : String(v.fleet_node_id);
    if (!isNodeId(nodeId)) problems.push(`host ${name}: fleet_node_id "${nodeId}" must be ${NODE_ID_RULE}`);
    const other = byId.get(nodeId);
    if (other !== undefined) problems.push(`host ${name}: fleet_node_id "${nodeId}" is also ${other}'s; node ids must be unique`);
    byId.set(nodeId, name);
    const address = v.ansible_host === undefined ? name : String(v.ansible_host);
    if (address.trim() === "") problems.push(`host ${name}: ansible_host is empty`);
    const httpPort = port(v.fleet_node_http_port, DEFAULT_HTTP_PORT);
    if (httpPort === null) problems.push(`host ${name}: fleet_node_http_port ${JSON.stringify(v.fleet_node_http_port)} is not a port (1-65535)`);
    if (v.fleet_node_port !== undefined && port(v.fleet_node_port, 0) === null) {
      problems.push(`host ${name}: fleet_node_port ${JSON.stringify(v.fleet_node_port)} is not a port (1-65535)`);
    }
    if (v.fleet_node_interface !== undefined && (typeof v.fleet_node_interface !== "string" || /\s/.test(v.fleet_node_interface))) {
      problems.push(`host ${name}: fleet_node_interface ${JSON.stringify(v.fleet_node_interface)} is not an interface name (eth0, wlan0)`);
    }
    const apiToken = tokenOf(name, v, file, problems);
    const roster = rosterFileOf(name, v, file, problems);
    if (roster !== undefined) rosterFiles.add(roster);
    hosts.push({
      name,
      address,
      nodeId,
      httpPort: httpPort ?? DEFAULT_HTTP_PORT,
      interface: typeof v.fleet_node_interface === "string" ? v.fleet_node_interface : undefined,
      sshUser: v.ansible_user === undefined ? undefined : String(v.ansible_user),
      apiToken,
    });
  }
  if (rosterFiles.size > 1) problems.push(`fleet_node_roster_file names ${rosterFiles.size} files (${[...rosterFiles].join(", ")}); a fleet has one roster`);
  if (problems.length > 0) {
    throw new FleetError("INVENTORY_INVALID", `inventory ${file}:\n  ${problems.join("\n  ")}`, {
      suggestion: "fix these hosts in the inventory (see ansible/inventory/hosts.yml)",
      detail: { problems },
    });
  }
  return { file, hosts, rosterFile: [...rosterFiles][0] ?? join(inventoryDir(file), ROSTER_FILE_NAME) };
}

/** The inventory's folder: relative paths in it (token, roster) are taken from there, as the role does. */
function inventoryDir(file: string): string {
  return existsSync(file) && statSync(file).isDirectory() ? file : dirname(file);
}

/** The roster's file as the fleet_node role writes it: fleet_node_roster_file (relative to the
 * inventory's folder unless absolute), else fleet-roster beside the inventory. */
function rosterFileOf(name: string, v: Record<string, unknown>, file: string, problems: string[]): string | undefined {
  const named = v.fleet_node_roster_file;
  if (named === undefined || named === "") return join(inventoryDir(file), ROSTER_FILE_NAME);
  if (typeof named !== "string" || named.includes("{{")) {
    problems.push(`host ${name}: fleet_node_roster_file ${JSON.stringify(named)} must be a plain path (fleetctl reads it without Jinja)`);
    return undefined;
  }
  return isAbsolute(named) ? named : join(inventoryDir(file), named);
}

/**
 * The API token as the fleet_node role hands it out: fleet_node_api_token itself, else the file
 * fleet_node_api_token_file names (relative to the inventory's folder), else fleet-api-token beside
 * the inventory, once `fleetctl up` has created it.
 */
function tokenOf(name: string, v: Record<string, unknown>, file: string, problems: string[]): string | undefined {
  const inline = v.fleet_node_api_token;
  if (typeof inline === "string" && inline.includes("{{")) {
    problems.push(`host ${name}: fleet_node_api_token is a template; fleetctl reads the inventory without Jinja, so put the token in the file fleet_node_api_token_file names instead`);
    return undefined;
  }
  if (typeof inline === "string" && inline.trim() !== "") return inline.trim();
  const dir = inventoryDir(file);
  const named = v.fleet_node_api_token_file;
  if (named !== undefined && (typeof named !== "string" || named.includes("{{"))) {
    problems.push(`host ${name}: fleet_node_api_token_file ${JSON.stringify(named)} must be a plain path (fleetctl reads it without Jinja)`);
    return undefined;
  }
  const path = named === undefined || named === "" ? join(dir, API_TOKEN_FILE_NAME) : isAbsolute(named) ? named : join(dir, named);
  // Not there yet: the first `fleetctl up` creates it; until then the nodes answer 401, which says so.
  if (!existsSync(path)) return undefined;
  const token = readFileSync(path, "utf8").trim();
  return token === "" ? undefined : token;
}

function port(v: unknown, dflt: number): number | null {
  if (v === undefined) return dflt;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}

/** Hosts of a group and of its child groups, in inventory order, each once. */
function hostsOfGroup(inv: AnsibleList, group: string, seen: Set<string>): string[] {
  if (seen.has(group)) return [];
  seen.add(group);
  const g = inv[group] as { hosts?: unknown; children?: unknown } | undefined;
  if (!g || typeof g !== "object") return [];
  const out: string[] = Array.isArray(g.hosts) ? g.hosts.map(String) : [];
  if (Array.isArray(g.children)) for (const c of g.children) out.push(...hostsOfGroup(inv, String(c), seen));
  return [...new Set(out)];
}

/** The hosts `--host`/`--limit` selects (node ids or host names); all when empty. */
export function selectHosts(inv: Inventory, names: string[] | undefined): FleetHost[] {
  if (!names || names.length === 0) return inv.hosts;
  const picked = names.map((n) => {
    const h = inv.hosts.find((x) => x.name === n || x.nodeId === n);
    if (!h) {
      throw new FleetError("USAGE", `no host or node "${n}" in ${inv.file}`, {
        suggestion: `pick one of: ${inv.hosts.map((x) => x.name).join(", ")}`,
      });
    }
    return h;
  });
  return [...new Set(picked)];
}
