#!/usr/bin/env bash
# Install the kind cluster's add-ons: metrics-server (kubernetes/kind-addons), built from the Go module
# proxy and loaded into the nodes, never pulled. Waits until the metrics API answers. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
kubectl=("$(kubectl_bin)" --context "kind-$CLUSTER_NAME")

"$here/build-tools.sh" metrics-server
image="local/metrics-server:$METRICS_SERVER_VERSION"
docker image inspect "$image" >/dev/null 2>&1 || single_binary_image "$image" \
  "$DIGITS_CACHE/tools/metrics-server-$METRICS_SERVER_VERSION/metrics-server" /metrics-server \
  'ENTRYPOINT ["/metrics-server"]' "USER 65534:65534"
"$KIND" load docker-image --name "$CLUSTER_NAME" "$image"
sed "s|local/metrics-server:VERSION|$image|" "$repo/kubernetes/kind-addons/metrics-server.yaml" | "${kubectl[@]}" apply -f -
"${kubectl[@]}" -n kube-system rollout status deployment/metrics-server --timeout 180s
# The API is registered once the Service answers from the control plane's node (see metrics-apiservice.yaml).
address=$("${kubectl[@]}" -n kube-system get service metrics-server -o jsonpath='{.spec.clusterIP}')
for _ in $(seq 60); do
  status=$(docker exec "$CLUSTER_NAME-control-plane" curl -sk -m 2 -o /dev/null -w '%{http_code}' "https://$address:4443/livez" || true)
  [ "$status" = 200 ] && break
  sleep 1
done
"${kubectl[@]}" apply -f "$repo/kubernetes/kind-addons/metrics-apiservice.yaml"
"${kubectl[@]}" wait --for=condition=Available --timeout=120s apiservice/v1beta1.metrics.k8s.io
