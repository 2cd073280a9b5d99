#!/usr/bin/env bash
# Installs everything the tests need, then runs the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
.venv/bin/ruff check src tests
exec .venv/bin/python -m pytest -q "$@"
