// Tests that need something outside Node (PyTorch, root for namespaces, Docker, ...) skip with the
// reason on a developer's machine that lacks it. CI sets FLEET_REQUIRE_ALL=1 after installing
// everything, and then nothing is skipped: a missing tool fails the test instead of hiding it.

import { execFileSync } from "node:child_process";

export type Need = "torch" | "python3-regex" | "python3" | "root" | "docker" | "uftp" | "promtool" | "ansible" | "tmux" | "qemu-arm64" | "debootstrap" | "chromium";

const probes: Record<Need, () => boolean> = {
  torch: () => run("/usr/bin/python3", ["-c", "import torch"]),
  python3: () => run("python3", ["-c", "pass"]),
  "python3-regex": () => run("/usr/bin/python3", ["-c", "import regex"]),
  root: () => process.getuid?.() === 0 && run("ip", ["netns", "list"]),
  docker: () => run("docker", ["info"]),
  uftp: () => run("sh", ["-c", "command -v uftp && command -v uftpd"]),
  promtool: () => run("promtool", ["--version"]),
  ansible: () => run("ansible-playbook", ["--version"]),
  tmux: () => run("tmux", ["-V"]),
  chromium: () => run(process.env.FLEET_CHROMIUM ?? "/usr/bin/chromium", ["--version"]),
  debootstrap: () => run("sh", ["-c", "command -v debootstrap"]),
  "qemu-arm64": () => run("sh", ["-c", "test -e /proc/sys/fs/binfmt_misc/qemu-aarch64"]),
};

function run(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<Need, boolean>();

/** For `test(name, { skip: needs("torch") }, fn)`: false to run, or the reason to skip. */
export function needs(...what: Need[]): string | false {
  if (process.env.FLEET_REQUIRE_ALL === "1") return false;
  const missing = what.filter((w) => {
    if (!cache.has(w)) cache.set(w, probes[w]());
    return !cache.get(w);
  });
  return missing.length ? `needs ${missing.join(", ")} (CI installs it; set FLEET_REQUIRE_ALL=1 to fail instead)` : false;
}
