#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine with the Swift toolchain and runs the product:
# a local PostgreSQL (started here), migrations and reference data, the IVR prompts, then
# `murojaat demo` — the built-in Asterisk simulator with generated callers, unless
# MUROJAAT_ARI_URL names a real Asterisk. Open the URL it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "run.sh: the Swift toolchain is not on PATH" >&2; exit 1; }

export MUROJAAT_DATABASE_URL=${MUROJAAT_DATABASE_URL:-$(./scripts/postgres.sh murojaat)}
swift build --product murojaat
BIN=$(swift build --show-bin-path)/murojaat
"$BIN" migrate
exec "$BIN" demo "$@"
