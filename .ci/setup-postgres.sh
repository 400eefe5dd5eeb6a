#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages if needed, start a throw-away cluster on loopback,
# create an empty database, and print its SQLAlchemy URL on stdout (everything else to stderr).
#
# By default the cluster gets a new temporary data directory and a free port, so two checkouts
# on one machine never stop or wipe each other's database; PGDATA and PGPORT override both.
# The Makefile exports the pair it chose, so `make test-postgres` stops its own cluster:
#
#   PGDATA=/tmp/gateway-pg.XXXX PGPORT=54321 bash .ci/setup-postgres.sh --stop
#
# With --stop, stop the cluster in PGDATA and, if this script created that directory, remove it.
set -euo pipefail
DBNAME=${DBNAME:-gateway_test}
MARKER=.created-by-setup-postgres

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "--stop" ]; then
  : "${PGDATA:?--stop needs PGDATA: the data directory the start printed}"
  as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >&2 || true
  if [ -e "$PGDATA/$MARKER" ]; then rm -rf "$PGDATA"; fi
  exit 0
fi

if [ -z "${PGPORT:-}" ]; then
  # Ask the kernel for a free port (bind to 0); the cluster takes it a moment later.
  PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
created=
if [ -z "${PGDATA:-}" ]; then
  PGDATA=$(mktemp -d /tmp/gateway-pg.XXXXXX)
  created=1
fi

if ! as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
  as_postgres "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync >&2
  if [ -n "$created" ]; then as_postgres touch "$PGDATA/$MARKER"; fi
  # fsync off: a test cluster trades durability for speed; it is thrown away after the run.
  as_postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
  echo "PostgreSQL on 127.0.0.1:$PGPORT, data in $PGDATA; stop it with:" >&2
  echo "  PGDATA=$PGDATA PGPORT=$PGPORT bash .ci/setup-postgres.sh --stop" >&2
fi
as_postgres "$PGBIN/dropdb" -h 127.0.0.1 -p "$PGPORT" -U postgres --if-exists "$DBNAME" >&2
as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$DBNAME" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/$DBNAME"
