#!/usr/bin/env bash
# Installs what the tests need; the README's test command is
#   bash tests/setup.sh && cargo test --locked
# Safe to run again: whatever is already installed is reused.
#
#   Debian packages: prometheus (promtool checks /metrics and deploy/prometheus),
#                    docker-compose (checks deploy/compose.yaml; no Docker engine needed)
#   PyPI:            kubernetes-validate (checks deploy/k8s against the Kubernetes schemas)
#   crates.io:       tansu with SQLite storage (a Kafka-compatible broker for the
#                    end-to-end tests; SQLite lets a test crash and restart it)
#   Debian + npm:    chromium and playwright-core (the dashboard's browser test)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

apt_install prometheus docker-compose chromium

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "installing playwright-core from npm (drives the Debian chromium; no browser download)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
fi

export PATH="$HOME/.local/bin:$PATH"
if ! command -v kubernetes-validate >/dev/null; then
  echo "installing kubernetes-validate from PyPI"
  python3 -m pip install --quiet kubernetes-validate || python3 -m pip install --quiet --user kubernetes-validate
fi

export PATH="$HOME/.cargo/bin:$PATH"
# A marker records the features the installed tansu was built with; an older install
# (without SQLite storage) is replaced.
tansu_features="dynostore,libsql"
marker="$HOME/.cargo/.accesswatch-tansu-features"
if ! command -v tansu >/dev/null || [ "$(cat "$marker" 2>/dev/null)" != "$tansu_features" ]; then
  echo "installing the tansu broker with $tansu_features (about 15 minutes the first time)"
  cargo install tansu --locked --force --features "$tansu_features"
  echo "$tansu_features" > "$marker"
fi

echo "test tools ready"
