# shellcheck shell=bash
# Shared by the cluster scripts (sourced).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
export DIGITS_CACHE
KIND_BUILT="$DIGITS_CACHE/bin/kind-$KIND_VERSION"  # build-tools.sh builds into it
KIND="${KIND:-$KIND_BUILT}"
K8S_BIN="$DIGITS_CACHE/k8s/$K8S_VERSION/bin"  # build-k8s-binaries.sh builds into it

# Whether images can be pulled from Docker Hub. OFFLINE=1/0 overrides the probe.
registry_reachable() {
  case "${OFFLINE:-auto}" in
    1 | true | yes) return 1 ;;
    0 | false | no) return 0 ;;
  esac
  curl -s -o /dev/null -m 5 https://registry-1.docker.io/v2/
}

# docker build with BuildKit (the Dockerfiles use RUN --mount=type=secret): buildx where the CLI has
# it, else the classic CLI's built-in BuildKit (Debian's docker.io 20.10 ships no buildx plugin).
docker_build() {
  if docker buildx version >/dev/null 2>&1; then
    docker buildx build --load "$@"
  elif [ -x /usr/bin/docker ] && [ "$(/usr/bin/docker version --format '{{.Client.Version}}' | cut -d. -f1)" -lt 23 ]; then
    DOCKER_BUILDKIT=1 /usr/bin/docker build "$@"
  else
    echo "docker build needs BuildKit: install the buildx plugin" >&2
    return 1
  fi
}

cluster_exists() {
  [ -x "$KIND" ] && "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"
}

# The images `kubeadm init` of K8S_VERSION runs, one per line (kubeadm must be built).
kubeadm_images() {
  "$K8S_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION"
}

ensure_kind() {
  [ -x "$KIND" ] || "$here/build-tools.sh" kind >&2
}

# kubectl: the one on PATH, else the one built with the control plane.
kubectl_bin() {
  if command -v kubectl >/dev/null; then command -v kubectl; return; fi
  local built="$K8S_BIN/kubectl"
  [ -x "$built" ] || "$here/build-k8s-binaries.sh" >&2
  echo "$built"
}

# single_binary_image TAG SOURCE PATH [CHANGE...]: an image holding one executable at PATH (with /tmp
# and an /etc/passwd naming root and nobody); the remaining arguments are `docker import` changes.
single_binary_image() {
  local tag=$1 source=$2 path=$3 root; shift 3
  root=$(mktemp -d)
  mkdir -p "$root$(dirname "$path")" "$root/tmp" "$root/etc"
  install -m 0755 "$source" "$root$path"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' > "$root/etc/passwd"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . | docker import "${@/#/--change=}" - "$tag" >/dev/null
  rm -rf "$root"
}
