//! Gas calibration: nanoseconds per gas of each operator class and host function on this
//! machine. Each kernel repeats one pattern `REPEAT` times inside a counted loop; the empty
//! loop's time and gas are subtracted, so the figure is the marginal ns/gas of the pattern,
//! which is what a contract spamming it would get. A pattern whose ns/gas exceeds twice the
//! median is under-priced and flagged.

use crate::util::{Table, group, note, secs};
use chainvm_runtime::state::Overlay;
use chainvm_runtime::{BlockContext, Chain, Executor, Payload, U256};
use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
use std::time::{Duration, Instant};

const REPEAT: usize = 50;

/// (class, what one pattern does, the pattern's wat).
const OPS: &[(&str, &str, &str)] = &[
    (
        "local",
        "local.get + local.set",
        "(local.set $b (local.get $a))",
    ),
    (
        "alu",
        "i64.add chain",
        "(local.set $a (i64.add (local.get $a) (local.get $b)))",
    ),
    (
        "alu",
        "i64.rotl chain",
        "(local.set $a (i64.rotl (local.get $a) (local.get $b)))",
    ),
    (
        "alu",
        "select chain",
        "(local.set $a (select (local.get $b) (local.get $a) (local.get $z)))",
    ),
    (
        "mul",
        "i64.mul chain",
        "(local.set $a (i64.mul (local.get $a) (local.get $b)))",
    ),
    (
        "div_rem",
        "i64.div_u chain",
        "(local.set $a (i64.div_u (i64.or (local.get $a) (local.get $big)) (local.get $b)))",
    ),
    (
        "div_rem",
        "i64.rem_s chain",
        "(local.set $a (i64.rem_s (i64.or (local.get $a) (local.get $big)) (local.get $b)))",
    ),
    (
        "load",
        "i32.load pointer chase",
        "(local.set $p (i32.load (local.get $p)))",
    ),
    (
        "store",
        "i64.store",
        "(i64.store offset=64 (local.get $p) (local.get $a))",
    ),
    (
        "local",
        "global.get/add/global.set chain",
        "(global.set $g (i64.add (global.get $g) (local.get $b)))",
    ),
    (
        "branch",
        "br_if not taken",
        "(block (br_if 0 (local.get $z)))",
    ),
    (
        "branch",
        "br_table",
        "(block (block (br_table 0 1 (local.get $z))))",
    ),
    ("call", "call of an empty function", "(call $empty)"),
    (
        "call_indirect",
        "call_indirect of an empty function",
        "(call_indirect (type $t) (local.get $z))",
    ),
    ("memory_size", "memory.size", "(local.set $p (memory.size))"),
    (
        "memory_grow",
        "memory.grow by 0 pages",
        "(local.set $p (memory.grow (local.get $z)))",
    ),
    (
        "bulk_base",
        "memory.fill of 8 bytes",
        "(memory.fill (i32.const 1024) (local.get $z) (i32.const 8))",
    ),
    (
        "bulk_base",
        "memory.copy of 8 bytes",
        "(memory.copy (i32.const 1024) (i32.const 2048) (i32.const 8))",
    ),
    (
        "fill_per_byte",
        "memory.fill of 4 KiB",
        "(memory.fill (i32.const 4096) (local.get $z) (i32.const 4096))",
    ),
    (
        "copy_per_byte",
        "memory.copy of 4 KiB",
        "(memory.copy (i32.const 4096) (i32.const 16384) (i32.const 4096))",
    ),
    (
        "float",
        "f64.add chain",
        "(local.set $f (f64.add (local.get $f) (local.get $h)))",
    ),
    (
        "float",
        "f64.mul chain",
        "(local.set $f (f64.mul (local.get $f) (local.get $h)))",
    ),
    (
        "float_heavy",
        "f64.div chain",
        "(local.set $f (f64.div (local.get $f) (local.get $h)))",
    ),
    (
        "float_heavy",
        "f64.sqrt chain",
        "(local.set $f (f64.sqrt (local.get $f)))",
    ),
    (
        "float_convert",
        "trunc_sat + convert chain",
        "(local.set $f (f64.convert_i64_s (i64.trunc_sat_f64_s (local.get $f))))",
    ),
];

