#!/usr/bin/env bash
# Issue 22, point 16: the README's commands work from any folder a user may clone into, including one the
# postgres user cannot enter (root's home is mode 700). Clones this checkout into a fresh mode-700 folder and
# starts the product's PostgreSQL from there with scripts/postgres.sh (what run.sh does first, and where a
# private folder made it fail), on a port of its own; then stops that server by its pid file and removes
# everything it made. As root only (as a user, initdb runs as that user and the folder's mode is no obstacle).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "private-clone-test: not root, nothing to check"; exit 0; fi
home=$(mktemp -d /tmp/murojaat-private.XXXXXX)
chmod 700 "$home"
clone=$home/murojaat
data=
cleanup() {
    if [ -n "$data" ] && [ -f "$data/postmaster.pid" ]; then
        pid=$(head -n 1 "$data/postmaster.pid"); kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    [ -n "$data" ] && rm -rf "$data"
    rm -rf "$home"
}
trap cleanup EXIT
git clone -q "$SRC" "$clone"
port=${MUROJAAT_PRIVATE_TEST_PG_PORT:-55499}
log=$home/postgres.log
ok=yes
url=$(MUROJAAT_PG_NAME=postgres-private-test MUROJAAT_PG_PORT=$port "$clone/scripts/postgres.sh" murojaat 2>"$log") || ok=no
# Where the data went (removed on exit, also after a failure).
data=$(sed -n 's/^postgres.sh: .* the database lives in //p' "$log")
if [ "$ok" = no ]; then
    echo "private-clone-test: FAILED: postgres.sh from a mode-700 folder:" >&2; cat "$log" >&2; exit 1
fi
[ -n "$data" ] || { echo "private-clone-test: FAILED: postgres.sh did not move the data out of the private folder" >&2; cat "$log" >&2; exit 1; }
PGPASSWORD=murojaat psql "$url" -tAc "SHOW fsync" | grep -qx on || { echo "private-clone-test: FAILED: the product's PostgreSQL runs without fsync" >&2; exit 1; }
echo "private-clone-test: passed (a clone in a mode-700 folder starts its PostgreSQL in $data, fsync on)"
