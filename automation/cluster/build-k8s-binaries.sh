#!/usr/bin/env bash
# Build the Kubernetes control-plane binaries (and etcd) from the Go module proxy.
#
# `go install k8s.io/kubernetes/cmd/...` is refused because k8s.io/kubernetes'
# go.mod replaces its staging modules with local paths. We make a throwaway
# module that requires k8s.io/kubernetes and replaces each staging module with
# its published k8s.io/<name> v0.<minor>.<patch>, then build the commands.
# Outputs are cached outside the repository, keyed by version:
#   $DIGITS_CACHE/k8s/<version>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,etcd}
# K8S_COMMANDS adds commands (the kind node image needs kubelet, kubeadm and kube-proxy too).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
CACHE="$DIGITS_CACHE"
COMMANDS="${K8S_COMMANDS:-kube-apiserver kube-controller-manager kube-scheduler kubectl}"

export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOTOOLCHAIN="$GO_TOOLCHAIN" GOFLAGS=-mod=mod
export CGO_ENABLED=0
mkdir -p "$K8S_BIN"

missing=""
for cmd in $COMMANDS; do [ -x "$K8S_BIN/$cmd" ] || missing="$missing $cmd"; done
# etcd is the version kubeadm deploys; the stamp tells an older build apart.
[ -x "$K8S_BIN/etcd" ] && [ "$(cat "$K8S_BIN/etcd.version" 2>/dev/null)" = "$ETCD_VERSION" ] || missing="$missing etcd"
if [ -z "$missing" ]; then echo "k8s binaries $K8S_VERSION cached in $K8S_BIN"; exit 0; fi
echo "building:$missing (Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, $GO_TOOLCHAIN) into $K8S_BIN"

# Write a go.mod that requires MODULE@VERSION and pins every local-path
# replace of that module's own go.mod to the published module at STAGING_VERSION.
write_module() {
  local dir=$1 module=$2 version=$3 staging_version=$4
  mkdir -p "$dir"
  local upstream
  upstream=$(cd "$dir" && go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module local/build"
    echo "go 1.22"
    echo "require $module $version"
    # Lines like `k8s.io/api => ./staging/src/k8s.io/api` become published pins.
    grep -E '^\s*[a-z0-9./-]+ => \.\.?/' "$upstream" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > "$dir/go.mod"
}

ldflags_for() {
  local v=$1 major minor
  major=$(echo "${v#v}" | cut -d. -f1); minor=$(echo "${v#v}" | cut -d. -f2)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=%s ' \
      "$p" "$v" "$p" "$major" "$p" "$minor" "$p" "$p" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  echo "-s -w"
}

if echo "$missing" | grep -qv '^ *etcd *$'; then
  src="$CACHE/k8s/$K8S_VERSION/src"
  write_module "$src" k8s.io/kubernetes "$K8S_VERSION" "v0.${K8S_VERSION#v1.}"
  pkgs=""
  for cmd in $COMMANDS; do pkgs="$pkgs k8s.io/kubernetes/cmd/$cmd"; done
  (cd "$src" && go build -trimpath -ldflags "$(ldflags_for "$K8S_VERSION")" -o "$K8S_BIN/" $pkgs)
fi

if echo "$missing" | grep -qw etcd; then
  src="$CACHE/etcd/$ETCD_VERSION/src"
  mkdir -p "$src"
  # etcd's server module requires its sibling modules at published versions; its
  # own replace directives apply only inside etcd's repository, so none are needed.
  printf 'module local/build\ngo 1.22\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$src/go.mod"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$K8S_BIN/etcd" go.etcd.io/etcd/server/v3)
  echo "$ETCD_VERSION" > "$K8S_BIN/etcd.version"
fi
ls -la "$K8S_BIN"
