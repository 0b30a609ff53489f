#!/usr/bin/env bash
# Every test: the Rust workspace, then the TypeScript client (vectors and a real node) and the
# browser tests (the explorer and examples/escrow-web in headless Chromium). The last two use
# target/debug/chainvm, which the first builds, and need Node.js 20 with npm and Chromium
# (`.ci/run` installs Debian's chromium if it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
(cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npm test)
(cd clients/browser && npm ci --no-audit --no-fund --loglevel=error && npm test)
