#!/usr/bin/env bash
# rootfs-image.sh TAG PACKAGES [SETUP [CHANGE...]]
# Make a Docker image from a Debian root filesystem, for machines that cannot pull base images.
# PACKAGES: comma-separated, installed by debootstrap (minbase variant). SETUP: a shell snippet run
# inside the root filesystem (chroot) before it is packed. The packed tarball is cached, keyed by
# suite, packages and setup, so a rebuild only re-imports it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
tag=$1 packages=$2 setup=${3:-}
shift $(($# < 3 ? $# : 3))  # what remains: docker import changes (CMD, ENV, ...)

if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag present"; exit 0; fi
key=$(printf '%s\n%s\n%s\n' "$DEBIAN_SUITE" "$packages" "$setup" | sha256sum | cut -c1-12)
tarball="$DIGITS_CACHE/rootfs/${tag//[\/:]/_}-$key.tar"
if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
  mkdir -p "$(dirname "$tarball")"
  root=$(mktemp -d "$DIGITS_CACHE/rootfs/build.XXXXXX")
  trap 'umount -R "$root/proc" 2>/dev/null || true; rm -rf "$root"' EXIT
  echo "debootstrap $DEBIAN_SUITE for $tag: $packages"
  debootstrap --variant=minbase --include="$packages" "$DEBIAN_SUITE" "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    > "$root.log" 2>&1 || { tail -30 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  if [ -n "$setup" ]; then
    mount -t proc proc "$root/proc"
    chroot "$root" /bin/sh -ec "$setup"
    umount "$root/proc"
  fi
  # Images carry no package caches, docs or logs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/tmp/*
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
docker import "${@/#/--change=}" "$tarball" "$tag" >/dev/null
echo "$tag imported from $tarball"
