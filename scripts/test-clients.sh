#!/usr/bin/env bash
# The tests outside the Rust workspace: the TypeScript client (vectors and a real node) and the
# browser tests (the explorer and examples/escrow-web in headless Chromium). Both use
# target/debug/chainvm, which `cargo test --workspace` builds (the README's test command runs
# that first), and need Node.js 20 with npm and Chromium (`.ci/run` installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
(cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npm test)
(cd clients/browser && npm ci --no-audit --no-fund --loglevel=error && npm test)
