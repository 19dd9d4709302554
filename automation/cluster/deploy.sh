#!/usr/bin/env bash
# Apply the kind overlay to the kind cluster and wait until the store, the api and the frontend have
# rolled out.
# The syncer waits for its configuration (the DigitsModel's spec.record.repo and the token Secret, see README):
# until then its status says so, and the app serves the baked-in model.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
kubectl=$(kubectl_bin)
context="kind-$CLUSTER_NAME"
# The folder of the store's local volume (kubernetes/overlays/kind/postgres-volume.yaml) on the node.
docker exec "$CLUSTER_NAME-control-plane" mkdir -p /var/local/digits-postgres
# The CRD and the admission policies first: the overlay holds a DigitsModel.
"$kubectl" --context "$context" apply --server-side --force-conflicts -k "$repo/kubernetes/crds"
"$kubectl" --context "$context" apply --server-side --force-conflicts -k "$repo/kubernetes/policies"
"$kubectl" --context "$context" wait --for=condition=Established --timeout=60s crd/digitsmodels.digits.app
"$kubectl" --context "$context" apply -k "$repo/kubernetes/overlays/kind"
"$here/../store-secret.sh" "$kubectl" --context "$context"
# The kind overlay's images keep their tag (dev) when rebuilt: stamping each pod template with the
# loaded image's ID rolls out exactly the workloads whose image changed.
for workload in deployment/api deployment/frontend deployment/syncer statefulset/postgres; do
  id=$(docker image inspect -f '{{.Id}}' "digits-${workload#*/}:${TAG:-dev}")
  "$kubectl" --context "$context" -n digits patch "${workload%/*}" "digits-${workload#*/}" --type=merge \
    -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"digits.app/image-id\":\"$id\"}}}}}"
done
for workload in statefulset/digits-postgres deployment/digits-api deployment/digits-frontend; do
  "$kubectl" --context "$context" -n digits rollout status "$workload" --timeout "${DEPLOY_TIMEOUT:-300s}"
done
echo "the page: http://127.0.0.1:30001"
"$kubectl" --context "$context" -n digits get deployments,statefulsets
