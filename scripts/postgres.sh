#!/usr/bin/env bash
# Starts a private PostgreSQL for Murojaat on loopback (installing it with apt-get if missing),
# creates the role and databases, and prints the database URL. Idempotent: a running one is reused.
# Committed data is flushed to disk (fsync on) unless MUROJAAT_PG_FSYNC=off (the test suite's throwaway data).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The product's server (var/postgres, port 55432) and the tests' (MUROJAAT_PG_NAME=postgres-test, port 55433) are
# separate, so that the tests' fsync=off never touches the product's data.
NAME=${MUROJAAT_PG_NAME:-postgres}
PORT=${MUROJAAT_PG_PORT:-55432}
DATA=${MUROJAAT_PG_DIR:-$ROOT/var/$NAME}
DB=${1:-murojaat}
FSYNC=${MUROJAAT_PG_FSYNC:-on}
case "$FSYNC" in on|off) ;; *) echo "postgres.sh: MUROJAAT_PG_FSYNC is '$FSYNC'; use on or off" >&2; exit 1 ;; esac

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
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$DATA"
    # The postgres user must reach the data directory: a clone inside a private folder (root's home is mode 700)
    # cannot be. Then the data lives under /var/lib/murojaat, one directory per clone.
    if ! runuser -u postgres -- test -w "$DATA" 2>/dev/null && [ -z "${MUROJAAT_PG_DIR:-}" ]; then
        rmdir "$DATA" 2>/dev/null || true
        DATA=/var/lib/murojaat/$NAME-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
        echo "postgres.sh: $ROOT is not reachable by the postgres user; the database lives in $DATA" >&2
        mkdir -p "$DATA"
        chown postgres "$DATA"
        chmod 700 "$DATA"
    fi
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
    # Beside the data directory, which the postgres user reaches (a private $TMPDIR it may not).
    PWFILE=$(mktemp "$(dirname "$DATA")/.murojaat-pw.XXXXXX")
    echo murojaat > "$PWFILE"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PWFILE"; fi
    chmod 600 "$PWFILE"
    as_owner "$BIN/initdb" -D "$DATA" -U murojaat --pwfile="$PWFILE" --auth-host=scram-sha-256 --auth-local=trust \
        -E UTF8 --locale=C.UTF-8 >&2
    rm -f "$PWFILE"
fi
if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -w -t 60 -l "$DATA/server.log" \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c max_connections=200 -c fsync=$FSYNC" start >&2 \
        || { cat "$DATA/server.log" >&2; exit 1; }
fi
PGPASSWORD=murojaat psql -h 127.0.0.1 -p "$PORT" -U murojaat -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || PGPASSWORD=murojaat psql -h 127.0.0.1 -p "$PORT" -U murojaat -d postgres -qc "CREATE DATABASE \"$DB\"" >&2
echo "postgres://murojaat:murojaat@127.0.0.1:$PORT/$DB"
