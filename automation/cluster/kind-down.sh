#!/usr/bin/env bash
# Delete the kind cluster (images and build caches stay). Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
if [ -x "$KIND" ] && "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  "$KIND" delete cluster --name "$CLUSTER_NAME"
else
  echo "no kind cluster $CLUSTER_NAME"
fi
