#!/usr/bin/env bash
# Roll the kind overlay out to the kind cluster with the images kind-load.sh loaded, through the same
# script the deploy workflow's runner uses (automation/rollout-release.sh): CRD and policies, the overlay,
# the store's Secret, every rollout waited for and undone on failure.
# The syncer waits for its configuration (the DigitsModel's spec.record.repo and the token Secret, see
# README): until then its status says so, the app serves the baked-in model, and its rollout is not
# waited for here.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
tag=${TAG:-dev}
# KUBECTL: the kubectl command and flags for the cluster (default: kind's context in the kubeconfig).
export KUBECTL="${KUBECTL:-$(kubectl_bin) --context kind-$CLUSTER_NAME}"
# The folder of the store's local volume (kubernetes/overlays/kind/postgres-volume.yaml) on its node.
docker exec "$CLUSTER_NAME-worker" mkdir -p /var/local/digits-postgres
# The kind overlay's images keep their tag (dev) when rebuilt: stamping each pod template with the
# loaded image's ID rolls out exactly the workloads whose image changed.
DIGITS_STAMP_IMAGE_IDS=1 \
  ROLLOUT_TIMEOUT=${DEPLOY_TIMEOUT:-300s} \
  ROLLOUT_WORKLOADS="statefulset/digits-postgres deployment/digits-api deployment/digits-frontend" \
  "$repo/automation/rollout-release.sh" "$repo/kubernetes/overlays/kind" \
  "digits-api=digits-api:$tag" "digits-frontend=digits-frontend:$tag" "digits-syncer=digits-syncer:$tag" \
  "digits-trainer=digits-trainer:$tag" "digits-postgres=digits-postgres:$tag"
echo "the page: http://127.0.0.1:30001"
read -r -a kubectl <<< "$KUBECTL"
"${kubectl[@]}" -n digits get deployments,statefulsets,hpa
