#!/usr/bin/env bash
# Prox soak test: fixed-rate load for a long time (default 30 min) while backends are killed and
# restarted, the config is reloaded and actors are crashed on a schedule. Not run by CI.
# bench/soak.sh --help lists the options; bench/README.md ("Soak test") explains the method and output.
set -euo pipefail
ulimit -n 65536 2>/dev/null || true
exec python3 "$(dirname "${BASH_SOURCE[0]}")/soak.py" "$@"
