#!/usr/bin/env bash
# Installs everything (first run only) and starts the assistant on the local models.
# Extra arguments go to `vivavoce serve` (e.g. --port 9000, --llm http --llm-url ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/vivavoce serve "$@"
