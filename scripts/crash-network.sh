#!/usr/bin/env bash
# Network mode of the crash test: a 4-validator testnet on loopback under a stream of
# transfers (each sent to a random validator); N times (default 30) one random validator is
# killed with SIGKILL at a random moment and restarted on the same home (it replays its
# consensus WAL and syncs what it missed). Afterwards, with every node stopped:
#   - every home opens and `chainvm verify` passes (blocks, certificates, re-execution);
#   - every home holds the same block hash at every common height;
#   - every transaction a client saw acknowledged (receipt returned by any node) is in
#     every home, in the block the node named.
#
#   scripts/crash-network.sh [kills] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-30}"
seed="${2:-$RANDOM}"
RANDOM="$seed"
echo "seed $seed, $kills kills" >&2
cargo build --release -q -p chainvm
bin="$PWD/target/release/chainvm"
dir="$(mktemp -d)"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
base=$((21000 + (RANDOM % 400) * 10))
"$bin" testnet init --dir "$dir/net" --validators 4 --base-port "$base" >/dev/null
acked="$dir/acked"
: >"$acked"
declare -a pids
url() { echo "http://127.0.0.1:$((base + 2 * $1))"; }

start() {
    local i="$1" log="$dir/net/v$i/node.log" before
    # The log is appended to: only this run's "listening" line counts.
    before="$(wc -c <"$log")"
    "$bin" --home "$dir/net/v$i" node >>"$log" 2>&1 &
    pids[$i]=$!
    for _ in $(seq 1 400); do
        [ "$(tail -c +"$((before + 1))" "$log" | grep -c listening)" -gt 0 ] && return 0
        kill -0 "${pids[$i]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "validator $i did not start" >&2
    tail -c +"$((before + 1))" "$log" | tail -5 >&2
    exit 1
}

height() {
    { "$bin" --node "$(url "$1")" --json block latest 2>/dev/null || true; } |
        sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -1
}

# One sender per dev account, each to a random validator; an acknowledged transfer is logged
# as "hash block" (the CLI waits for the receipt and prints its block).
load() {
    local from="$1" out hash block
    while true; do
        if out="$("$bin" --node "$(url $((RANDOM % 4)))" --json transfer 9 1 --from "$from" 2>/dev/null)"; then
            hash="$(printf '%s' "$out" | sed -n 's/.*"tx_hash": *"\(0x[0-9a-f]*\)".*/\1/p' | head -1)"
            block="$(printf '%s' "$out" | sed -n 's/.*"block": *\([0-9][0-9]*\).*/\1/p' | head -1)"
            [ -n "$hash" ] && [ -n "$block" ] && printf '%s %s\n' "$hash" "$block" >>"$acked"
        fi
    done
}

for i in 0 1 2 3; do : >"$dir/net/v$i/node.log"; start "$i"; done
load 1 & l1=$!
load 2 & l2=$!
load 3 & l3=$!
for k in $(seq 1 "$kills"); do
    sleep "0.$((3 + RANDOM % 7))"
    victim=$((RANDOM % 4))
    kill -9 "${pids[$victim]}"
    wait "${pids[$victim]}" 2>/dev/null || true
    sleep "0.$((RANDOM % 5))"
    start "$victim"
    h="$(height $(((victim + 1) % 4)))"
    printf 'kill %2d: validator %d restarted, network at height %s, %s acknowledged so far\n' \
        "$k" "$victim" "${h:-?}" "$(wc -l <"$acked")"
done
kill "$l1" "$l2" "$l3" 2>/dev/null || true
wait "$l1" "$l2" "$l3" 2>/dev/null || true
# Let every validator reach the last acknowledged block (the last one restarted syncs it),
# then stop everyone cleanly.
last="$(sort -k2 -n "$acked" | tail -1 | cut -d' ' -f2)"
for i in 0 1 2 3; do
    for _ in $(seq 1 600); do
        h="$(height "$i")"
        [ -n "$h" ] && [ "$h" -ge "${last:-0}" ] && break
        sleep 0.1
    done
done
for i in 0 1 2 3; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
for i in 0 1 2 3; do wait "${pids[$i]}" 2>/dev/null || true; done
min=""
for i in 0 1 2 3; do
    "$bin" --home "$dir/net/v$i" verify >/dev/null || { echo "validator $i: verify failed" >&2; exit 1; }
    h="$("$bin" --home "$dir/net/v$i" --json block latest | sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -1)"
    if [ -z "$min" ] || [ "$h" -lt "$min" ]; then min="$h"; fi
done
# Same hash at every common height.
for h in $(seq 1 "$min"); do
    first=""
    for i in 0 1 2 3; do
        hash="$("$bin" --home "$dir/net/v$i" --json block "$h" | sed -n 's/.*"hash": *"\(0x[0-9a-f]*\)".*/\1/p' | head -1)"
        if [ -z "$first" ]; then first="$hash"; elif [ "$hash" != "$first" ]; then
            echo "fork at height $h: $first vs $hash (validator $i)" >&2
            exit 1
        fi
    done
done
# Every acknowledged transaction is in every home, in the block it was acknowledged in.
while read -r tx block; do
    for i in 0 1 2 3; do
        got="$("$bin" --home "$dir/net/v$i" --json tx "$tx" 2>/dev/null | sed -n 's/.*"block": *\([0-9][0-9]*\).*/\1/p' | head -1)"
        [ "$got" = "$block" ] || { echo "validator $i: acknowledged $tx (block $block) found in '${got}'" >&2; exit 1; }
    done
done < <(sort -u "$acked")
echo "$kills kills survived: common height $min, $(sort -u "$acked" | wc -l) acknowledged transactions in every home, same hashes at every height, verify ok on all 4 homes"
