#!/usr/bin/env bash
# Create the kind cluster $CLUSTER_NAME (one node, the frontend's NodePort at 127.0.0.1:30001).
# Offline, the node image is built here (node-image.sh) and kindnetd, which cannot be pulled, is
# replaced by the node's static CNI; with a registry, stock kind's node image is used.
# Idempotent: a running cluster is kept.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
"$here/docker-up.sh"
ensure_kind

if "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  if [ "$(docker inspect -f '{{.State.Running}}' "$CLUSTER_NAME-control-plane" 2>/dev/null)" = true ]; then
    echo "kind cluster $CLUSTER_NAME is running"
    exit 0
  fi
  echo "kind cluster $CLUSTER_NAME exists but its node is stopped: recreating it"
  "$KIND" delete cluster --name "$CLUSTER_NAME"
fi

config=$(mktemp)
trap 'rm -f "$config"' EXIT
cp "$repo/kubernetes/kind-cluster.yaml" "$config"
if [ -n "${KIND_NODE_IMAGE:-}" ]; then
  node_image=$KIND_NODE_IMAGE
elif registry_reachable; then
  node_image="kindest/node:$K8S_VERSION"
else
  node_image=$("$here/node-image.sh")
  printf 'networking:\n  disableDefaultCNI: true\n' >> "$config"
fi
echo "creating kind cluster $CLUSTER_NAME from $node_image"
"$KIND" create cluster --name "$CLUSTER_NAME" --image "$node_image" --config "$config" --wait 5m
