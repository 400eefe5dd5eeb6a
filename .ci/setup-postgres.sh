#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages if needed, start a throw-away cluster on loopback,
# create an empty database, and print its SQLAlchemy URL on stdout (everything else to stderr).
# With --stop, stop that cluster.
set -euo pipefail
PGPORT=${PGPORT:-55432}
PGDATA=${PGDATA:-/tmp/gateway-ci-postgres}
DBNAME=${DBNAME:-gateway_test}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "--stop" ]; then
  as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >&2 || true
  exit 0
fi

if ! as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
  as_postgres "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync >&2
  # fsync off: a test cluster trades durability for speed; it is thrown away after the run.
  as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
fi
as_postgres "$PGBIN/dropdb" -h 127.0.0.1 -p "$PGPORT" -U postgres --if-exists "$DBNAME" >&2
as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$DBNAME" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/$DBNAME"
