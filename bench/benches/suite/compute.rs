//! Compute-heavy calls: the same wasm kernels metered by chainvm (fuel + stack counter),
//! on plain wasmtime with the same Cranelift settings and no metering, and as native Rust.
//! The metered/unmetered ratio is the full price of chainvm's determinism.

use crate::util::{Table, group, median, ms, note, secs};
use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
use std::hint::black_box;
use wasmtime::{Caller, Config, Engine, Linker, Module, OptLevel, Store, Strategy};

pub const KERNELS: &str = r#"(module
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
        let engine = Engine::new(&c).expect("unmetered wasmtime");
        let module = Module::new(&engine, code).expect("unmetered wasmtime");
        let mut linker: Linker<(u32, Vec<u8>)> = Linker::new(&engine);
        linker
            .func_wrap(
                "env",
                "input",
                |mut c: Caller<'_, (u32, Vec<u8>)>, ptr: i32, _cap: i32| {
                    let n = c.data().0;
                    let mem = c
                        .get_export("memory")
                        .expect("unmetered wasmtime")
                        .into_memory()
                        .expect("unmetered wasmtime");
                    mem.write(&mut c, ptr as usize, &n.to_le_bytes())
                        .expect("unmetered wasmtime");
                    4i32
                },
            )
            .expect("unmetered wasmtime");
        linker
            .func_wrap(
                "env",
                "set_return",
                |mut c: Caller<'_, (u32, Vec<u8>)>, ptr: i32, len: i32| {
                    let mem = c
                        .get_export("memory")
                        .expect("unmetered wasmtime")
                        .into_memory()
                        .expect("unmetered wasmtime");
                    let mut out = vec![0; len as usize];
                    mem.read(&c, ptr as usize, &mut out)
                        .expect("unmetered wasmtime");
                    c.data_mut().1 = out;
                },
            )
            .expect("unmetered wasmtime");
        let mut store = Store::new(&engine, (0, Vec::new()));
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("unmetered wasmtime");
        Unmetered { store, instance }
    }

    fn call(&mut self, entry: &str, n: u32) -> Vec<u8> {
        self.store.data_mut().0 = n;
        let f = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, entry)
            .expect("unmetered wasmtime");
        f.call(&mut self.store, ()).expect("unmetered wasmtime");
        self.store.data().1.clone()
    }
}

/// The kernels in native Rust, same algorithms and constants.
fn native(entry: &str, n: u32) -> Vec<u8> {
    match entry {
        "loop" => {
            let mut x: u64 = 88172645463325252;
            for _ in 0..black_box(n) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            x.to_le_bytes().to_vec()
        }
        "fib" => {
            fn fib(n: u32) -> u32 {
                if n < 2 {
                    n
                } else {
                    fib(n - 1).wrapping_add(fib(n - 2))
                }
            }
            fib(black_box(n)).to_le_bytes().to_vec()
        }
        "sort" => {
            let mut x: u32 = 12345;
            let mut v: Vec<u32> = (0..black_box(n))
                .map(|_| {
                    x = x.wrapping_mul(1103515245).wrapping_add(12345);
                    x
                })
                .collect();
            for i in 1..v.len() {
                let key = v[i];
                let mut j = i;
                while j > 0 && v[j - 1] > key {
                    v[j] = v[j - 1];
                    j -= 1;
                }
                v[j] = key;
            }
            v.iter().take(4).flat_map(|w| w.to_le_bytes()).collect()
        }
        _ => Vec::new(),
    }
}

/// Prints the compute table.
pub fn run() {
    let code = wat::parse_str(KERNELS).expect("kernels parse");
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let contract = vm.load(&code_hash(&code), &code).expect("kernels load");
    let ctx = CallContext::default();
    let mut unmetered = Unmetered::new(&code);
    let t = Table::new(
        "Compute-heavy calls: metered vs unmetered wasmtime vs native (median of 9)",
        &[
            "kernel",
            "n",
            "chainvm (metered)",
            "wasmtime unmetered",
            "native Rust",
            "metered / unmetered",
            "metered / native",
            "gas",
            "gas per µs",
        ],
    );
    for (entry, n) in [("loop", 20_000_000u32), ("fib", 27), ("sort", 4_000)] {
        let mut host = MockHost::default();
        let mut metered_call = || {
            vm.execute(
                &contract,
                entry,
                &n.to_le_bytes(),
                &ctx,
                u64::MAX,
                &mut host,
            )
        };
        let exec = metered_call().expect("executes");
        assert!(exec.outcome.is_success(), "{entry}: {:?}", exec.outcome);
        assert_eq!(
            unmetered.call(entry, n),
            exec.return_data,
            "{entry}: same result"
        );
        assert_eq!(native(entry, n), exec.return_data, "{entry}: native agrees");
        let metered = median(9, || {
            metered_call().expect("executes");
        });
        let plain = median(9, || {
            unmetered.call(entry, n);
        });
        let nat = median(9, || {
            black_box(native(entry, n));
        });
        t.row(&[
            entry.into(),
            group(n as f64),
            ms(metered),
            ms(plain),
            ms(nat),
            format!("{:.2}x", secs(metered) / secs(plain)),
            format!("{:.2}x", secs(metered) / secs(nat)),
            group(exec.gas_used as f64),
            group(exec.gas_used as f64 / (secs(metered) * 1e6)),
        ]);
    }
    note(
        "loop: xorshift64 (pure ALU); fib: naive recursion (every call pays the injected \
         stack counter); sort: insertion sort of n pseudo-random u32 (loads and stores).",
    );
}
