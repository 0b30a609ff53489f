//! Storage-heavy calls: one transaction writing many keys, end to end on an on-disk chain;
//! gas and time per written byte.

use crate::util::{Table, group, note, secs};
use chainvm_runtime::{Chain, Payload, U256};
use std::time::Instant;

/// `write(n: u32, len: u32, salt: u32)`: stores `n` new keys (8 bytes: "k" + a 4-byte counter + a salt)
/// each with a `len`-byte value.
pub const WRITER_WAT: &str = r#"(module
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "storage_remove" (func $remove (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "write")
    (local $i i32) (local $n i32) (local $len i32) (local $salt i32)
    (drop (call $input (i32.const 0) (i32.const 12)))
    (local.set $n (i32.load (i32.const 0)))
    (local.set $len (i32.load (i32.const 4)))
    (local.set $salt (i32.load (i32.const 8)))
    (memory.fill (i32.const 4096) (i32.const 0x5a) (local.get $len))
    (i32.store8 (i32.const 64) (i32.const 0x6b))
    (i32.store (i32.const 69) (local.get $salt))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.const 65) (local.get $i))
      (i32.store (i32.const 4096) (local.get $i))
      (call $set (i32.const 64) (i32.const 9) (i32.const 4096) (local.get $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))
  ;; `remove(n: u32, len: u32, salt: u32)`: removes the keys `write` stored with that salt.
  (func (export "remove")
    (local $i i32) (local $n i32) (local $salt i32)
    (drop (call $input (i32.const 0) (i32.const 12)))
    (local.set $n (i32.load (i32.const 0)))
    (local.set $salt (i32.load (i32.const 8)))
    (i32.store8 (i32.const 64) (i32.const 0x6b))
    (i32.store (i32.const 69) (local.get $salt))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (i32.const 65) (local.get $i))
      (drop (call $remove (i32.const 64) (i32.const 9)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))
)"#;

pub fn run() {
    let home = tempfile::tempdir().expect("temp dir");
    let (mut chain, dev) = Chain::builder()
        .dev_accounts()
        .init(home.path())
        .expect("init");
    let code = wat::parse_str(WRITER_WAT).expect("writer parses");
    let r = chain
        .sign_and_submit(
            &dev[0],
            Payload::Deploy {
                code,
                args: Vec::new(),
            },
        )
        .expect("deploy");
    let writer = r.contract_address.expect("deployed");
    let t = Table::new(
        "Storage-heavy call: one transaction writing (or removing) n keys of 9 bytes, end to end",
        &[
            "call",
            "bytes written",
            "gas",
            "gas per byte",
            "block time",
            "ns per byte",
            "ns per gas",
            "execution / state root / commit",
        ],
    );
    for (method, n, len, salt) in [
        ("write", 1_000u32, 32u32, 0u32),
        ("write", 1_000, 1_024, 1),
        ("write", 200, 16_384, 2),
        ("remove", 1_000, 32, 0),
    ] {
        let mut args = Vec::new();
        for v in [n, len, salt] {
            args.extend_from_slice(&v.to_le_bytes());
        }
        let call = Payload::Call {
            contract: writer,
            method: method.into(),
            args,
            value: U256::zero(),
        };
        let tx = chain
            .next_transaction(&dev[1].address(), call)
            .expect("account")
            .with_gas_limit(40_000_000_000)
            .sign(&dev[1]);
        let start = Instant::now();
        let b = chain.produce_block(&[tx]).expect("block");
        let total = start.elapsed();
        let receipt = b.results[0].as_ref().expect("admitted");
        assert!(receipt.is_success(), "{:?}", receipt.error);
        // A removal writes no value bytes: count the keys' bytes it deletes.
        let bytes = match method {
            "write" => receipt.gas.storage_bytes_written,
            _ => 9 * n as u64,
        };
        let tm = b.timings;
        t.row(&[
            match method {
                "write" => format!("write {n} × {len} B"),
                _ => format!("remove {n} keys written above"),
            },
            group(bytes as f64),
            group(receipt.gas_used as f64),
            group(receipt.gas_used as f64 / bytes as f64),
            format!("{:.1} ms", secs(total) * 1e3),
            group(secs(total) * 1e9 / bytes as f64),
            format!("{:.4}", secs(total) * 1e9 / receipt.gas_used as f64),
            format!(
                "{:.0}% / {:.0}% / {:.0}%",
                100.0 * secs(tm.execution) / secs(total),
                100.0 * secs(tm.state_root) / secs(total),
                100.0 * secs(tm.header + tm.durable_write) / secs(total)
            ),
        ]);
    }
    note(
        "Bytes written count keys and values, as the gas schedule does. The commit stores the \
         values, the latest-state rows and the new tree nodes durably. Storage gas is \
         calibrated on these end-to-end figures (ns per gas near the calibration median), \
         not on the execution-only ones in the calibration table.",
    );
}
