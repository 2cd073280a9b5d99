#!/usr/bin/env bash
# Installs everything the tests need, then runs the linter and the test suite: first the
# fast tests (no models, no browser; seconds), then the slow ones (models and Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
.venv/bin/ruff check src tests

# Exit code 5 is "no tests collected": fine when arguments select only one kind.
stage() {
  local code=0
  .venv/bin/python -m pytest -q "$@" || code=$?
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then
    exit "$code"
  fi
}
echo "==> fast tests (no models)"
stage -m "not slow" "$@"
echo "==> slow tests (models, browser)"
stage -m slow "$@"
