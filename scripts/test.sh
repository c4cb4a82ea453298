#!/usr/bin/env bash
# Runs every test: installs and starts what the tests need (PostgreSQL on loopback), builds, tests.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "test.sh: the Swift toolchain is not on PATH" >&2; exit 1; }

# A clean build (package checkouts, debug products) and the test database need about 3 GB; with less, SwiftPM
# fails half-way through cloning with "No space left on device". Say so first, with the figure.
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((3 * 1024 * 1024)) ]; then
    echo "test.sh: only $((free_kb / 1024)) MiB free on $(df -P . | awk 'NR == 2 { print $6 }'); a build and test run needs about 3 GiB" >&2
    exit 1
fi

export MUROJAAT_TEST_DATABASE_URL
MUROJAAT_TEST_DATABASE_URL=$(MUROJAAT_PG_NAME=postgres-test MUROJAAT_PG_PORT=${MUROJAAT_TEST_PG_PORT:-55433} MUROJAAT_PG_FSYNC=off \
    ./scripts/postgres.sh murojaat_test)
echo "test.sh: PostgreSQL at ${MUROJAAT_TEST_DATABASE_URL%%:murojaat@*}:***@${MUROJAAT_TEST_DATABASE_URL#*@}"

# Headless Chromium and its WebDriver for the browser tests.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "test.sh: chromium and chromium-driver are missing; run as root to install them" >&2; exit 1; }
    echo "test.sh: installing chromium and chromium-driver with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version

# A real SMTP server for the e-mail tests (aiosmtpd from PyPI), openssl for its test certificate, and
# openpyxl, an independent reader of the XLSX exports.
if ! command -v openssl >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "test.sh: openssl is missing; run as root to install it" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq openssl >/dev/null
fi
if ! python3 -c "import aiosmtpd, openpyxl" 2>/dev/null; then
    echo "test.sh: installing aiosmtpd and openpyxl with pip"
    python3 -m pip install --quiet aiosmtpd openpyxl || { echo "test.sh: could not install aiosmtpd and openpyxl (python3 -m pip install aiosmtpd openpyxl)" >&2; exit 1; }
fi
python3 -c "import aiosmtpd, openpyxl; print('aiosmtpd', aiosmtpd.__version__, 'openpyxl', openpyxl.__version__)"

# The real-Asterisk tier: Asterisk 22 from ../shared/asterisk (or MUROJAAT_TEST_ASTERISK) and sipp (Debian's
# sip-tester) for real SIP callers and phones. In CI a missing Asterisk is a failure, not a skip.
export MUROJAAT_TEST_ASTERISK=${MUROJAAT_TEST_ASTERISK:-$(cd .. && pwd)/shared/asterisk}
if [ ! -x "$MUROJAAT_TEST_ASTERISK/asterisk-start" ]; then
    if [ -n "${CI:-}" ]; then echo "test.sh: no Asterisk at $MUROJAAT_TEST_ASTERISK (asterisk-start): the real-Asterisk tier cannot run" >&2; exit 1; fi
    echo "test.sh: no Asterisk at $MUROJAAT_TEST_ASTERISK: the real-Asterisk scenarios will be SKIPPED (set MUROJAAT_TEST_ASTERISK=DIR)" >&2
fi
if ! command -v sipp >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "test.sh: sipp is missing; run as root to install sip-tester" >&2; exit 1; }
    echo "test.sh: installing sip-tester (sipp) with apt-get"
    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; apt-get install -y -qq sip-tester >/dev/null
fi
sipp -v 2>&1 | grep -m1 SIPp || true

swift build --build-tests
bin="$(swift build --show-bin-path)/murojaatPackageTests.xctest"

# What the tests start lives in this run's own temporary folder; whatever a killed test left running there (an
# Asterisk daemon) is ended afterwards by the PID it wrote, never by name.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/murojaat-test.XXXXXX")
export TMPDIR=$run_tmp
export MUROJAAT_PEER_TALLY=$run_tmp/peer-tally.tsv
child=
cleanup() {
    # A test run interrupted (Ctrl-C, a CI time limit) ends the test binary it started, by PID.
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then kill -TERM "$child"; wait "$child" 2>/dev/null || true; fi
    for pidfile in "$run_tmp"/murojaat-asterisk-*/run/var/run/asterisk/asterisk.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile"); kill -0 "$pid" 2>/dev/null && { echo "test.sh: ending Asterisk $pid left by a test"; kill -9 "$pid"; }
    done
    rm -rf "$run_tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One test target at a time, each under a time limit so that a hang fails loudly instead of eating CI's time. The
# test binary is run directly: `timeout` then ends exactly that process (and its children) by PID.
# `scripts/test.sh asterisk` runs the real-Asterisk tier alone.
if [ "${1:-}" = "asterisk" ]; then
    plan=("CallCenterTests.PeerScenarioTests 900")
else
    plan=("ARITests 300" "StorageTests 300" "CallCenterTests 300 --skip PeerScenarioTests" "CallCenterTests.PeerScenarioTests 900"
          "NotificationTests 300" "AppTests 300")
fi
status=0
# The README's commands from a clone in a private folder (mode 700, as root's home is).
if [ "${1:-}" != "asterisk" ] && ! ./scripts/private-clone-test.sh; then status=1; fi
for entry in "${plan[@]}"; do
    read -r target limit extra <<< "$entry"
    set +e
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$limit" "$bin" --testing-library swift-testing --filter "^${target}[./]" $extra &
    child=$!
    wait "$child"
    rc=$?
    child=
    set -e
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "test.sh: $target HUNG: no result within $limit s" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        echo "test.sh: $target FAILED (exit $rc)" >&2
        status=1
    fi
    if [ "$target" = "CallCenterTests.PeerScenarioTests" ]; then
        sim=$(grep -c '^simulator' "$MUROJAAT_PEER_TALLY" 2>/dev/null || true)
        ast=$(grep -c '^asterisk' "$MUROJAAT_PEER_TALLY" 2>/dev/null || true)
        # A scenario is tallied when it ran to its end; with a failure above, some of those had failed expectations.
        if [ "$rc" -eq 0 ]; then
            echo "test.sh: telephony scenarios passed: ${sim:-0} on the simulator, ${ast:-0} on the real Asterisk 22"
        else
            echo "test.sh: telephony scenarios run to their end: ${sim:-0} on the simulator, ${ast:-0} on the real Asterisk 22 (failures above)"
        fi
    fi
done
[ "$status" -eq 0 ] && echo "test.sh: all test targets passed"
exit $status
