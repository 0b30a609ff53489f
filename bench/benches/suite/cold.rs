//! Cold paths: deploying (validate + instrument + compile) per KB of wasm, instantiate + call
//! on a warm cache, and start-up of a chain that holds many blocks.

use crate::util::{Table, group, median, ms, note, secs, us};
use chainvm_runtime::Chain;
use chainvm_runtime::state::Retention;
use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
use std::time::Instant;

/// Deploy-time compile cost of each sample contract, per KB.
fn compile(contracts: &[(&str, Vec<u8>)]) {
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let t = Table::new(
        "Deploy: validate + instrument + compile (Cranelift), no cache (median of 9)",
        &["contract", "wasm size", "time", "per KB"],
    );
    for (name, wasm) in contracts {
        let hash = code_hash(wasm);
        let d = median(9, || {
            vm.clear_memory_cache();
            vm.load(&hash, wasm).expect("loads");
        });
        t.row(&[
            name.to_string(),
            format!("{} B", group(wasm.len() as f64)),
            ms(d),
            ms(d.mul_f64(1024.0 / wasm.len() as f64)),
        ]);
    }
}

/// Instantiate + call with the module cached: an empty entry point and the token's
/// `balance_of` view.
fn instantiate(token: &[u8]) {
    let code = wat::parse_str(crate::compute::KERNELS).expect("kernels parse");
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let kernels = vm.load(&code_hash(&code), &code).expect("loads");
    let token_c = vm.load(&code_hash(token), token).expect("loads");
    let ctx = CallContext::default();
    let iters = 20_000u32;
    let per_call = |c: &chainvm_vm::Contract, entry: &str, input: &[u8]| {
        let mut host = MockHost::default();
        let start = Instant::now();
        for _ in 0..iters {
            let e = vm
                .execute(c, entry, input, &ctx, 100_000_000, &mut host)
                .expect("executes");
            assert!(e.outcome.is_success(), "{:?}", e.outcome);
        }
        start.elapsed() / iters
    };
    let t = Table::new(
        "Instantiate + call on a warm cache (pooling allocator)",
        &["call", "thread", "per call"],
    );
    t.row(&[
        "empty entry point".into(),
        "64 MiB stack (runs in place)".into(),
        us(per_call(&kernels, "noop", &[])),
    ]);
    t.row(&[
        "token `balance_of` (SDK, borsh, 1 storage read)".into(),
        "64 MiB stack".into(),
        us(per_call(&token_c, "balance_of", &[0u8; 20])),
    ]);
    let small = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(s, || per_call(&kernels, "noop", &[]))
            .expect("spawn")
            .join()
            .expect("thread finished")
    });
    t.row(&[
        "empty entry point".into(),
        "8 MiB stack (stacker moves to a fresh stack per call)".into(),
        us(small),
    ]);
}

/// Blocks in the chain, open time and file size at each mark of a chain of empty blocks.
struct Grown {
    marks: Vec<(u64, std::time::Duration, u64)>,
    build: std::time::Duration,
}

/// Builds a chain of up to `target` empty blocks keeping `retention`, opening it (median of
/// 5) at each mark.
fn empty_chain(retention: Retention, target: u64) -> Grown {
    let home = tempfile::tempdir().expect("temp dir");
    let (mut chain, _) = Chain::builder()
        .dev_accounts()
        .retention(retention)
        .init(home.path())
        .expect("init");
    let mut built = 0u64;
    let mut marks = Vec::new();
    let mut building = std::time::Duration::ZERO;
    for mark in [1_000u64, 10_000, 100_000] {
        if mark > target {
            break;
        }
        let started = Instant::now();
        while built < mark {
            chain.produce_block(&[]).expect("block");
            built += 1;
        }
        building += started.elapsed();
        drop(chain);
        let d = median(5, || {
            let c = Chain::open(home.path()).expect("opens");
            let h = c.height().expect("height");
            assert_eq!(h, built);
            c.header(h).expect("head").expect("head exists");
        });
        let size = std::fs::metadata(home.path().join("chain.redb")).map_or(0, |m| m.len());
        marks.push((built, d, size));
        chain = Chain::open(home.path()).expect("reopens");
        assert_eq!(chain.retention(), retention, "the mode survives reopening");
    }
    Grown {
        marks,
        build: building,
    }
}

/// The state window of the pruned runs (`--prune 100`).
const WINDOW: u64 = 100;

/// What the disk measurements return.
#[derive(Debug, Clone, Copy)]
pub struct DiskSummary {
    /// File growth per empty block of a pruned chain (`--prune 100`), between the last two
    /// marks (10^4 to 10^5 blocks by default).
    pub pruned_bytes_per_empty_block: f64,
}

