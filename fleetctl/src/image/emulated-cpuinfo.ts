// What an arm64 container under qemu-user needs to see as /proc/cpuinfo. qemu-user (Debian
// bookworm's 7.2) passes the host's x86 /proc/cpuinfo through; ONNX Runtime's cpuinfo library
// finds no ARM core in it and dereferences NULL while loading (a segfault, seen here), so the
// emulated node would die at its first import of onnxruntime-node. A real Pi has a real
// /proc/cpuinfo; only emulation gets this one: a Raspberry Pi 4's Cortex-A72 (part 0xd08), one
// entry per host CPU so it agrees with /sys/devices/system/cpu, which qemu does not fake.

import { availableParallelism } from "node:os";

export function raspberryPiCpuinfo(cpus: number = availableParallelism()): string {
  const core = (i: number) =>
    [
      `processor\t: ${i}`,
      "BogoMIPS\t: 108.00",
      "Features\t: fp asimd evtstrm crc32 cpuid",
      "CPU implementer\t: 0x41",
      "CPU architecture: 8",
      "CPU variant\t: 0x0",
      "CPU part\t: 0xd08",
      "CPU revision\t: 3",
      "",
    ].join("\n");
  const cores = Array.from({ length: Math.max(1, cpus) }, (_, i) => core(i)).join("\n");
  return `${cores}\nHardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n`;
}
