//! Runs one token entry point many times on a warm module, for profiling the per-call path
//! with `perf` (not a benchmark: timed figures come from `cargo bench -p chainvm-bench`).
//!
//! `cargo run --release -p chainvm-vm --example call_loop -- <token.wasm> [transfer|balance_of] [N]`

use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
use std::time::Instant;

const OWNER: [u8; 20] = [0xaa; 20];

/// borsh of `(String, String, u128)`.
fn init_args() -> Vec<u8> {
    let mut v = Vec::new();
    for s in ["Bench", "BEN"] {
        v.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
    }
    v.extend_from_slice(&1_000_000_000_000u128.to_le_bytes());
    v
}

/// borsh of `([u8; 20], u128)`: one token to recipient `i % 1000 + 1`.
fn transfer_args(i: u32) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    v[..4].copy_from_slice(&(i % 1000 + 1).to_be_bytes());
    v.extend_from_slice(&1u128.to_le_bytes());
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A deep stack, as the node and the bench suite run executions on (no stacker switch).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| run().map_err(|e| e.to_string()))?
        .join()
        .map_err(|_| "the call loop panicked")??;
    Ok(())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wasm = std::fs::read(
        args.first()
            .ok_or("usage: call_loop <token.wasm> [entry] [N]")?,
    )?;
    let entry = args.get(1).map_or("transfer", String::as_str);
    let n: u32 = args.get(2).map_or(Ok(200_000), |s| s.parse())?;
    let vm = Vm::new(VmConfig::default())?;
    let contract = vm.load(&code_hash(&wasm), &wasm)?;
    let ctx = CallContext {
        caller: OWNER,
        ..CallContext::default()
    };
    let mut host = MockHost::default();
    let init = vm.execute(&contract, "init", &init_args(), &ctx, u64::MAX, &mut host)?;
    assert!(init.outcome.is_success(), "{:?}", init.outcome);
    let inputs: Vec<Vec<u8>> = (0..1000)
        .map(|i| match entry {
            "balance_of" => transfer_args(i)[..20].to_vec(),
            _ => transfer_args(i),
        })
        .collect();
    let mut gas = 0;
    let start = Instant::now();
    for i in 0..n {
        let input = &inputs[(i % 1000) as usize];
        let e = vm.execute(&contract, entry, input, &ctx, 10_000_000, &mut host)?;
        assert!(e.outcome.is_success(), "{:?}", e.outcome);
        gas = e.gas_used;
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!("{entry}: {:.2} µs per call, {gas} gas", per * 1e6);
    Ok(())
}
