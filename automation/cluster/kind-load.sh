#!/usr/bin/env bash
# Build the app images (api, frontend, syncer, trainer, postgres) and load them into the kind cluster (nothing is pushed or pulled).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ensure_kind
export TAG="${TAG:-dev}"
"$here/app-images.sh"
# Into the nodes that run app pods: every node of a one-node cluster, else the workers.
nodes=$("$KIND" get nodes --name "$CLUSTER_NAME" | grep -v -- '-control-plane$' | paste -sd, || true)
"$KIND" load docker-image --name "$CLUSTER_NAME" ${nodes:+--nodes "$nodes"} "digits-api:$TAG" "digits-frontend:$TAG" "digits-syncer:$TAG" \
  "digits-trainer:$TAG" "digits-postgres:$TAG"