/// Opens chains of growing length, archive and pruned: start-up must not depend on how many
/// blocks there are, and a pruned chain's file must grow with its live state, not its
/// block count.
fn startup() -> DiskSummary {
    let target: u64 = std::env::var("CHAINVM_BENCH_STARTUP_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let t = Table::new(
        "Start-up and disk: `Chain::open` (what `chainvm node` does before it listens) + reading the head, chains of empty blocks",
        &[
            "mode",
            "blocks in the chain",
            "open (median of 5)",
            "file size",
            "growth per block since the previous mark",
        ],
    );
    let mut pruned_per_block = f64::NAN;
    for (name, retention) in [
        ("archive", Retention::Archive),
        ("pruned (--prune 100)", Retention::Recent(WINDOW)),
    ] {
        let g = empty_chain(retention, target);
        let mut prev = (0u64, 0u64);
        for &(blocks, open, size) in &g.marks {
            let per = (size as f64 - prev.1 as f64) / (blocks - prev.0) as f64;
            t.row(&[
                name.to_string(),
                group(blocks as f64),
                ms(open),
                format!("{:.1} MB", size as f64 / 1e6),
                format!("{} B", group(per)),
            ]);
            if retention != Retention::Archive {
                pruned_per_block = per;
            }
            prev = (blocks, size);
        }
        let built = g.marks.last().map_or(0, |m| m.0);
        note(&format!(
            "{name}: building {} empty blocks (each a durable redb commit) took {:.1} s ({:.2} ms a block).",
            group(built as f64),
            secs(g.build),
            secs(g.build) * 1e3 / built.max(1) as f64
        ));
    }
    DiskSummary {
        pruned_bytes_per_empty_block: pruned_per_block,
    }
}

/// File growth per 1,000-transfer block (each transfer to a new address, so the live state
/// grows by about 1,000 token balances a block), archive and pruned.
fn transfer_blocks(token: &[u8]) {
    const WARMUP: usize = 2 * WINDOW as usize / 10;
    const MEASURED: usize = 20;
    let t = Table::new(
        "Disk per 1,000-transfer block (token transfers to new addresses)",
        &[
            "mode",
            "blocks measured",
            "allocated pages growth per block",
            "of which block bodies (txs + receipts, stored in every mode)",
        ],
    );
    for (name, retention) in [
        ("archive", Retention::Archive),
        ("pruned (--prune 10)", Retention::Recent(WINDOW / 10)),
    ] {
        let mut tc = crate::token::TokenChain::new(token);
        if retention != Retention::Archive {
            let home = tc.chain.home().expect("on disk").to_path_buf();
            let (placeholder, _) = Chain::builder().in_memory().expect("in-memory chain");
            drop(std::mem::replace(&mut tc.chain, placeholder));
            tc.chain = Chain::open_with(&home, Some(retention)).expect("reopens pruned");
        }
        // Past the window, so pruning is in its steady state.
        for _ in 0..WARMUP {
            let txs = tc.next_transfers(1_000);
            tc.chain.produce_block(&txs).expect("block");
        }
        let before = tc.chain.allocated_bytes().expect("stats");
        let mut bodies = 0usize;
        for _ in 0..MEASURED {
            let txs = tc.next_transfers(1_000);
            let b = tc.chain.produce_block(&txs).expect("block");
            let h = b.signed_header.header.height;
            let body = tc.chain.block(h).expect("block").expect("stored");
            bodies += body
                .txs
                .iter()
                .map(|t| {
                    t.transaction.encode().len() + borsh::to_vec(&t.receipt).map_or(0, |r| r.len())
                })
                .sum::<usize>();
        }
        let after = tc.chain.allocated_bytes().expect("stats");
        let per = (after as f64 - before as f64) / MEASURED as f64;
        t.row(&[
            name.to_string(),
            MEASURED.to_string(),
            format!("{:.1} KB", per / 1e3),
            format!("{:.1} KB", bodies as f64 / MEASURED as f64 / 1e3),
        ]);
    }
}

pub fn run(contracts: &[(&str, Vec<u8>)], token: &[u8], with_startup: bool) -> Option<DiskSummary> {
    compile(contracts);
    instantiate(token);
    with_startup.then(|| {
        let s = startup();
        note(&format!(
            "pruned_bytes_per_empty_block = {}",
            group(s.pruned_bytes_per_empty_block)
        ));
        transfer_blocks(token);
        s
    })
}
