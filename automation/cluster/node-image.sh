#!/usr/bin/env bash
# Build the kind node image local/kind-node:<K8S_VERSION>-<inputs> without pulling anything:
#   a Debian root filesystem with systemd, containerd, runc and the CNI plugins (Debian's packages),
#   kind's own node files (entrypoint, units, containerd config) from the kind module,
#   kubelet, kubeadm, kubectl and crictl built from the Go module proxy,
#   and every image kubeadm runs, preloaded into the node's containerd.
# Prints the image name. Everything heavy is cached under $DIGITS_CACHE, keyed by version.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# Tagged by version and by what goes into it, so a changed script, CNI file or runtime wrapper
# makes a new node image rather than reusing a stale one.
inputs=$(cd "$here" && cat node-image.sh component-images.sh rootfs-image.sh lib.sh versions.env node/* runc-capfilter/*.go \
  | sha256sum | cut -c1-12)
image="local/kind-node:$K8S_VERSION-$inputs"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi

K8S_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubelet kubeadm" \
  "$here/build-k8s-binaries.sh" >&2
"$here/build-tools.sh" >&2
capfilter=$("$here/runc-capfilter.sh" build)
kind_files="$(GOMODCACHE="$DIGITS_CACHE/go/mod" go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" \
  | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/images/base/files"

work=$(mktemp -d "$DIGITS_CACHE/node-build.XXXXXX")
build="digits-node-build-$$"
trap 'rm -rf "$work"; docker rm -f "$build" >/dev/null 2>&1 || true' EXIT

# Files laid over the Debian root filesystem, as kind's base image Dockerfile lays them.
overlay="$work/overlay"
mkdir -p "$overlay/usr/bin" "$overlay/usr/local/sbin" "$overlay/etc/cni/net.d" "$overlay/kind"
cp -r "$kind_files/." "$overlay/"
for cmd in kubelet kubeadm kubectl; do install -m 0755 "$K8S_BIN/$cmd" "$overlay/usr/bin/$cmd"; done
install -m 0755 "$DIGITS_CACHE/tools/crictl-$CRICTL_VERSION/crictl" "$overlay/usr/bin/crictl"
# The node's containerd runs runc through the capability filter: kube-proxy pods are privileged.
install -m 0755 "$capfilter" "$overlay/usr/local/sbin/runc-capfilter"
echo "$K8S_VERSION" > "$overlay/kind/version"
pause=$(kubeadm_images | grep /pause:)
sed -i -e "s|sandbox_image = .*|sandbox_image = \"$pause\"|" \
  -e 's|^\( *\)SystemdCgroup = true|&\n\1BinaryName = "/usr/local/sbin/runc-capfilter"|' \
  "$overlay/etc/containerd/config.toml"
grep -q runc-capfilter "$overlay/etc/containerd/config.toml"

# The Debian root filesystem, prepared as kind's base image Dockerfile prepares its own (cached).
base_setup='
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
  /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
  /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /lib/systemd/systemd /sbin/init
ln -sf /usr/bin/containerd /usr/local/bin/containerd
mkdir -p /opt/cni /etc/kubernetes/manifests && ln -sfn /usr/lib/cni /opt/cni/bin
ctr oci spec | jq ".hooks.createContainer[.hooks.createContainer|length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" \
  | jq "del(.process.rlimits)" > /etc/containerd/cri-base.json
'
packages=systemd,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz
packages=$packages,bash,ca-certificates,curl,jq,procps,containerd,runc,containernetworking-plugins,socat
base="local/kind-node-base:$DEBIAN_SUITE"
"$here/rootfs-image.sh" "$base" "$packages" "$base_setup" >&2

# kind's files and the Kubernetes binaries over it, then kind's services enabled.
docker create --name "$build" --entrypoint /bin/sh "$base" -ec '
chmod 755 /kind/bin /kind/bin/* /usr/local/bin/*
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service' >/dev/null
docker cp "$overlay/." "$build:/"
docker start -a "$build" >&2
stage="local/kind-node-stage:$K8S_VERSION"
docker commit "$build" "$stage" >/dev/null && docker rm "$build" >/dev/null

# Preload every kubeadm image into the node's containerd (k8s.io namespace), unpacked on first use.
"$here/component-images.sh" "$work/components.tar" >&2
docker run -d --privileged --name "$build" --entrypoint /usr/bin/containerd "$stage" >/dev/null
for _ in $(seq 30); do docker exec "$build" ctr version >/dev/null 2>&1 && break; sleep 1; done
docker exec -i "$build" ctr -n k8s.io images import --all-platforms --no-unpack --digests - \
  < "$work/components.tar" >&2
docker stop "$build" >/dev/null
docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'ENV container=docker' \
  "$build" "$image" >/dev/null
docker rm "$build" >/dev/null
docker rmi "$stage" >/dev/null
echo "$image"
