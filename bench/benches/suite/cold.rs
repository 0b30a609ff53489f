//! Cold paths: deploying (validate + instrument + compile) per KB of wasm, instantiate + call
//! on a warm cache, and start-up of a chain that holds many blocks.

use crate::util::{Table, group, median, ms, note, secs, us};
use chainvm_runtime::Chain;
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

/// Opens chains of growing length: start-up must not depend on how many blocks there are.
fn startup() {
    let target: u64 = std::env::var("CHAINVM_BENCH_STARTUP_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let home = tempfile::tempdir().expect("temp dir");
    let (mut chain, _) = Chain::builder()
        .dev_accounts()
        .init(home.path())
        .expect("init");
    let t = Table::new(
        "Start-up: `Chain::open` (what `chainvm node` does before it listens) + reading the head",
        &["blocks in the chain", "open (median of 5)", "file size"],
    );
    let mut built = 0u64;
    let build_start = Instant::now();
    for mark in [1_000u64, 10_000, 100_000] {
        if mark > target {
            break;
        }
        while built < mark {
            chain.produce_block(&[]).expect("block");
            built += 1;
        }
        drop(chain);
        let d = median(5, || {
            let c = Chain::open(home.path()).expect("opens");
            let h = c.height().expect("height");
            assert_eq!(h, built);
            c.header(h).expect("head").expect("head exists");
        });
        let size = std::fs::metadata(home.path().join("chain.redb")).map_or(0, |m| m.len());
        t.row(&[
            group(built as f64),
            ms(d),
            format!("{:.1} MB", size as f64 / 1e6),
        ]);
        chain = Chain::open(home.path()).expect("reopens");
    }
    note(&format!(
        "Building {} empty blocks (each a durable redb commit) took {:.1} s ({:.2} ms a block).",
        group(built as f64),
        secs(build_start.elapsed()),
        secs(build_start.elapsed()) * 1e3 / built.max(1) as f64
    ));
}

pub fn run(contracts: &[(&str, Vec<u8>)], token: &[u8], with_startup: bool) {
    compile(contracts);
    instantiate(token);
    if with_startup {
        startup();
    }
}
