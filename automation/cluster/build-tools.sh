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

# build_required TOOL MODULE VERSION PACKAGE VERSION_VARIABLE: build PACKAGE of MODULE@VERSION (whose own
# replace directives do not apply, as for any dependency) into $DIGITS_CACHE/tools/TOOL-VERSION/TOOL, with
# the version stamped into VERSION_VARIABLE; once, and only when TOOL was asked for.
build_required() {
  local tool=$1 module=$2 version=$3 package=$4 variable=$5
  local dir="$DIGITS_CACHE/tools/$tool-$version"
  [[ $tools == *" $tool "* ]] && [ ! -x "$dir/$tool" ] || return 0
  echo "building $tool $version"
  mkdir -p "$dir/src"
  printf 'module local/build\ngo 1.24\nrequire %s %s\n' "$module" "$version" > "$dir/src/go.mod"
  (cd "$dir/src" && go build -trimpath -ldflags "-s -w -X $variable=$version" -o "$dir/$tool" "$package")
}
build_required crictl sigs.k8s.io/cri-tools "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl \
  sigs.k8s.io/cri-tools/pkg/version.Version
# metrics-server's Makefile stamps its version into client-go's version package.
build_required metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" \
  sigs.k8s.io/metrics-server/cmd/metrics-server k8s.io/client-go/pkg/version.gitVersion

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