/// (host function, what one call does, the pattern's wat). Kernels run through the real
/// runtime host on an overlay over the chain's state; key "h" holds a 32-byte value.
const HOST: &[(&str, &str, &str)] = &[
    (
        "input",
        "input(out, 0)",
        "(drop (call $input (i32.const 512) (i32.const 0)))",
    ),
    (
        "set_return",
        "32 bytes",
        "(call $set_return (i32.const 0) (i32.const 32))",
    ),
    (
        "storage_get",
        "hit, 32-byte value",
        "(drop (call $get (i32.const 100) (i32.const 1) (i32.const 512) (i32.const 64)))",
    ),
    (
        "storage_get",
        "miss",
        "(drop (call $get (i32.const 101) (i32.const 1) (i32.const 512) (i32.const 64)))",
    ),
    (
        "storage_set",
        "same key, 32 bytes",
        "(call $set (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 32))",
    ),
    (
        "storage_set",
        "new key each time, 32 bytes",
        "(local.set $p (i32.add (local.get $p) (i32.const 1))) (i32.store (i32.const 200) (local.get $p)) (call $set (i32.const 200) (i32.const 4) (i32.const 0) (i32.const 32))",
    ),
    (
        "storage_has",
        "hit",
        "(drop (call $has (i32.const 100) (i32.const 1)))",
    ),
    (
        "storage_remove",
        "absent key",
        "(drop (call $remove (i32.const 101) (i32.const 1)))",
    ),
    ("caller", "20 bytes", "(call $caller (i32.const 512))"),
    ("self_address", "20 bytes", "(call $self (i32.const 512))"),
    ("value", "32 bytes", "(call $value (i32.const 512))"),
    (
        "balance",
        "reads the account",
        "(call $balance (i32.const 512))",
    ),
    ("block_height", "", "(drop (call $height))"),
    ("block_timestamp", "", "(drop (call $time))"),
    (
        "transfer",
        "0 to an account",
        "(drop (call $transfer (i32.const 300) (i32.const 400)))",
    ),
    (
        "emit_event",
        "8-byte topic, 32-byte data",
        "(call $emit (i32.const 0) (i32.const 8) (i32.const 0) (i32.const 32))",
    ),
    (
        "keccak256",
        "32 bytes",
        "(call $keccak (i32.const 0) (i32.const 32) (i32.const 512))",
    ),
    (
        "keccak256",
        "4 KiB",
        "(call $keccak (i32.const 4096) (i32.const 4096) (i32.const 512))",
    ),
    (
        "return_data",
        "empty",
        "(drop (call $return_data (i32.const 512) (i32.const 0)))",
    ),
    (
        "call_contract",
        "empty method of another contract",
        "(drop (call $call (i32.const 340) (i32.const 360) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 400) (i64.const 0)))",
    ),
];

fn module(patterns: &[&str]) -> String {
    let mut funcs = String::new();
    for (i, p) in std::iter::once(&"").chain(patterns).enumerate() {
        funcs += &format!(
            r#"
  (func (export "k{i}")
    (local $n i32) (local $a i64) (local $b i64) (local $z i32) (local $p i32)
    (local $big i64) (local $f f64) (local $h f64)
    (local.set $n (call $arg))
    (i32.store (i32.const 0) (i32.const 0))
    ;; Operands come from memory so Cranelift cannot fold the patterns away.
    (local.set $a (i64.load (i32.const 600))) (local.set $b (i64.load (i32.const 608)))
    (local.set $big (i64.load (i32.const 616))) (local.set $z (i32.load (i32.const 624)))
    (local.set $f (f64.load (i32.const 632))) (local.set $h (f64.load (i32.const 640)))
    (block $done (loop $top
      (br_if $done (i32.eqz (local.get $n)))
      {}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $top)))
    (i64.store (i32.const 256) (local.get $a))
    (f64.store (i32.const 264) (local.get $f))
    (i32.store (i32.const 272) (local.get $p)))"#,
            p.repeat(REPEAT)
        );
    }
    format!(
        r#"(module
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "set_return" (func $set_return (param i32 i32)))
  (import "env" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "storage_has" (func $has (param i32 i32) (result i32)))
  (import "env" "storage_remove" (func $remove (param i32 i32) (result i32)))
  (import "env" "caller" (func $caller (param i32)))
  (import "env" "self_address" (func $self (param i32)))
  (import "env" "value" (func $value (param i32)))
  (import "env" "balance" (func $balance (param i32)))
  (import "env" "block_height" (func $height (result i64)))
  (import "env" "block_timestamp" (func $time (result i64)))
  (import "env" "transfer" (func $transfer (param i32 i32) (result i32)))
  (import "env" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "env" "keccak256" (func $keccak (param i32 i32 i32)))
  (import "env" "return_data" (func $return_data (param i32 i32) (result i32)))
  (import "env" "call_contract" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (type $t (func))
  (memory (export "memory") 1)
  (global $g (mut i64) (i64.const 0))
  (table 1 funcref)
  (elem (i32.const 0) $empty)
  (data (i32.const 100) "hg")
  (data (i32.const 300) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12\13\14")
  (data (i32.const 360) "noop")
  ;; a = 0x1234567, b = 3, big = 2^62, z = 0, f = 1.5, h = 1.0000001
  (data (i32.const 600) "\67\45\23\01\00\00\00\00" "\03\00\00\00\00\00\00\00"
    "\00\00\00\00\00\00\00\40" "\00\00\00\00\00\00\00\00"
    "\00\00\00\00\00\00\f8\3f" "\9b\f2\d7\1a\00\00\f0\3f")
  (func $empty)
  (func $arg (result i32)
    (drop (call $input (i32.const 0) (i32.const 24)))
    (memory.copy (i32.const 340) (i32.const 4) (i32.const 20))
    (i32.load (i32.const 0)))
  (func (export "noop"))
  (func (export "setup") (call $set (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 32)))
  {funcs}
)"#
    )
}

