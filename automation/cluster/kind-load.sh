#!/usr/bin/env bash
# Build the app images (api, frontend, syncer, trainer, postgres) and load them into the kind cluster's node (nothing is pushed or pulled).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ensure_kind
export TAG="${TAG:-dev}"
"$here/app-images.sh"
"$KIND" load docker-image --name "$CLUSTER_NAME" "digits-api:$TAG" "digits-frontend:$TAG" "digits-syncer:$TAG" \
  "digits-trainer:$TAG" "digits-postgres:$TAG"
