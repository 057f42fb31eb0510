// `fleetctl dashboard`: the classroom page of the first node that answers, as a link that carries
// the fleet's token (the node trades it for a cookie and drops it from the address bar), opened in
// this machine's browser when there is one.

import { Command } from "commander";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import { emit, processIo, type Io } from "../io.js";
import { selectHosts } from "../inventory.js";
import { getStatus, nodeAddressOf, nodeUrl, type NodeAddress } from "../nodes/client.js";
import { actionWith, flag, hostList, seconds, timeoutOption } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory, withLimit } from "./playbook-options.js";

/** Each node gets this long to answer before the next is tried. */
export const DASHBOARD_TIMEOUT_S = 3;

const dashboardOptions = z.object({ ...inventoryOption, limit: hostList.optional(), timeout: seconds(60), print: flag, json: flag });

export interface DashboardReport {
  node: string;
  host: string;
  /** The page's address with the token: treat it as the token itself. */
  url: string;
  /** How the page was opened ("xdg-open", "open"), or null when it was only printed. */
  openedWith: string | null;
  /** Nodes tried before, and why they were passed over. */
  skipped: Array<{ host: string; why: string }>;
}

export function dashboardCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("dashboard")))
    .description("open the classroom page of the first node that answers (with the fleet's token), or print its link")
    .addOption(timeoutOption("how long each node gets to answer", DASHBOARD_TIMEOUT_S))
    .option("--print", "print the link only; do not open a browser")
    .option("--json", "print the report as JSON");
  return actionWith(cmd, dashboardOptions, async (o) => {
    const hosts = selectHosts(await inventoryFrom(o), o.limit);
    const skipped: DashboardReport["skipped"] = [];
    let found: NodeAddress | undefined;
    for (const n of hosts.map(nodeAddressOf)) {
      try {
        await getStatus(n, o.timeout * 1000);
        found = n;
        break;
      } catch (e) {
        skipped.push({ host: n.host, why: (e as Error).message });
      }
    }
    if (!found) {
      throw new FleetError("NODE_DOWN", `none of the ${hosts.length} nodes answered: ${skipped.map((s) => s.why).join("; ")}`, {
        suggestion: "`fleetctl status` shows which are up; `fleetctl up` starts them",
        detail: { skipped },
      });
    }
    const url = pageUrl(found);
    const openedWith = o.print ? null : await openBrowser(url);
    const report: DashboardReport = { node: found.nodeId, host: found.host, url, openedWith, skipped };
    emit(io, o.json, report, formatDashboard);
  });
}

/** The page's link: `/?token=…` when the inventory has the fleet's token (every node beyond loopback needs it). */
export function pageUrl(n: NodeAddress): string {
  return nodeUrl(n, n.token === undefined ? "/" : `/?token=${encodeURIComponent(n.token)}`);
}

/**
 * Opens `url` with the desktop's opener; null when this machine has no desktop (an SSH session, a
 * server, CI) or no opener: the link is printed either way.
 */
async function openBrowser(url: string): Promise<string | null> {
  const opener = process.platform === "darwin" ? "open" : process.platform === "linux" && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) ? "xdg-open" : null;
  if (!opener) return null;
  const env: Record<string, string> = {};
  for (const k of ["DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"]) if (process.env[k]) env[k] = process.env[k]!;
  const r = await run(opener, [url], { timeoutMs: 10_000, env }).catch(() => undefined);
  return r?.exitCode === 0 ? opener : null;
}

export function formatDashboard(r: DashboardReport): string {
  const lines = r.skipped.map((s) => `skipped ${s.host}: ${s.why}`);
  lines.push(`The classroom page of ${r.node} (${r.host}):`, `  ${r.url}`);
  lines.push(r.openedWith ? `Opened in your browser (${r.openedWith}).` : "Open it in a browser on the classroom network. The link holds the fleet's token: share it only with the class.");
  return lines.join("\n") + "\n";
}
