// A simulated Pi fleet on this machine: N privileged containers of the pi-sim image (sshd, Python,
// a Docker engine inside) on their own bridge network, reachable over SSH with a key made here.
// Nodes inside use their Pi's host network, so their broadcasts travel on the sim bridge.

import { existsSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../../../node/src/util/atomic-write.js";
import { connect } from "node:net";
import { basename, dirname, join, resolve } from "node:path";
import { FleetError } from "../errors.js";
import { waitUntil } from "../wait.js";
import { docker, dockerOk as dockerCall, imageArch, requireEngine, type DockerCall } from "../docker.js";
import { nativeArch, simNodeImage } from "../image/arch.js";
import { run } from "../exec.js";
import { simInventoryYaml, type SimHost } from "./inventory-file.js";

export const SIM_LABEL = "org.deltafleet.sim";

/** What differs between a simulated Pi and a real one, said to the roles in the inventory. */
const SIM_GROUP_VARS = {
  // dockerd is started by the Pi container itself (there is no init system to hand it to).
  docker_engine_manage_service: false,
  // The pi-sim image comes with its packages: never ask the mirror, even when the image is old.
  docker_engine_apt_cache_valid_time: 315_360_000,
};

export interface SimUpOptions {
  count: number;
  inventory: string;
  image: string;
  network: string;
  /** The node image the inventory tells the playbooks to run. */
  nodeImage: string;
  sshUser: string;
  /** Extra group variables written into the inventory. */
  vars?: Record<string, string | number | boolean>;
  readyTimeoutMs?: number;
  onStep?: (line: string) => void;
}

export interface SimUpResult {
  inventory: string;
  network: string;
  privateKeyFile: string;
  hosts: (SimHost & { container: string })[];
}

function dockerOk(args: string[], what: string, o: DockerCall = {}): Promise<string> {
  return dockerCall(args, what, { ...o, code: "SIM_FAILED" });
}

/** What a Pi container needs to run its own Docker engine. `--privileged` asks for every
 * capability, and fails where this machine's bounding set lacks one (CAP_SYS_RESOURCE in some VMs):
 * then all capabilities this machine has, no seccomp/AppArmor filter, unmasked /proc and /sys and
 * all devices, which is what --privileged means apart from the missing capability. */
export function privilegeArgs(capBnd: bigint | null = readCapBnd()): string[] {
  const ALL_CAPS = (1n << 41n) - 1n; // CAP_CHOWN (0) … CAP_CHECKPOINT_RESTORE (40)
  if (capBnd === null || (capBnd & ALL_CAPS) === ALL_CAPS) return ["--privileged"];
  const missing = CAP_NAMES.filter((_, i) => (capBnd & (1n << BigInt(i))) === 0n);
  return [
    "--cap-add", "ALL",
    ...missing.flatMap((c) => ["--cap-drop", c]),
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "--device-cgroup-rule", "a *:* rwm",
  ];
}

const CAP_NAMES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
  "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
  "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
  "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
  "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
  "CHECKPOINT_RESTORE",
];

/** The capability bounding set of this process (the Docker daemon runs on the same kernel,
 * usually with the same set); null when it cannot be read. */
function readCapBnd(): bigint | null {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? BigInt("0x" + m[1]) : null;
  } catch {
    return null;
  }
}

export function containerName(network: string, i: number): string {
  return `${network}-pi-${i}`;
}

export async function simUp(o: SimUpOptions): Promise<SimUpResult> {
  await preflight(o);
  try {
    return await startSim(o);
  } catch (e) {
    // Whatever started stays up for inspection; say how to clear it.
    const started = e instanceof FleetError ? await simContainers(o.network).catch(() => []) : [];
    if (e instanceof FleetError && started.length > 0) {
      throw new FleetError(e.code, e.message, {
        suggestion: `${e.suggestion ? e.suggestion + "; " : ""}\`fleetctl sim down --network ${o.network}\` removes what was started`,
      });
    }
    throw e;
  }
}

/** What must hold before anything is started: a failure here leaves nothing behind to clear. */
async function preflight(o: SimUpOptions): Promise<void> {
  await requireEngine();
  const arch = nativeArch();
  if ((await imageArch(o.image)) === undefined) {
    throw new FleetError("SIM_FAILED", `there is no simulated-Pi image ${o.image} on this machine`, {
      suggestion: `build it first (\`fleetctl image build --arch ${arch ?? "amd64"} --sim\`, see docker/pi-sim/), or name another with --image`,
    });
  }
  // The Pis are containers of this machine's architecture: the image they run must be too, or the
  // playbook would stop at its architecture check on every Pi.
  const nodeArch = await imageArch(o.nodeImage);
  if (nodeArch !== arch) {
    throw new FleetError("SIM_FAILED", nodeArch === undefined
      ? `there is no node image ${o.nodeImage} for the simulated Pis to run`
      : `the node image ${o.nodeImage} is built for ${nodeArch}, the simulated Pis are ${arch}`, {
      suggestion: `\`fleetctl image build --arch ${arch ?? "amd64"}\` makes ${simNodeImage()}, or name another with --node-image`,
    });
  }
  const existing = await simContainers(o.network);
  if (existing.length > 0) {
    throw new FleetError("SIM_FAILED", `a simulated fleet on network ${o.network} is already running (${existing.length} Pis)`, {
      suggestion: `\`fleetctl sim down --network ${o.network}\` first`,
    });
  }
}

