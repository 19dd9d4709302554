#!/bin/sh
# digits-postgres [serve|ready]: the feedback store's PostgreSQL server, as the cluster runs it.
#   serve  initialise the data directory on first start (superuser `postgres`, reachable only through
#          the local socket; the app's role and database), set the app role's password from the mounted
#          Secret on every start (so rotating the Secret and restarting the pod is enough), then run the
#          server in the foreground, listening on every address with password (SCRAM) authentication.
#   ready  exit 0 when the server accepts connections (the readiness probe).
# Runs as any unprivileged user that owns PGDATA's parent; the root filesystem may be read-only:
# only PGDATA and the socket directory are written.
set -eu

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
database=${DIGITS_POSTGRES_DB:-digits}
role=${DIGITS_POSTGRES_USER:-digits}
password_file=${DIGITS_POSTGRES_PASSWORD_FILE:-/var/run/secrets/postgres/password}
socket_dir=${DIGITS_POSTGRES_SOCKET_DIR:-/tmp}

case "${1:-serve}" in
  ready) exec "$bin/pg_isready" --quiet --host="$socket_dir" --dbname="$database" --username="$role" ;;
  serve) ;;
  *) echo "usage: digits-postgres [serve|ready]" >&2; exit 2 ;;
esac

case "$database$role" in
  *[!a-z0-9_]*) echo "digits-postgres: database and role names are lower-case letters, digits and _" >&2; exit 2 ;;
esac
if [ ! -s "$password_file" ]; then
  echo "digits-postgres: no password in $password_file (the Secret's key 'password')" >&2
  exit 1
fi

# Statements for the single-user backend (-j: a statement ends with ";" and an empty line).
# The password goes through standard input only, never the command line, with quotes doubled.
single_user() {
  "$bin/postgres" --single -j -D "$1" postgres >/dev/null
}
password=$(sed "s/'/''/g" "$password_file")

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
    echo "digits-postgres: $PGDATA is not empty and holds no database: refusing to touch it" >&2
    exit 1
  fi
  # Made beside PGDATA and renamed into place once complete: a start interrupted here starts afresh.
  staging="$PGDATA.initialising"
  echo "digits-postgres: initialising $PGDATA"
  rm -rf "$staging"
  "$bin/initdb" --pgdata="$staging" --username=postgres --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --no-instructions >/dev/null
  # initdb allows host connections from the loopback only; the app's pods connect over the network.
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$staging/pg_hba.conf"
  printf 'CREATE ROLE %s LOGIN;\n\nCREATE DATABASE %s OWNER %s;\n\n' "$role" "$database" "$role" \
    | single_user "$staging"
  rmdir "$PGDATA" 2>/dev/null || true
  mv "$staging" "$PGDATA"
fi
printf "ALTER ROLE %s WITH LOGIN PASSWORD '%s';\n\n" "$role" "$password" | single_user "$PGDATA"
unset password

exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$socket_dir"
