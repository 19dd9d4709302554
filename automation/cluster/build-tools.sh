#!/usr/bin/env bash
# Build the kind CLI, crictl, metrics-server and CoreDNS from the Go module proxy, cached by version:
#   $DIGITS_CACHE/bin/kind-<v>, $DIGITS_CACHE/tools/crictl-<v>/crictl,
#   $DIGITS_CACHE/tools/metrics-server-<v>/metrics-server, $DIGITS_CACHE/tools/coredns-<v>/coredns
# CoreDNS's version is the one kubeadm of K8S_VERSION deploys (read from the kubeadm binary, so
# build-k8s-binaries.sh has built kubeadm first). Arguments pick tools (default: kind, crictl, coredns).
# Prints nothing but progress; each output is built once.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
export GOMODCACHE="$DIGITS_CACHE/go/mod" GOCACHE="$DIGITS_CACHE/go/build" GOFLAGS=-mod=mod CGO_ENABLED=0

tools=" ${*:-kind crictl coredns} "

if [[ $tools == *" kind "* ]] && [ ! -x "$KIND_BUILT" ]; then
  echo "building kind $KIND_VERSION"
  tmp=$(mktemp -d) && GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  mkdir -p "$(dirname "$KIND_BUILT")" && mv "$tmp/kind" "$KIND_BUILT" && rm -rf "$tmp"
fi

crictl_bin="$DIGITS_CACHE/tools/crictl-$CRICTL_VERSION/crictl"
if [[ $tools == *" crictl "* ]] && [ ! -x "$crictl_bin" ]; then
  echo "building crictl $CRICTL_VERSION"
  src="$DIGITS_CACHE/tools/crictl-$CRICTL_VERSION/src"
  mkdir -p "$src"
  printf 'module local/build\ngo 1.24\nrequire sigs.k8s.io/cri-tools %s\n' "$CRICTL_VERSION" > "$src/go.mod"
  (cd "$src" && go build -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" -o "$crictl_bin" sigs.k8s.io/cri-tools/cmd/crictl)
fi

metrics_server_bin="$DIGITS_CACHE/tools/metrics-server-$METRICS_SERVER_VERSION/metrics-server"
if [[ $tools == *" metrics-server "* ]] && [ ! -x "$metrics_server_bin" ]; then
  echo "building metrics-server $METRICS_SERVER_VERSION"
  src="$DIGITS_CACHE/tools/metrics-server-$METRICS_SERVER_VERSION/src"
  mkdir -p "$src"
  printf 'module local/build\ngo 1.24\nrequire sigs.k8s.io/metrics-server %s\n' "$METRICS_SERVER_VERSION" > "$src/go.mod"
  # Its Makefile stamps the version into client-go's version package.
  (cd "$src" && go build -trimpath -o "$metrics_server_bin" \
    -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
    sigs.k8s.io/metrics-server/cmd/metrics-server)
fi

[[ $tools == *" coredns "* ]] || exit 0
coredns_version=$(kubeadm_images 2>/dev/null | sed -n 's|.*/coredns:||p')
coredns_bin="$DIGITS_CACHE/tools/coredns-$coredns_version/coredns"
if [ ! -x "$coredns_bin" ]; then
  echo "building coredns $coredns_version"
  # CoreDNS 1.10's quic-go builds only with the Go releases of its day.
  tmp=$(mktemp -d) && GOBIN="$tmp" GOTOOLCHAIN="${COREDNS_GO_TOOLCHAIN:-go1.20.14}" \
    go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$coredns_version"
  mkdir -p "$(dirname "$coredns_bin")" && mv "$tmp/coredns" "$coredns_bin" && rm -rf "$tmp"
fi
