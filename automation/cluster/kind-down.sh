#!/usr/bin/env bash
# Delete the kind cluster (images and build caches stay). Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
if cluster_exists; then
  "$KIND" delete cluster --name "$CLUSTER_NAME"
else
  echo "no kind cluster $CLUSTER_NAME"
fi
