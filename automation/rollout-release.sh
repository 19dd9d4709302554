#!/usr/bin/env bash
# rollout-release.sh OVERLAY [NAME=IMAGE...]
# Roll the app out to a cluster, as the deploy workflow's self-hosted runner does it and as `make deploy`
# and the kind end-to-end tests do it:
#   1. render OVERLAY with each NAME's image set to IMAGE (in a scratch kustomization: the overlay is not
#      edited); DIGITS_REQUIRE_DIGEST=1 refuses any IMAGE not pinned by digest (name@sha256:<64 hex>);
#      DIGITS_STAMP_IMAGE_IDS=1 stamps each workload's pod template with its local image's ID, so images
#      rebuilt under the same tag (kind's :dev) roll out exactly where they changed;
#   2. apply the CRD and the admission policies (server-side) and wait for the CRD, then the rendered
#      overlay (its DigitsModel needs the CRD), and make the store's password Secret once;
#   3. wait for every workload's rollout; when one fails, undo it (its previous ReplicaSet's template,
#      whose model pin is the one that was serving), wait for the undo and exit 1.
# KUBECTL names the kubectl command and its flags (default: kubectl), e.g. "kubectl --context kind-digits".
# ROLLOUT_TIMEOUT bounds each wait (default 300s); ROLLOUT_WORKLOADS lists the workloads waited for
# (default: the store, the api, the frontend and the syncer).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
overlay=$(cd "${1:?usage: rollout-release.sh OVERLAY [NAME=IMAGE...]}" && pwd)
shift
read -r -a kubectl <<< "${KUBECTL:-kubectl}"
timeout=${ROLLOUT_TIMEOUT:-300s}
read -r -a workloads <<< "${ROLLOUT_WORKLOADS:-statefulset/digits-postgres deployment/digits-api deployment/digits-frontend deployment/digits-syncer}"
declare -A workload_of=([digits-api]=deployment/digits-api [digits-frontend]=deployment/digits-frontend
  [digits-syncer]=deployment/digits-syncer [digits-postgres]=statefulset/digits-postgres)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [$(realpath --relative-to="$scratch" "$overlay")]"
  echo "images:"
} > "$scratch/kustomization.yaml"
# An image's name as the overlay renders it (the overlay may have renamed digits-api to REGISTRY/.../digits-api).
"${kubectl[@]}" kustomize "$overlay" > "$scratch/overlay.yaml"
rendered_name() {
  sed -nE 's/^ *image: *"?([^"@ ]+).*/\1/p' "$scratch/overlay.yaml" | sed -E 's/:[^:/]*$//' | sort -u \
    | awk -F/ -v name="$1" '$NF == name'
}
patches=()
for pair in "$@"; do
  name=${pair%%=*} image=${pair#*=}
  if ! [[ $name =~ ^digits-[a-z]+$ && $image =~ ^[a-z0-9][a-z0-9./:_-]*(@sha256:[0-9a-f]{64})?$ ]]; then
    echo "not NAME=IMAGE: $pair" >&2
    exit 2
  fi
  if [ "${DIGITS_REQUIRE_DIGEST:-0}" = 1 ] && [[ $image != *@sha256:* ]]; then
    echo "$name: $image is not pinned by digest (DIGITS_REQUIRE_DIGEST=1)" >&2
    exit 2
  fi
  current=$(rendered_name "$name")
  [ -n "$current" ] || { echo "$overlay has no image $name" >&2; exit 2; }
  if [[ $image == *@* ]]; then
    echo "  - {name: $current, newName: ${image%@*}, digest: ${image#*@}}" >> "$scratch/kustomization.yaml"
  elif [[ ${image##*/} == *:* ]]; then
    echo "  - {name: $current, newName: ${image%:*}, newTag: ${image##*:}}" >> "$scratch/kustomization.yaml"
  else
    echo "  - {name: $current, newName: $image}" >> "$scratch/kustomization.yaml"
  fi
  workload=${workload_of[$name]:-}
  if [ "${DIGITS_STAMP_IMAGE_IDS:-0}" = 1 ] && [ -n "$workload" ]; then
    id=$(docker image inspect -f '{{.Id}}' "$image")
    cat > "$scratch/stamp-$name.yaml" <<STAMP
apiVersion: apps/v1
kind: $([ "${workload%/*}" = statefulset ] && echo StatefulSet || echo Deployment)
metadata: {name: $name}
spec: {template: {metadata: {annotations: {digits.app/image-id: "$id"}}}}
STAMP
    patches+=("  - path: stamp-$name.yaml")
  fi
done
if [ ${#patches[@]} -gt 0 ]; then
  echo "patches:" >> "$scratch/kustomization.yaml"
  printf '%s\n' "${patches[@]}" >> "$scratch/kustomization.yaml"
fi
"${kubectl[@]}" kustomize "$scratch" > "$scratch/rendered.yaml"

"${kubectl[@]}" apply --server-side --force-conflicts -k "$repo/kubernetes/crds"
"${kubectl[@]}" apply --server-side --force-conflicts -k "$repo/kubernetes/policies"
"${kubectl[@]}" wait --for=condition=Established --timeout=60s crd/digitsmodels.digits.app
"${kubectl[@]}" apply -f "$scratch/rendered.yaml"
"$repo/automation/store-secret.sh" "${kubectl[@]}"

for workload in "${workloads[@]}"; do
  if ! "${kubectl[@]}" -n digits rollout status "$workload" --timeout "$timeout"; then
    echo "$workload did not become available: undoing it" >&2
    "${kubectl[@]}" -n digits rollout undo "$workload"
    "${kubectl[@]}" -n digits rollout status "$workload" --timeout "$timeout"
    exit 1
  fi
done
