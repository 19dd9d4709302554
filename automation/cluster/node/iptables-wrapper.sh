#!/bin/sh
# Installed in the kube-proxy image as iptables, iptables-save, iptables-restore (and ip6tables*).
# kube-proxy shares the node's network namespace, so its rules must go to the backend (legacy or
# nft) the node already uses. The first call counts the rules each backend holds, points every name
# at that backend's multi-call binary, and re-runs itself; later calls go straight to iptables.
set -e
legacy=$( (iptables-legacy-save || true; ip6tables-legacy-save || true) 2>/dev/null | grep -c '^-' || true)
nft=$( (timeout 5 sh -c "iptables-nft-save; ip6tables-nft-save" || true) 2>/dev/null | grep -c '^-' || true)
mode=nft
[ "$legacy" -gt "$nft" ] && mode=legacy
for name in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sf "xtables-$mode-multi" "/usr/sbin/$name"
done
exec "$0" "$@"
