#!/usr/bin/env bash
# Set up a fresh machine: the project's virtualenv (.venv), DVC in its own virtualenv (.dvc-venv,
# because DVC's hydra pin breaks Dagster's parser), and with --test the browser the UI test drives.
# Re-running is cheap: pip only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# no wheel cache: the venvs are the only copy (about 7 GiB, most of it the CUDA build of torch)
export PIP_NO_CACHE_DIR=1

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
log "installing the project into .venv (pinned by constraints.txt)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"

if [ ! -x .dvc-venv/bin/dvc ]; then
  log "creating .dvc-venv for DVC"
  "$PYTHON" -m venv .dvc-venv
fi
.dvc-venv/bin/python -m pip install -q --disable-pip-version-check -c constraints-dvc.txt "dvc==3.67.1"

# Debian packages of the tests: headless Chromium (the Dagster UI test takes a screenshot) and
# redis-server (the Celery tests start their own on a free 127.0.0.1 port, not the system service)
packages=()
if [ "$with_test" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium chromium-driver)
  command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  log "installing ${packages[*]} (Debian packages) for the tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
fi
log "done: .venv/bin/dlcr, .dvc-venv/bin/dvc$([ "$with_test" = 1 ] && echo ', chromium, redis-server')"
