#!/usr/bin/env bash
# Kills a `chainvm node` under load with SIGKILL at random moments, N times (default 50),
# and after every kill checks, with the node down:
#   - the home opens and `chainvm verify` passes (every block re-checked and re-executed);
#   - the chain height on disk is at or past the highest block any client saw a transaction
#     acknowledged in (the CLI's `transfer` waits for the receipt and prints its block);
#   - every acknowledged transaction (its hash returned by the node, which in automine mode
#     answers only after the block holding it is committed) is in the chain, in that block;
#   - the node's peak resident memory (VmHWM) stayed under 1 GiB.
#
#   scripts/crash-node.sh [kills] [seed]
#   scripts/crash-node.sh --network [kills] [seed]   (4 validators: scripts/crash-network.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--network" ]; then
    shift
    exec scripts/crash-network.sh "$@"
fi
kills="${1:-50}"
seed="${2:-$RANDOM}"
RANDOM="$seed"
echo "seed $seed, $kills kills" >&2
cargo build --release -q -p chainvm
bin="$PWD/target/release/chainvm"
home="$(mktemp -d)"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$home"' EXIT
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
"$bin" --home "$home" init >/dev/null
acked="$home/acked"
: >"$acked"
height() { "$bin" --home "$home" --json block latest | sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -1; }

# One sender per dev account (1..3), each sending transfers as fast as the node answers.
# Every acknowledged transfer is logged as "hash block" (the block the node said holds it).
load() {
    local from="$1" out hash block
    while true; do
        if out="$("$bin" --node "$url" --json transfer 9 1 --from "$from" 2>/dev/null)"; then
            hash="$(printf '%s' "$out" | sed -n 's/.*"tx_hash": *"\(0x[0-9a-f]*\)".*/\1/p' | head -1)"
            block="$(printf '%s' "$out" | sed -n 's/.*"block": *\([0-9][0-9]*\).*/\1/p' | head -1)"
            [ -n "$hash" ] && [ -n "$block" ] && printf '%s %s\n' "$hash" "$block" >>"$acked"
        fi
    done
}

checked=0
peak=0
for i in $(seq 1 "$kills"); do
    "$bin" --home "$home" node --rpc "127.0.0.1:$port" >"$home/node.log" 2>&1 &
    node=$!
    for _ in $(seq 1 200); do
        grep -q listening "$home/node.log" 2>/dev/null && break
        sleep 0.05
    done
    grep -q listening "$home/node.log" || { echo "kill $i: node did not start" >&2; cat "$home/node.log" >&2; exit 1; }
    load 1 & l1=$!
    load 2 & l2=$!
    load 3 & l3=$!
    # Kill at a random moment 0.2-1.7 s into the load.
    sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
    sleep "0.$((2 + RANDOM % 6))"
    # The node's peak resident memory so far (it must stay bounded under load).
    hwm="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$node/status" 2>/dev/null || echo 0)"
    [ "${hwm:-0}" -gt "$peak" ] && peak="$hwm"
    if [ "${hwm:-0}" -gt $((1024 * 1024)) ]; then
        echo "kill $i: node peak memory ${hwm} kB exceeds 1 GiB" >&2
        exit 1
    fi
    kill -9 "$node"
    wait "$node" 2>/dev/null || true
    kill "$l1" "$l2" "$l3" 2>/dev/null || true
    wait "$l1" "$l2" "$l3" 2>/dev/null || true
    # The node is down: the home must open, verify, and hold every acknowledged transaction.
    "$bin" --home "$home" verify >/dev/null || { echo "kill $i: verify failed" >&2; exit 1; }
    h="$(height)"
    [ -n "$h" ] || { echo "kill $i: cannot read the height on disk" >&2; exit 1; }
    # The chain on disk is at or past the last block any client saw acknowledged.
    last_acked="$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$acked")"
    if [ "$h" -lt "$last_acked" ]; then
        echo "kill $i: height on disk $h is below the last acknowledged block $last_acked" >&2
        exit 1
    fi
    # Transactions acknowledged during this round (earlier ones are re-checked at the end),
    # each in the block the node named.
    new="$(tail -n +"$((checked + 1))" "$acked")"
    checked="$(wc -l <"$acked")"
    while read -r tx block; do
        [ -n "$tx" ] || continue
        got="$("$bin" --home "$home" --json tx "$tx" 2>/dev/null | sed -n 's/.*"block": *\([0-9][0-9]*\).*/\1/p' | head -1)"
        [ -n "$got" ] || { echo "kill $i: acknowledged $tx lost" >&2; exit 1; }
        [ "$got" = "$block" ] || { echo "kill $i: $tx acknowledged in block $block, found in $got" >&2; exit 1; }
    done <<<"$new"
    printf 'kill %2d: height %s (last acknowledged block %s), %s acknowledged this round, all present, verify ok\n' \
        "$i" "$h" "$last_acked" "$(printf '%s' "$new" | grep -c . || true)"
done
# Nothing acknowledged earlier was lost by a later crash either.
while read -r tx _; do
    "$bin" --home "$home" tx "$tx" >/dev/null 2>&1 || { echo "acknowledged $tx lost" >&2; exit 1; }
done < <(sort -u "$acked")
echo "$kills kills survived: final height $(height), $(sort -u "$acked" | wc -l) acknowledged transactions, none lost, chain at or past the last acknowledged block and verify ok after every kill, node peak memory ${peak} kB"
