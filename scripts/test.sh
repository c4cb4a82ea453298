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
MUROJAAT_TEST_DATABASE_URL=$(./scripts/postgres.sh murojaat_test)
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

swift build --build-tests

# One test target at a time, each under a time limit so that a hang fails loudly instead of eating CI's time.
status=0
for target in ARITests StorageTests CallCenterTests NotificationTests AppTests; do
    set +e
    timeout --kill-after=10 300 swift test --skip-build --filter "^$target\." "$@"
    rc=$?
    set -e
    pkill -9 -f murojaatPackageTests.xctest 2>/dev/null || true
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "test.sh: $target HUNG: no result within 300 s" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        echo "test.sh: $target FAILED (exit $rc)" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "test.sh: all test targets passed"
exit $status
