#!/usr/bin/env bash
# component-images.sh OUT.tar
# Make every image `kubeadm init` of K8S_VERSION runs (`kubeadm config images list`), from binaries
# built here, and save them into one archive for the node image's containerd:
#   kube-apiserver, kube-controller-manager, kube-scheduler, etcd: one static binary each;
#   kube-proxy: a Debian root filesystem with iptables (the backend is picked at first use);
#   coredns: /coredns; pause: Kubernetes' own pause.c, compiled statically.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
out=$1
tools="$DIGITS_CACHE/tools"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mapfile -t images < <(kubeadm_images)

for image in "${images[@]}"; do
  name=${image##*/}; name=${name%%:*}
  tag=${image##*:}
  case "$name" in
    kube-apiserver | kube-controller-manager | kube-scheduler)
      single_binary_image "$image" "$K8S_BIN/$name" "/usr/local/bin/$name" "ENV PATH=/usr/local/bin:/usr/bin:/bin" ;;
    etcd)
      built=$(cat "$K8S_BIN/etcd.version")
      [ "${tag%-*}" = "${built#v}" ] || { echo "kubeadm runs $image but etcd $built was built" >&2; exit 1; }
      single_binary_image "$image" "$K8S_BIN/etcd" /usr/local/bin/etcd "ENV PATH=/usr/local/bin:/usr/bin:/bin" ;;
    coredns)
      single_binary_image "$image" "$tools/coredns-$tag/coredns" /coredns 'ENTRYPOINT ["/coredns"]' ;;
    pause)
      gcc -Os -static -DVERSION="$tag" -o "$work/pause" \
        "$DIGITS_CACHE/go/mod/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
      strip "$work/pause"
      single_binary_image "$image" "$work/pause" /pause 'ENTRYPOINT ["/pause"]' "USER 65535:65535" ;;
    kube-proxy)
      "$here/rootfs-image.sh" "local/debian-iptables:$DEBIAN_SUITE" iptables,conntrack,kmod "" >/dev/null
      container=$(docker create --entrypoint /bin/sh "local/debian-iptables:$DEBIAN_SUITE" -ec \
        'for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
           ln -sf iptables-wrapper /usr/sbin/$n; done')
      docker cp "$K8S_BIN/kube-proxy" "$container:/usr/local/bin/kube-proxy"
      docker cp "$here/node/iptables-wrapper.sh" "$container:/usr/sbin/iptables-wrapper"
      docker start -a "$container" >/dev/null
      docker commit --change 'ENTRYPOINT []' --change 'CMD ["/usr/local/bin/kube-proxy"]' "$container" "$image" >/dev/null
      docker rm "$container" >/dev/null ;;
    *) echo "no recipe for $image" >&2; exit 1 ;;
  esac
  echo "made $image"
done
docker save -o "$out" "${images[@]}"
