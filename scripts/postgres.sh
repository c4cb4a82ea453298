#!/usr/bin/env bash
# Starts a private PostgreSQL for Murojaat on loopback (installing it with apt-get if missing),
# creates the role and databases, and prints the database URL. Idempotent: a running one is reused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${MUROJAAT_PG_PORT:-55432}
DATA=${MUROJAAT_PG_DIR:-$ROOT/var/postgres}
DB=${1:-murojaat}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "postgres.sh: installing PostgreSQL with apt-get" >&2
    if [ "$(id -u)" -ne 0 ]; then echo "postgres.sh: PostgreSQL is not installed and this is not root; install package 'postgresql'" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# initdb and postgres refuse to run as root: run them as the postgres user then.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$DATA"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DATA"; fi
if [ ! -f "$DATA/PG_VERSION" ]; then
    PWFILE=$(mktemp)
    echo murojaat > "$PWFILE"
    chmod 644 "$PWFILE"
    as_owner "$BIN/initdb" -D "$DATA" -U murojaat --pwfile="$PWFILE" --auth-host=scram-sha-256 --auth-local=trust \
        -E UTF8 --locale=C.UTF-8 >&2
    rm -f "$PWFILE"
fi
if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -w -t 60 -l "$DATA/server.log" \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c max_connections=200 -c fsync=off" start >&2 \
        || { cat "$DATA/server.log" >&2; exit 1; }
fi
PGPASSWORD=murojaat psql -h 127.0.0.1 -p "$PORT" -U murojaat -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || PGPASSWORD=murojaat psql -h 127.0.0.1 -p "$PORT" -U murojaat -d postgres -qc "CREATE DATABASE \"$DB\"" >&2
echo "postgres://murojaat:murojaat@127.0.0.1:$PORT/$DB"
