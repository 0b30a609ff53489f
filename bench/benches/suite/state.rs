//! State-root update cost as the state grows: the same batch of k changed keys applied to
//! states of 10^4, 10^5 and 10^6 keys, both on an in-memory node map (the tree algorithm
//! alone) and through the redb store (stage = tree update reading nodes from disk pages;
//! commit = one durable write transaction), with where the commit's time goes and how many
//! bytes redb writes for it.

use chainvm_runtime::state::tree::{self, Child, Node, NodeKey, keccak};
use chainvm_runtime::state::{BlockRecord, CommitStats, StateWrites, Store};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const K: u64 = 1_000;
const SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];
const BATCHES: u64 = 10;

/// The headline ratios of this section (10^6 keys against 10^4).
#[derive(Debug, Clone, Copy)]
pub struct StateSummary {
    /// redb commit of a 1,000-key block at 10^6 keys / at 10^4 keys.
    pub commit_growth_1e6_vs_1e4: f64,
    /// In-memory root update per changed key at 10^6 keys / at 10^4 keys.
    pub root_update_growth_1e6_vs_1e4: f64,
}

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
fn commit_empty_block(
    store: &Store,
    staged: chainvm_runtime::state::StagedState,
    height: u64,
) -> CommitStats {
    let block = BlockRecord {
        height,
        ..BlockRecord::default()
    };
    store
        .commit_with_stats(staged, &block)
        .expect("state bench")
}

fn mean(d: &[Duration]) -> f64 {
    d.iter().map(|d| d.as_secs_f64()).sum::<f64>() / d.len() as f64 * 1e3
}

/// Bytes this process has passed to write(2)/pwrite(2) so far (`wchar` in /proc/self/io):
/// what redb writes, page by page.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar: "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn changes(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<tree::Change> {
    pairs
        .iter()
        .map(|(k, v)| (keccak(k), Some((keccak(v), v.clone()))))
        .collect()
}

/// Mean in-memory `tree::apply` time (ms) of the batches on a tree of `n` keys.
fn in_memory(n: u64) -> f64 {
    let mut nodes: HashMap<NodeKey, Node> = HashMap::new();
    let mut root = Child::empty();
    let mut version = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100_000) {
        let pairs: Vec<_> = chunk
            .iter()
            .map(|i| (key(*i), b"initial".to_vec()))
            .collect();
        let u = tree::apply(&nodes, &root, version, changes(&pairs)).expect("state bench");
        for k in &u.stale {
            nodes.remove(k);
        }
        nodes.extend(u.nodes);
        root = u.root;
        version += 1;
    }
    let mut mem = Vec::new();
    for b in 0..BATCHES {
        let c = changes(&batch(n, b));
        let start = Instant::now();
        let u = tree::apply(&nodes, &root, version, c).expect("state bench");
        mem.push(start.elapsed());
        std::hint::black_box(&u);
    }
    mean(&mem)
}

pub fn run() -> StateSummary {
    let t = crate::util::Table::new(
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
    let mut detail = Vec::new();
    let (mut commit_at, mut per_key_at) = (Vec::new(), Vec::new());
    for n in SIZES {
        let mem = in_memory(n);

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
        let (mut stats, mut bytes) = (Vec::new(), 0u64);
        for b in 0..BATCHES {
            let w: StateWrites = batch(n, b).into_iter().map(|(k, v)| (k, Some(v))).collect();
            let start = Instant::now();
            let staged = store.stage(w).expect("state bench");
            stage.push(start.elapsed());
            written += staged.nodes_written();
            let before = written_bytes();
            let start = Instant::now();
            stats.push(commit_empty_block(&store, staged, height));
            commit.push(start.elapsed());
            bytes += written_bytes() - before;
            height += 1;
        }
        t.row(&[
            n.to_string(),
            format!("{:.2} ms", mem),
            format!("{:.2} µs", mem * 1e3 / K as f64),
            format!("{:.2} ms", mean(&stage)),
            format!("{:.2} ms", mean(&commit)),
            format!("{:.1}", written as f64 / (BATCHES * K) as f64),
        ]);
        let avg = |f: fn(&CommitStats) -> Duration| mean(&stats.iter().map(f).collect::<Vec<_>>());
        detail.push(vec![
            n.to_string(),
            format!("{:.2} ms", avg(|s| s.tree_time)),
            format!("{:.2} ms", avg(|s| s.latest_time)),
            format!("{:.2} ms", avg(|s| s.block_time)),
            format!("{:.2} ms", avg(|s| s.durable_time)),
            format!(
                "{:.0} KB",
                stats.iter().map(|s| s.node_bytes).sum::<usize>() as f64 / BATCHES as f64 / 1e3
            ),
            format!("{:.0} KB", bytes as f64 / BATCHES as f64 / 1e3),
        ]);
        commit_at.push(mean(&commit));
        per_key_at.push(mem);
    }
    let d = crate::util::Table::new(
        "Where a 1,000-key commit goes (mean of the same batches; one durable redb transaction)",
        &[
            "keys in state",
            "tree nodes + stale index",
            "latest-state table + undo reads",
            "root, undo, block records",
            "redb commit (pages + fsync)",
            "node records",
            "bytes redb wrote (pwrite)",
        ],
    );
    for row in detail {
        d.row(&row);
    }
    let summary = StateSummary {
        commit_growth_1e6_vs_1e4: commit_at[2] / commit_at[0],
        root_update_growth_1e6_vs_1e4: per_key_at[2] / per_key_at[0],
    };
    crate::util::note(&format!(
        "commit_growth_1e6_vs_1e4 = {:.2}x, root_update_growth_1e6_vs_1e4 = {:.2}x",
        summary.commit_growth_1e6_vs_1e4, summary.root_update_growth_1e6_vs_1e4
    ));
    summary
}