async function startSim(o: SimUpOptions): Promise<SimUpResult> {
  const step = o.onStep ?? (() => {});
  const inventory = resolve(o.inventory);
  mkdirSync(dirname(inventory), { recursive: true });
  const keyDir = join(dirname(inventory), `.${basename(inventory)}.ssh`);
  const key = join(keyDir, "id_ed25519");
  if (!existsSync(key)) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const r = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "deltafleet-sim", "-f", key], { timeoutMs: 30_000 }).catch((e) => {
      throw e instanceof FleetError && e.code === "TOOL_MISSING"
        ? new FleetError("TOOL_MISSING", "ssh-keygen is not installed", { suggestion: "apt-get install openssh-client" })
        : e;
    });
    if (r.exitCode !== 0) throw new FleetError("SIM_FAILED", `ssh-keygen failed: ${r.stderr.trim()}`);
  }
  const publicKey = readFileSync(key + ".pub", "utf8").trim();

  const net = await docker(["network", "inspect", o.network], { timeoutMs: 30_000 });
  if (net.exitCode !== 0) {
    step(`creating bridge network ${o.network}`);
    await dockerOk(["network", "create", "--driver", "bridge", "--label", `${SIM_LABEL}=${o.network}`, o.network], "creating the sim network");
  }

  const hosts: SimUpResult["hosts"] = [];
  for (let i = 1; i <= o.count; i++) {
    const name = containerName(o.network, i);
    const host = `pi-${i}`;
    step(`starting ${host} (${name})`);
    await dockerOk(
      [
        "run", "--detach", ...privilegeArgs(),
        "--name", name,
        "--hostname", host,
        "--network", o.network,
        "--label", `${SIM_LABEL}=${o.network}`,
        o.image,
      ],
      `starting ${host}`,
    );
    const address = await dockerOk(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name], `finding ${host}'s address`);
    hosts.push({ name: host, address, nodeId: host, interface: "eth0", container: name });
  }

  const home = o.sshUser === "root" ? "/root" : `/home/${o.sshUser}`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
  await Promise.all(
    hosts.map(async (h) => {
      await dockerOk(
        ["exec", "-i", h.container, "sh", "-c",
          `mkdir -p ${home}/.ssh && cat >> ${home}/.ssh/authorized_keys && chmod 700 ${home}/.ssh && chmod 600 ${home}/.ssh/authorized_keys && chown -R ${o.sshUser} ${home}/.ssh`],
        `giving ${h.name} the SSH key`, { timeoutMs: 30_000, input: publicKey + "\n" },
      );
      await comeUp(deadline, `${h.name}'s sshd on ${h.address}:22`, () => sshBanner(h.address));
      // The engine inside must answer before Ansible asks it anything.
      await comeUp(deadline, `the Docker engine inside ${h.name}`, async () => (await docker(["exec", h.container, "docker", "info"], { timeoutMs: 20_000 })).exitCode === 0);
      step(`${h.name} ready at ${h.address}`);
    }),
  );

  const yaml = simInventoryYaml(
    { hosts, sshUser: o.sshUser, privateKeyFile: key, vars: { ...SIM_GROUP_VARS, fleet_node_image: o.nodeImage, ...(o.vars ?? {}) } },
    `Simulated Pi fleet written by \`fleetctl sim up\` (network ${o.network}, ${o.count} Pis).\nRemoved by \`fleetctl sim down --inventory ${o.inventory}\`.`,
  );
  writeFileAtomic(inventory, yaml);
  return { inventory, network: o.network, privateKeyFile: key, hosts };
}

export interface SimDownResult {
  network: string;
  removedContainers: string[];
  removedNetwork: boolean;
  removedInventory: string | null;
}

export async function simDown(o: { network: string; inventory?: string }): Promise<SimDownResult> {
  const ids = await simContainers(o.network);
  const names: string[] = [];
  if (ids.length > 0) {
    names.push(...(await dockerOk(["inspect", "--format", "{{.Name}}", ...ids], "listing the sim")).split("\n").map((s) => s.replace(/^\//, "")));
    // -v: each Pi's inner Docker storage is an anonymous volume; it goes with the Pi.
    await dockerOk(["rm", "--force", "--volumes", ...ids], "removing the simulated Pis", { timeoutMs: 180_000 });
  }
  let removedNetwork = false;
  if ((await docker(["network", "inspect", o.network], { timeoutMs: 30_000 })).exitCode === 0) {
    await dockerOk(["network", "rm", o.network], "removing the sim network");
    removedNetwork = true;
  }
  let removedInventory: string | null = null;
  if (o.inventory) {
    const inv = resolve(o.inventory);
    if (existsSync(inv)) {
      rmSync(inv, { force: true });
      removedInventory = inv;
    }
    rmSync(join(dirname(inv), `.${basename(inv)}.ssh`), { recursive: true, force: true });
  }
  return { network: o.network, removedContainers: names, removedNetwork, removedInventory };
}

async function simContainers(network: string): Promise<string[]> {
  const out = await dockerOk(["ps", "--all", "--quiet", "--filter", `label=${SIM_LABEL}=${network}`], "listing the sim");
  return out ? out.split("\n") : [];
}

async function comeUp(deadline: number, what: string, probe: () => Promise<boolean>): Promise<void> {
  if ((await waitUntil(probe, { deadline, everyMs: 500 })).done) return;
  throw new FleetError("SIM_FAILED", `${what} did not come up in time`, { suggestion: "see `docker logs <container>`; is the pi-sim image built with sshd and docker.io?" });
}

/** True once something on address:22 greets like an SSH server. */
function sshBanner(address: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: address, port: 22, timeout: 2_000 });
    let buf = "";
    const end = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("\n")) end(buf.startsWith("SSH-"));
    });
    s.on("timeout", () => end(false));
    s.on("error", () => end(false));
    s.on("close", () => done(buf.startsWith("SSH-")));
  });
}
