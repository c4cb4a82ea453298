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
swift test --skip-build "$@"
