#!/usr/bin/env bash
# Makes this machine ready for the Docker tests: a running Docker engine and arm64 binaries
# runnable through qemu-user (binfmt). Idempotent; on machines without systemd (CI) it starts
# dockerd itself and leaves it running.
set -euo pipefail

log=/var/log/dockerd.log

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "start-dockerd: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    nohup dockerd >"$log" 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "start-dockerd: dockerd did not answer within 60 s; the end of $log:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
fi

# arm64 images run under qemu-user-static: the kernel must know to hand aarch64 ELF files to it.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  if command -v update-binfmts >/dev/null; then update-binfmts --enable qemu-aarch64 || true; fi
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "start-dockerd: no binfmt handler for arm64 (apt-get install qemu-user-static binfmt-support)" >&2
  exit 1
fi

echo "docker $(docker info --format '{{.ServerVersion}}') ready; arm64 through $(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)"
