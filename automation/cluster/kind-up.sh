#!/usr/bin/env bash
# Create the kind cluster $CLUSTER_NAME (kubernetes/kind-cluster.yaml: a control plane and two workers, the
# frontend's NodePort at 127.0.0.1:30001), then install its add-ons (kind-addons.sh).
# Offline, the node image is built here (node-image.sh) and kindnetd, which cannot be pulled, is
# replaced by what it does for pods: each node gets a ptp CNI configuration for the pod range the
# controller-manager gave it, and a route to every other node's range. With a registry, stock kind's
# node image and kindnetd are used.
# Idempotent: a running cluster is kept, unless its node runs another node image or was restarted
# (Docker or the machine restarted): kind does not reliably bring a restarted cluster back, and the
# tests saw NodePort connections reset after such a restart.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
"$here/docker-up.sh"
ensure_kind

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
  pod_network=static
fi
node_container="$CLUSTER_NAME-control-plane"
config_sum=$(sha256sum "$config" | cut -d' ' -f1)
# Where the node keeps the digest of the configuration it was created from.
config_stamp=/kind/digits-config.sha256
# A node started more than this long after it was created has been restarted since.
restart_after_s=60

recreate_reason() {
  local running image created started
  read -r running image created started < <(docker inspect -f \
    '{{.State.Running}} {{.Config.Image}} {{.Created}} {{.State.StartedAt}}' "$node_container" 2>/dev/null || echo missing)
  if [ "$running" != true ]; then
    echo "its node is not running"
  elif [ "$image" != "$node_image" ]; then
    echo "its node runs $image, not $node_image"
  elif [ "$(docker exec "$node_container" cat "$config_stamp" 2>/dev/null)" != "$config_sum" ]; then
    echo "it was created from another configuration than kubernetes/kind-cluster.yaml"
  elif (($(date -d "$started" +%s) - $(date -d "$created" +%s) > restart_after_s)); then
    echo "its node was restarted at $started, after it was created at $created"
  fi
}

# Every node's ptp configuration for its own pod range, and routes to the others' ranges through their
# addresses on kind's Docker network. Pods reach other nodes' pods masqueraded as their node (ptp ipMasq).
static_pod_network() {
  local kubectl node cidr other
  kubectl=$(kubectl_bin)
  declare -A cidrs addresses
  for node in $("$KIND" get nodes --name "$CLUSTER_NAME"); do
    for _ in $(seq 60); do
      cidr=$("$kubectl" --context "kind-$CLUSTER_NAME" get node "$node" -o jsonpath='{.spec.podCIDR}' 2>/dev/null || true)
      [ -n "$cidr" ] && break
      sleep 2
    done
    [ -n "$cidr" ] || { echo "node $node was given no pod range" >&2; return 1; }
    cidrs[$node]=$cidr
    addresses[$node]=$(docker inspect -f '{{(index .NetworkSettings.Networks "kind").IPAddress}}' "$node")
  done
  for node in "${!cidrs[@]}"; do
    for other in "${!cidrs[@]}"; do
      [ "$other" = "$node" ] || docker exec "$node" ip route replace "${cidrs[$other]}" via "${addresses[$other]}"
    done
    sed "s|POD_CIDR|${cidrs[$node]}|" "$here/node/10-digits-ptp.conflist" \
      | docker exec -i "$node" tee /etc/cni/net.d/10-digits-ptp.conflist >/dev/null
  done
}

if cluster_exists && reason=$(recreate_reason) && [ -z "$reason" ]; then
  echo "kind cluster $CLUSTER_NAME is running"
else
  if cluster_exists; then
    echo "kind cluster $CLUSTER_NAME exists but $reason: recreating it"
    "$KIND" delete cluster --name "$CLUSTER_NAME"
  fi
  echo "creating kind cluster $CLUSTER_NAME from $node_image"
  if [ "${pod_network:-}" = static ]; then
    # The nodes turn Ready once their CNI configuration is written, after kubeadm has run.
    "$KIND" create cluster --name "$CLUSTER_NAME" --image "$node_image" --config "$config"
    static_pod_network
  else
    "$KIND" create cluster --name "$CLUSTER_NAME" --image "$node_image" --config "$config" --wait 5m
  fi
  "$(kubectl_bin)" --context "kind-$CLUSTER_NAME" wait --for=condition=Ready node --all --timeout 5m
  echo "$config_sum" | docker exec -i "$node_container" tee "$config_stamp" >/dev/null
fi
"$here/kind-addons.sh"
