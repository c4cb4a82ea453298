#!/usr/bin/env bash
# Runs every test: installs and starts what the tests need (PostgreSQL on loopback), builds, tests.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "test.sh: the Swift toolchain is not on PATH" >&2; exit 1; }

export MUROJAAT_TEST_DATABASE_URL
MUROJAAT_TEST_DATABASE_URL=$(./scripts/postgres.sh murojaat_test)
echo "test.sh: PostgreSQL at ${MUROJAAT_TEST_DATABASE_URL%%:murojaat@*}:***@${MUROJAAT_TEST_DATABASE_URL#*@}"

swift build --build-tests

# One test target at a time, each under a time limit. Known defect (see the closing note of issue 3):
# a run sometimes stalls with every task idle (not yet understood); a target that stalls is reported loudly
# and run again, up to four times.
# A failing test is never retried.
status=0
for target in ARITests StorageTests CallCenterTests AppTests; do
    for attempt in 1 2 3 4; do
        set +e
        timeout --kill-after=10 120 swift test --skip-build --filter "^$target\." "$@"
        rc=$?
        set -e
        pkill -9 -f murojaatPackageTests.xctest 2>/dev/null || true
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "test.sh: $target STALLED (attempt $attempt)" >&2
            [ "$attempt" -eq 4 ] && status=1
            continue
        fi
        [ "$rc" -ne 0 ] && status=1
        break
    done
done
exit $status
