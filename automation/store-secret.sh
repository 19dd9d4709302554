#!/usr/bin/env bash
# store-secret.sh KUBECTL [KUBECTL-ARGS...]
# Make the store's password Secret (digits/digits-postgres, key: password) once, with a random
# password that never appears on a command line or in git. An existing Secret is left as it is:
# to rotate it, replace the Secret, then restart the digits-postgres pod and the api's pods.
set -euo pipefail
kubectl=("$@")
if "${kubectl[@]}" -n digits get secret digits-postgres >/dev/null 2>&1; then
  exit 0
fi
umask 077
file=$(mktemp)
trap 'rm -f "$file"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"
"${kubectl[@]}" -n digits create secret generic digits-postgres --from-file=password="$file"
