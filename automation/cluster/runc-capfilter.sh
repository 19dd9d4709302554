#!/usr/bin/env bash
# runc-capfilter.sh missing: print the capabilities privileged containers ask for that this machine's
#                            bounding set lacks (nothing on an ordinary machine).
# runc-capfilter.sh build:   build the runc-capfilter runtime (static, cached) and print its path.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
case "${1:-}" in
  missing)
    bounding=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
    last_cap=$(cat /proc/sys/kernel/cap_last_cap)
    missing=""
    for bit in $(seq 0 "$last_cap"); do
      (( (bounding >> bit) & 1 )) || missing="$missing $bit"
    done
    echo "${missing# }"
    ;;
  build)
    src="$here/runc-capfilter"
    key=$(cat "$src"/go.mod "$src"/main.go | sha256sum | cut -c1-12)
    out="$DIGITS_CACHE/bin/runc-capfilter-$key"
    if [ ! -x "$out" ]; then
      mkdir -p "$DIGITS_CACHE/bin"
      (cd "$src" && CGO_ENABLED=0 GOCACHE="$DIGITS_CACHE/go/build" go build -trimpath -ldflags "-s -w" -o "$out.tmp" . && mv "$out.tmp" "$out")
    fi
    echo "$out"
    ;;
  *) echo "usage: $0 missing|build" >&2; exit 2 ;;
esac
