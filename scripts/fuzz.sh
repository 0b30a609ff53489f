#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed time and reports executions and findings.
#
#   scripts/fuzz.sh [seconds per target, default 60] [target ...]
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the pinned stable
# toolchain accept them. `--sanitizer none` keeps coverage-guided fuzzing but skips ASan
# (wasmtime's signal-based traps and ASan do not mix, and this code is safe Rust over
# wasmtime). Crashes land in fuzz/artifacts/<target>/; turn each into a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(tx_decode wasm_validate abi_json rpc_request)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none >&2
printf '| target | seconds | executions | exec/s | corpus | crashes |\n|---|---|---|---|---|---|\n'
status=0
for t in "${targets[@]}"; do
    log="$(mktemp)"
    if cargo fuzz run --sanitizer none "$t" -- -max_total_time="$secs" -print_final_stats=1 \
        >"$log" 2>&1; then
        crashes=0
    else
        crashes="$(ls "artifacts/$t" 2>/dev/null | wc -l)"
        status=1
    fi
    execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)"
    rate="$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)"
    corpus="$(ls "corpus/$t" 2>/dev/null | wc -l)"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$secs" "$execs" "$rate" "$corpus" "$crashes"
    if [ "$status" -ne 0 ]; then
        grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5 >&2 || true
    fi
    rm -f "$log"
done
exit "$status"
