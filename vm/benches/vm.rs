//! VM benchmarks: metered vs unmetered execution of the same wasm, and instantiate + call
//! latency with the pooling allocator. Run with `cargo bench -p chainvm-vm`.
//!
//! "Unmetered" is the same original wasm on a wasmtime engine with the same Cranelift
//! settings but no fuel and no stack instrumentation, so the ratio is the full price of
//! chainvm's determinism (fuel + injected stack counter).

use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Config, Engine, Linker, Module, OptLevel, Store, Strategy};

const KERNELS: &str = r#"(module
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "set_return" (func $set_return (param i32 i32)))
  (memory (export "memory") 1)
  (func $arg (result i32)
    (drop (call $input (i32.const 0) (i32.const 4)))
    (i32.load (i32.const 0)))
  ;; tight arithmetic loop: xorshift n times
  (func (export "loop")
    (local $n i32) (local $x i64)
    (local.set $n (call $arg))
    (local.set $x (i64.const 88172645463325252))
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (i64.store (i32.const 8) (local.get $x))
    (call $set_return (i32.const 8) (i32.const 8)))
  ;; call-heavy: naive fib
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "fib")
    (i32.store (i32.const 8) (call $fib (call $arg)))
    (call $set_return (i32.const 8) (i32.const 4)))
  ;; insertion sort of n pseudo-random u32s at offset 1024
  (func (export "sort")
    (local $n i32) (local $i i32) (local $j i32) (local $x i32) (local $v i32)
    (local.set $n (call $arg))
    (local.set $x (i32.const 12345))
    (block $filled (loop $fill
      (br_if $filled (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2))) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $fill)))
    (local.set $i (i32.const 1))
    (block $sorted (loop $outer
      (br_if $sorted (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $v (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $j (local.get $i))
      (block $placed (loop $inner
        (br_if $placed (i32.eqz (local.get $j)))
        (br_if $placed (i32.le_u
          (i32.load (i32.add (i32.const 1020) (i32.shl (local.get $j) (i32.const 2))))
          (local.get $v)))
        (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $j) (i32.const 2)))
          (i32.load (i32.add (i32.const 1020) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $inner)))
      (i32.store (i32.add (i32.const 1024) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (call $set_return (i32.const 1024) (i32.const 16)))
  (func (export "noop"))
)"#;

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

struct Unmetered {
    store: Store<(u32, Vec<u8>)>,
    instance: wasmtime::Instance,
}

impl Unmetered {
    fn new(code: &[u8]) -> Self {
        let mut c = Config::new();
        c.strategy(Strategy::Cranelift);
        c.cranelift_opt_level(OptLevel::Speed);
        c.cranelift_nan_canonicalization(true);
        let engine = Engine::new(&c).unwrap();
        let module = Module::new(&engine, code).unwrap();
        let mut linker: Linker<(u32, Vec<u8>)> = Linker::new(&engine);
        linker
            .func_wrap(
                "env",
                "input",
                |mut c: Caller<'_, (u32, Vec<u8>)>, ptr: i32, _cap: i32| {
                    let n = c.data().0;
                    let mem = c.get_export("memory").unwrap().into_memory().unwrap();
                    mem.write(&mut c, ptr as usize, &n.to_le_bytes()).unwrap();
                    4i32
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "env",
                "set_return",
                |mut c: Caller<'_, (u32, Vec<u8>)>, ptr: i32, len: i32| {
                    let mem = c.get_export("memory").unwrap().into_memory().unwrap();
                    let mut out = vec![0; len as usize];
                    mem.read(&c, ptr as usize, &mut out).unwrap();
                    c.data_mut().1 = out;
                },
            )
            .unwrap();
        let mut store = Store::new(&engine, (0, Vec::new()));
        let instance = linker.instantiate(&mut store, &module).unwrap();
        Unmetered { store, instance }
    }

    fn call(&mut self, entry: &str, n: u32) -> Vec<u8> {
        self.store.data_mut().0 = n;
        let f = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, entry)
            .unwrap();
        f.call(&mut self.store, ()).unwrap();
        self.store.data().1.clone()
    }
}

fn main() {
    let code = wat::parse_str(KERNELS).unwrap();
    let vm = Vm::new(VmConfig::default()).unwrap();
    let contract = vm.load(&code_hash(&code), &code).unwrap();
    let ctx = CallContext::default();
    let mut unmetered = Unmetered::new(&code);

    println!(
        "## metered (chainvm: fuel + stack counter) vs unmetered wasmtime, same Cranelift settings"
    );
    println!("| kernel | n | metered | unmetered | ratio | gas | gas/µs |");
    println!("|---|---|---|---|---|---|---|");
    for (entry, n, runs) in [
        ("loop", 20_000_000u32, 9),
        ("fib", 27, 9),
        ("sort", 4_000, 9),
    ] {
        let mut host = MockHost::default();
        let metered_exec = vm
            .execute(
                &contract,
                entry,
                &n.to_le_bytes(),
                &ctx,
                u64::MAX,
                &mut host,
            )
            .unwrap();
        assert!(
            metered_exec.outcome.is_success(),
            "{entry}: {:?}",
            metered_exec.outcome
        );
        assert_eq!(
            unmetered.call(entry, n),
            metered_exec.return_data,
            "{entry}: same result"
        );
        let metered = median(runs, || {
            vm.execute(
                &contract,
                entry,
                &n.to_le_bytes(),
                &ctx,
                u64::MAX,
                &mut host,
            )
            .unwrap();
        });
        let plain = median(runs, || {
            unmetered.call(entry, n);
        });
        println!(
            "| {entry} | {n} | {:.2} ms | {:.2} ms | {:.2}x | {} | {:.0} |",
            metered.as_secs_f64() * 1e3,
            plain.as_secs_f64() * 1e3,
            metered.as_secs_f64() / plain.as_secs_f64(),
            metered_exec.gas_used,
            metered_exec.gas_used as f64 / (metered.as_secs_f64() * 1e6),
        );
    }

    println!();
    println!("## instantiate + call of an empty entry point (warm cache, pooling allocator)");
    println!("| thread | per call |");
    println!("|---|---|");
    let iters = 20_000;
    let per_call = |vm: &Vm| {
        let mut host = MockHost::default();
        let start = Instant::now();
        for _ in 0..iters {
            let e = vm
                .execute(&contract, "noop", &[], &ctx, 10_000_000, &mut host)
                .unwrap();
            assert!(e.outcome.is_success());
        }
        start.elapsed() / iters
    };
    let big = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(s, || per_call(&vm))
            .unwrap()
            .join()
            .unwrap()
    });
    println!(
        "| 64 MiB stack (runs in place) | {:.2} µs |",
        big.as_secs_f64() * 1e6
    );
    let small = per_call(&vm);
    println!(
        "| 8 MiB main thread (stacker moves to a fresh stack per call) | {:.2} µs |",
        small.as_secs_f64() * 1e6
    );
    let start = Instant::now();
    let loads = 50;
    for _ in 0..loads {
        vm.clear_memory_cache();
        vm.load(&code_hash(&code), &code).unwrap();
    }
    println!();
    println!(
        "validate + instrument + compile of the {}-byte kernel module: {:.2} ms",
        code.len(),
        start.elapsed().as_secs_f64() * 1e3 / loads as f64
    );
}
