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

# IVR prompts: espeak-ng (voices uz, ru) and sox make 8 kHz WAV files in asterisk/sounds.
if ! command -v espeak-ng >/dev/null || ! command -v sox >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq espeak-ng sox
    else
        echo "run.sh: install espeak-ng and sox for spoken prompts (the demo runs without them)" >&2
    fi
fi
if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then "$BIN" prompts synthesize; fi
exec "$BIN" demo "$@"
