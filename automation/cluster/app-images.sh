#!/usr/bin/env bash
# Build the api, frontend, syncer, trainer and postgres images as digits-<name>:$TAG from the repository's
# Dockerfiles. Where Docker Hub cannot be reached, their bases are made from Debian root filesystems
# (local/debian-python, local/debian-nginx, local/debian-postgresql); elsewhere the Dockerfiles'
# upstream bases are used.
# CA_BUNDLE (default: the system's) is passed as a build secret for pip behind TLS-intercepting proxies.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
repo="$(cd "$here/../.." && pwd)"
TAG="${TAG:-dev}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
"$here/docker-up.sh"

python_base=() nginx_base=() postgres_base=()
if ! registry_reachable; then
  "$here/rootfs-image.sh" "local/debian-python:$DEBIAN_SUITE" python3,python3-venv,ca-certificates "" 'CMD ["python3"]'
  "$here/rootfs-image.sh" "local/debian-nginx:$DEBIAN_SUITE" nginx,gettext-base,ca-certificates '
    rm -f /etc/nginx/sites-enabled/default
    ln -sf /dev/stdout /var/log/nginx/access.log
    ln -sf /dev/stderr /var/log/nginx/error.log' 'CMD ["nginx", "-g", "daemon off;"]'
  # Debian's PostgreSQL, with the upstream image's uid and gid (999) for its postgres user and none of
  # the package's own clusters: the entrypoint makes its data directory on the volume.
  "$here/rootfs-image.sh" "local/debian-postgresql:$DEBIAN_SUITE" postgresql '
    rm -rf /etc/postgresql/* /var/lib/postgresql/*
    groupmod -g 999 postgres && usermod -u 999 -g 999 postgres
    chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql' 'CMD ["postgres"]'
  python_base=(--build-arg "BASE_IMAGE=local/debian-python:$DEBIAN_SUITE")
  nginx_base=(--build-arg "BASE_IMAGE=local/debian-nginx:$DEBIAN_SUITE")
  postgres_base=(--build-arg "BASE_IMAGE=local/debian-postgresql:$DEBIAN_SUITE")
fi
secret=()
[ -s "$CA_BUNDLE" ] && secret=(--secret "id=ca,src=$CA_BUNDLE")

docker_build "${python_base[@]}" "${secret[@]}" -t "digits-api:$TAG" -f "$repo/api/Dockerfile" "$repo"
docker_build "${nginx_base[@]}" -t "digits-frontend:$TAG" "$repo/frontend"
docker_build "${python_base[@]}" "${secret[@]}" -t "digits-syncer:$TAG" -f "$repo/syncer/Dockerfile" "$repo"
docker_build "${python_base[@]}" "${secret[@]}" -t "digits-trainer:$TAG" -f "$repo/automation/release/Dockerfile" "$repo"
docker_build "${postgres_base[@]}" -t "digits-postgres:$TAG" "$repo/store/postgres"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep "^digits-.*:$TAG "