/// One calibrated pattern.
struct Point {
    class: String,
    what: String,
    gas: f64,
    ns: f64,
}

/// Time and gas of `run(n)` above `run(0)`, per pattern; `n` grows until a run takes 20 ms.
fn marginal(mut run: impl FnMut(u32) -> (Duration, u64)) -> (f64, f64) {
    let best = |run: &mut dyn FnMut(u32) -> (Duration, u64), n: u32| {
        let mut t: Vec<(Duration, u64)> = (0..5).map(|_| run(n)).collect();
        t.sort();
        t[0]
    };
    let (t0, g0) = best(&mut run, 0);
    let mut n = 4;
    loop {
        let (t, g) = best(&mut run, n);
        if secs(t) > 0.02 || g > 4_000_000_000 || n >= 1 << 22 {
            let patterns = (n as usize * REPEAT) as f64;
            let dt = (secs(t) - secs(t0)).max(0.0) * 1e9;
            return (g.saturating_sub(g0) as f64 / patterns, dt / patterns);
        }
        n *= 4;
    }
}

fn operators() -> Vec<Point> {
    let code = wat::parse_str(module(&OPS.iter().map(|o| o.2).collect::<Vec<_>>()))
        .expect("operator kernels parse");
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let c = vm.load(&code_hash(&code), &code).expect("kernels load");
    let ctx = CallContext::default();
    OPS.iter()
        .enumerate()
        .map(|(i, (class, what, _))| {
            let entry = format!("k{}", i + 1);
            let base = "k0";
            let mut host = MockHost::default();
            let mut exec = |entry: &str, n: u32| {
                let start = Instant::now();
                let e = vm
                    .execute(&c, entry, &n.to_le_bytes(), &ctx, u64::MAX, &mut host)
                    .expect("executes");
                let t = start.elapsed();
                assert!(e.outcome.is_success(), "{entry}: {:?}", e.outcome);
                (t, e.gas_used)
            };
            // Loop overhead is the same in every kernel: subtract the empty kernel's.
            let (g_base, ns_base) = marginal(|n| exec(base, n));
            let (g, ns) = marginal(|n| exec(&entry, n));
            Point {
                class: class.to_string(),
                what: what.to_string(),
                gas: g - g_base,
                ns: ns - ns_base,
            }
        })
        .collect()
}

