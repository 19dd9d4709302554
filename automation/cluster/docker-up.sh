#!/usr/bin/env bash
# Make sure a Docker engine answers. Where none runs, install Debian's docker.io (as root) and start
# dockerd. Where this machine's capability bounding set lacks capabilities that privileged containers
# (kind nodes) ask for, dockerd's default runtime becomes runc-capfilter, which drops just those.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if docker info >/dev/null 2>&1; then exit 0; fi
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! command -v dockerd >/dev/null; then
  echo "installing Debian's docker.io"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends docker.io iptables
fi

runtime_args=()
missing_caps=$("$here/runc-capfilter.sh" missing)
if [ -n "$missing_caps" ]; then
  filter="$("$here/runc-capfilter.sh" build)"
  echo "capabilities missing from the bounding set: $missing_caps; docker runs $filter"
  runtime_args=(--add-runtime "capfilter=$filter" --default-runtime capfilter)
fi
log=/var/log/digits-dockerd.log
echo "starting dockerd (log: $log)"
$sudo_cmd bash -c "nohup dockerd ${runtime_args[*]} >>$log 2>&1 &"
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s; see $log" >&2
tail -20 "$log" >&2
exit 1
