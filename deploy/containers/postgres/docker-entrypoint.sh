#!/bin/bash
# First start: initdb (UTF-8, builtin C.UTF-8 locale like deploy/local), password auth on TCP, POSTGRES_DB created,
# /docker-entrypoint-initdb.d run. Every start: exec postgres listening on all addresses.
set -euo pipefail
if [[ "${1:-postgres}" != postgres ]]; then exec "$@"; fi
shift || true
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
socket_dir=${PGSOCKETDIR:-/var/run/postgresql}

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
    echo "error: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust for a throw-away database)" >&2
    exit 1
  fi
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" -E UTF8 \
    --locale-provider=builtin --builtin-locale=C.UTF-8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 %s\nhost all all ::/0 %s\n' "$auth" "$auth" >>"$PGDATA/pg_hba.conf"
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
unix_socket_directories = '$socket_dir'
max_connections = ${POSTGRES_MAX_CONNECTIONS:-200}
timezone = 'UTC'
log_timezone = 'UTC'
CONF
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql=(psql -v ON_ERROR_STOP=1 -h "$socket_dir" -U "$user" -d postgres -qAt)
  if [[ "$db" != postgres ]]; then "${psql[@]}" -c "CREATE DATABASE \"$db\""; fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) "${psql[@]}" -d "$db" -f "$f" ;;
      *.sh) . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi
exec postgres -D "$PGDATA" "$@"