fn host_functions() -> Vec<Point> {
    let code = wat::parse_str(module(&HOST.iter().map(|o| o.2).collect::<Vec<_>>()))
        .expect("host kernels parse");
    let (mut chain, dev) = Chain::builder().dev_accounts().in_memory().expect("chain");
    let deploy = |chain: &mut Chain| {
        let r = chain
            .sign_and_submit(
                &dev[0],
                Payload::Deploy {
                    code: code.clone(),
                    args: Vec::new(),
                },
            )
            .expect("deploy");
        r.contract_address.expect("deployed")
    };
    let kernels = deploy(&mut chain);
    let callee = deploy(&mut chain);
    let call = |chain: &Chain, method: &str, args: Vec<u8>| {
        let call = Payload::Call {
            contract: kernels,
            method: method.into(),
            args,
            value: U256::zero(),
        };
        chain
            .next_transaction(&dev[1].address(), call)
            .expect("account")
            .with_gas_limit(40_000_000_000)
            .sign(&dev[1])
    };
    let setup = call(&chain, "setup", Vec::new());
    assert!(chain.submit(&setup).expect("setup").is_success());
    let snap = chain.latest_state().expect("snapshot");
    let ctx = BlockContext {
        height: chain.height().expect("height") + 1,
        timestamp: 1 << 40,
        proposer: chain.validator(),
    };
    // Measuring per-event cost needs more event bytes than one transaction or block may
    // carry: the calibration lifts the caps (they bound totals, not the price of one event).
    let mut params = chain.params().clone();
    params.max_event_bytes_per_tx = u64::MAX;
    params.max_event_bytes_per_block = u64::MAX;
    let exec = Executor::new(chain.vm(), &params);
    HOST.iter()
        .enumerate()
        .map(|(i, (class, what, _))| {
            let run = |entry: &str, n: u32| {
                let mut args = n.to_le_bytes().to_vec();
                args.extend_from_slice(callee.as_bytes());
                let tx = call(&chain, entry, args);
                let mut overlay = Overlay::new(&snap);
                let start = Instant::now();
                let r = exec
                    .apply_checked(&mut overlay, &ctx, &tx, false)
                    .expect("applies");
                let t = start.elapsed();
                assert!(r.is_success(), "{entry} ({class}): {:?}", r.error);
                (t, r.gas_used)
            };
            let (g_base, ns_base) = marginal(|n| run("k0", n));
            let (g, ns) = marginal(|n| run(&format!("k{}", i + 1), n));
            Point {
                class: format!("host: {class}"),
                what: what.to_string(),
                gas: g - g_base,
                ns: ns - ns_base,
            }
        })
        .collect()
}

/// Prints the calibration table; returns the flagged (under-priced) patterns.
///
/// Each operator class and host function gets the ns/gas of its worst pattern; the median is
/// taken over those, and a pattern is flagged when it exceeds twice that median.
pub fn run() -> Vec<String> {
    let mut points = operators();
    points.extend(host_functions());
    let npg = |p: &Point| p.ns / p.gas.max(1e-9);
    let mut worst: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for p in &points {
        let w = worst.entry(p.class.as_str()).or_insert(f64::MIN);
        *w = w.max(npg(p));
    }
    let mut per_class: Vec<f64> = worst.values().copied().collect();
    per_class.sort_by(f64::total_cmp);
    let median = per_class[per_class.len() / 2];
    let t = Table::new(
        &format!(
            "Gas calibration: marginal ns per gas of each pattern ({REPEAT} per loop iteration, empty loop subtracted; median over the {} classes' worst patterns: {:.4} ns/gas)",
            per_class.len(),
            median
        ),
        &[
            "class",
            "pattern",
            "gas per pattern",
            "ns per pattern",
            "ns per gas",
            "vs median",
            "",
        ],
    );
    let mut flagged = Vec::new();
    for p in &points {
        let ratio = npg(p) / median;
        let flag = if ratio > 2.0 {
            flagged.push(format!(
                "{} ({}): {:.1}x the median",
                p.class, p.what, ratio
            ));
            "UNDER-PRICED"
        } else if ratio < 0.1 {
            "over-priced"
        } else {
            ""
        };
        t.row(&[
            p.class.clone(),
            p.what.clone(),
            group(p.gas),
            format!("{:.2}", p.ns),
            format!("{:.4}", npg(p)),
            format!("{:.2}x", ratio),
            flag.into(),
        ]);
    }
    note(&format!(
        "Under-priced (more than 2x the median ns/gas): {}. Over-priced (below 0.1x; several \
         are patterns Cranelift folds or pipelines to nothing) is safe for the chain and only \
         costs users. Storage writes are priced for the state growth and commit they cause \
         later, which this execution-only figure leaves out (see the storage-heavy table).",
        if flagged.is_empty() {
            "none".to_string()
        } else {
            flagged.join("; ")
        }
    ));
    flagged
}
