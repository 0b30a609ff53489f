//! State-root update cost as the state grows: the same batch of k changed keys applied to
//! states of 10^4, 10^5 and 10^6 keys, both on the in-memory node map (the tree algorithm
//! alone) and through the redb store (stage = tree update reading nodes from disk pages;
//! commit = one durable write transaction).

use chainvm_runtime::state::tree::{self, Hash, Node, keccak};
use chainvm_runtime::state::{BlockRecord, StateWrites, Store};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const K: u64 = 1_000;
const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];
const BATCHES: u64 = 10;

fn key(i: u64) -> Vec<u8> {
    format!("account/{i:016x}").into_bytes()
}

/// Batch `b` for a state of `n` keys: half updates of existing keys, half new keys.
fn batch(n: u64, b: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..K)
        .map(|i| {
            let k = if i % 2 == 0 {
                (b * 7919 + i * 104_729) % n
            } else {
                n + b * K + i
            };
            (key(k), format!("balance {b} {i}").into_bytes())
        })
        .collect()
}

/// Commits staged state with an otherwise empty block record at `height`.
fn commit_empty_block(store: &Store, staged: chainvm_runtime::state::StagedState, height: u64) {
    let block = BlockRecord {
        height,
        ..BlockRecord::default()
    };
    store.commit(staged, &block).expect("state bench");
}

fn mean(d: &[Duration]) -> f64 {
    d.iter().map(|d| d.as_secs_f64()).sum::<f64>() / d.len() as f64 * 1e3
}

pub fn run() {
    crate::util::Table::new(
        &format!(
            "State-root update: a batch of {K} changed keys (half updates, half inserts), mean of {BATCHES} batches"
        ),
        &[
            "keys in state",
            "in-memory tree update",
            "per changed key",
            "redb stage (tree update reading nodes from disk)",
            "redb commit",
            "nodes written per change",
        ],
    );
    for n in SIZES {
        // In-memory tree of n keys.
        let mut nodes: HashMap<Hash, Node> = HashMap::new();
        let mut root = tree::empty_hash();
        for chunk in (0..n).collect::<Vec<_>>().chunks(100_000) {
            let changes: Vec<_> = chunk
                .iter()
                .map(|i| (keccak(&key(*i)), Some(keccak(b"initial"))))
                .collect();
            let u = tree::apply(&nodes, root, &changes).expect("state bench");
            nodes.extend(u.nodes);
            root = u.root;
        }
        let mut mem = Vec::new();
        for b in 0..BATCHES {
            let changes: Vec<_> = batch(n, b)
                .iter()
                .map(|(k, v)| (keccak(k), Some(keccak(v))))
                .collect();
            let start = Instant::now();
            let u = tree::apply(&nodes, root, &changes).expect("state bench");
            mem.push(start.elapsed());
            std::hint::black_box(&u);
        }
        drop(nodes);

        // The same through redb.
        let dir = tempfile::tempdir().expect("state bench");
        let store = Store::create(dir.path()).expect("state bench");
        let mut height = 0;
        for chunk in (0..n).collect::<Vec<_>>().chunks(200_000) {
            let w: StateWrites = chunk
                .iter()
                .map(|i| (key(*i), Some(b"initial".to_vec())))
                .collect();
            let staged = store.stage(w).expect("state bench");
            commit_empty_block(&store, staged, height);
            height += 1;
        }
        let (mut stage, mut commit, mut written) = (Vec::new(), Vec::new(), 0usize);
        for b in 0..BATCHES {
            let w: StateWrites = batch(n, b).into_iter().map(|(k, v)| (k, Some(v))).collect();
            let start = Instant::now();
            let staged = store.stage(w.clone()).expect("state bench");
            stage.push(start.elapsed());
            // Count the nodes this batch adds (same computation, outside the timing).
            let snap = store.snapshot().expect("state bench");
            let changes: Vec<_> = w
                .iter()
                .map(|(k, v)| (keccak(k), v.as_deref().map(keccak)))
                .collect();
            written += tree::apply(&snap, snap.root(), &changes)
                .expect("state bench")
                .nodes
                .len();
            drop(snap);
            let start = Instant::now();
            commit_empty_block(&store, staged, height);
            commit.push(start.elapsed());
            height += 1;
        }
        println!(
            "| {n} | {:.2} ms | {:.2} µs | {:.2} ms | {:.2} ms | {:.1} |",
            mean(&mem),
            mean(&mem) * 1e3 / K as f64,
            mean(&stage),
            mean(&commit),
            written as f64 / (BATCHES * K) as f64,
        );
    }
}
