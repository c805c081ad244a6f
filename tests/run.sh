#!/usr/bin/env bash
# The test command of the README: everything the tests need, then the tests.
# Safe to run again: tools already installed are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
