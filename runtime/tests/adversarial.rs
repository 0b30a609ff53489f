//! Adversarial contracts through the real deploy and call path (signed transactions in
//! blocks): each ends in a deterministic, bounded, charged outcome, the chain keeps going,
//! replaying the chain from genesis reproduces every root and receipt, and the process stays
//! within a memory bound. Every case runs on two independent chains that must agree byte for
//! byte. See `docs/design.md` appendix A.8 for where these come from.

mod common;

use chainvm_abi::error_code;
use chainvm_runtime::{
    Address, Chain, ErrorCode, ErrorDetail, Keypair, Payload, Receipt, Status, TrapCode, U256,
};

const IMPORTS: &str = r#"
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "set_return" (func $set_return (param i32 i32)))
  (import "env" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "env" "call_contract" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (import "env" "return_data" (func $return_data (param i32 i32) (result i32)))
  (import "env" "caller" (func $caller (param i32)))
"#;

fn module(pages: u32, body: &str) -> Vec<u8> {
    let text =
        format!("(module {IMPORTS} (memory (export \"memory\") {pages}) (type $v (func)) {body})");
    wat::parse_str(&text).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// Two chains from the same genesis; every transaction goes to both.
struct Twins {
    chains: [Chain; 2],
    key: Keypair,
}

impl Twins {
    fn new() -> Twins {
        Twins {
            chains: [common::dev_chain(), common::dev_chain()],
            key: chainvm_runtime::genesis::dev_keys().remove(0),
        }
    }

    /// Sends `payload` with `gas` in a block of its own on both chains; the receipts and
    /// state roots must be identical. Returns the receipt.
    fn send(&mut self, payload: Payload, gas: u64) -> Receipt {
        let mut out = Vec::new();
        for c in &mut self.chains {
            let tx = c
                .next_transaction(&self.key.address(), payload.clone())
                .unwrap()
                .with_gas_limit(gas)
                .sign(&self.key);
            let balance = c.account(&self.key.address()).unwrap().balance;
            let r = c.submit(&tx).expect("admitted and executed");
            // Bounded and charged: never more than the limit, always something, and paid.
            assert!(r.gas_used <= gas, "gas {} over limit {gas}", r.gas_used);
            assert!(r.gas_used > 0);
            let after = c.account(&self.key.address()).unwrap().balance;
            assert_eq!(balance - after, U256::from(r.gas_used), "fee charged");
            out.push((r, c.state_root().unwrap()));
        }
        assert_eq!(out[0].0.encode(), out[1].0.encode(), "receipts agree");
        assert_eq!(out[0].1, out[1].1, "state roots agree");
        out.remove(0).0
    }

    fn deploy(&mut self, code: Vec<u8>) -> Address {
        let r = self.send(
            Payload::Deploy {
                code,
                args: Vec::new(),
            },
            40_000_000_000,
        );
        assert_eq!(r.status, Status::Success, "{:?}", r.error);
        r.contract_address.unwrap()
    }

    fn call(&mut self, contract: Address, method: &str, args: Vec<u8>, gas: u64) -> Receipt {
        self.send(
            Payload::Call {
                contract,
                method: method.into(),
                args,
                value: U256::zero(),
            },
            gas,
        )
    }
}

fn code_of(r: &Receipt) -> Option<ErrorCode> {
    r.error.as_ref().map(|e| e.code)
}

const LIMIT: u64 = 2_000_000_000;

#[test]
fn adversarial_contracts_end_deterministically_bounded_and_charged() {
    let mut t = Twins::new();

    // Infinite loop: out of gas, the whole limit used.
    let c = t.deploy(module(1, r#"(func (export "run") (loop $l (br $l)))"#));
    let r = t.call(c, "run", vec![], LIMIT);
    assert_eq!(code_of(&r), Some(ErrorCode::OutOfGas));
    assert_eq!(r.gas_used, LIMIT);

    // Mega straight-line function (no loop, so no fuel check inside): with too little gas it
    // runs overdrawn and is out of gas; with enough it succeeds.
    let body = "(drop (i32.const 1))".repeat(60_000);
    let c = t.deploy(module(1, &format!(r#"(func (export "run") {body})"#)));
    let r = t.call(c, "run", vec![], 800_000);
    assert_eq!(code_of(&r), Some(ErrorCode::OutOfGas));
    assert_eq!(r.gas_used, 800_000);
    assert_eq!(t.call(c, "run", vec![], LIMIT).status, Status::Success);

    // Host calls with invalid arguments: out-of-bounds pointers, ptr+len overflowing u32,
    // lengths over the limits, negative lengths; spammed in a loop. Each traps at once.
    let spam = [
        "(call $set (i32.const 65530) (i32.const 100) (i32.const 0) (i32.const 1))",
        "(call $set (i32.const 0) (i32.const 1) (i32.const -16) (i32.const 32))",
        "(call $set (i32.const 0) (i32.const 257) (i32.const 0) (i32.const 1))",
        "(call $set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 65537))",
        "(call $set (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 1))",
        "(drop (call $get (i32.const 0) (i32.const 1) (i32.const 65535) (i32.const 64)))",
        "(drop (call $input (i32.const -1) (i32.const -1)))",
        "(call $emit (i32.const 0) (i32.const 257) (i32.const 0) (i32.const 1))",
        "(call $emit (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 65537))",
        "(call $set_return (i32.const 0) (i32.const 262145))",
        "(drop (call $return_data (i32.const 65536) (i32.const 1)))",
        "(drop (call $call (i32.const 65530) (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)))",
    ];
    for (i, s) in spam.iter().enumerate() {
        let c = t.deploy(module(
            1,
            &format!(r#"(data (i32.const 0) "k") (func (export "run") (loop $l {s} (br $l)))"#),
        ));
        let r = t.call(c, "run", vec![], LIMIT);
        assert_eq!(r.status, Status::Failed, "spam {i}");
        // Bad pointers and lengths trap at once; a call whose bad output pointer is never
        // written (absent key, empty return data) is harmless and spins until out of gas.
        assert!(
            matches!(code_of(&r), Some(ErrorCode::Trap | ErrorCode::OutOfGas)),
            "spam {i}: {:?}",
            r.error
        );
        // Either way the whole limit is used (nothing to refund to an attacker).
        assert_eq!(r.gas_used, LIMIT, "spam {i}");
    }

    // Deep recursion in every frame shape: no locals, many locals, many params, indirect.
    let shapes = [
        r#"(func $f (call $f)) (func (export "run") (call $f))"#,
        r#"(func $f (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
              i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (call $f))
           (func (export "run") (call $f))"#,
        r#"(func $f (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
              (call $f (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)
                (local.get 10) (local.get 11) (local.get 12) (local.get 13) (local.get 14)
                (local.get 15)))
           (func (export "run") (call $f (i64.const 0) (i64.const 0) (i64.const 0)
              (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)
              (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)
              (i64.const 0) (i64.const 0) (i64.const 0)))"#,
        r#"(table 1 funcref) (elem (i32.const 0) $f)
           (func $f (call_indirect (type $v) (i32.const 0)))
           (func (export "run") (call $f))"#,
    ];
    for (i, s) in shapes.iter().enumerate() {
        let c = t.deploy(module(1, s));
        let r = t.call(c, "run", vec![], LIMIT);
        assert_eq!(
            code_of(&r),
            Some(ErrorCode::Trap),
            "shape {i}: {:?}",
            r.error
        );
        assert_eq!(
            r.error.as_ref().unwrap().detail,
            ErrorDetail::Trap(TrapCode::StackOverflow),
            "shape {i}"
        );
    }

    // Memory growth storm: grow one page at a time until refused, then keep asking.
    let c = t.deploy(module(
        1,
        r#"(func (export "run") (local $i i32)
             (block $full (loop $l (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
             (loop $again (drop (memory.grow (i32.const 100)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $again (i32.lt_u (local.get $i) (i32.const 1000)))))"#,
    ));
    let r = t.call(c, "run", vec![], LIMIT);
    assert_eq!(r.status, Status::Success, "{:?}", r.error);
    let pages = t.chains[0].vm().config().runtime.max_memory_pages as u64;
    let per_page = t.chains[0].vm().config().schedule.memory.per_page;
    assert_eq!(
        r.gas.memory,
        pages * per_page,
        "every page paid, refused grows free"
    );

    // Maximum-size bulk copies over the whole grown memory, forever: out of gas.
    let c = t.deploy(module(
        1,
        r#"(func (export "run") (local $bytes i32)
             (drop (memory.grow (i32.const 511)))
             (local.set $bytes (i32.mul (memory.size) (i32.const 65536)))
             (loop $l (memory.copy (i32.const 0) (i32.const 1) (i32.sub (local.get $bytes) (i32.const 1)))
                      (memory.fill (i32.const 0) (i32.const 7) (local.get $bytes)) (br $l)))"#,
    ));
    let r = t.call(c, "run", vec![], LIMIT);
    assert_eq!(code_of(&r), Some(ErrorCode::OutOfGas));
    assert_eq!(r.gas_used, LIMIT);

    // Return data and storage at exactly their limits succeed; one byte over traps (above).
    let c = t.deploy(module(
        8,
        r#"(func (export "run")
             (call $set (i32.const 0) (i32.const 256) (i32.const 0) (i32.const 65536))
             (call $set_return (i32.const 0) (i32.const 262144)))"#,
    ));
    let r = t.call(c, "run", vec![], LIMIT);
    assert_eq!(r.status, Status::Success, "{:?}", r.error);
    assert_eq!(r.return_data.len(), 262_144);
    assert_eq!(r.gas.storage_bytes_written, 256 + 65_536);

    // Huge events: maximum-size events forever, with plenty of gas. Their total is bounded
    // by the per-transaction cap, not by gas: the emit past it fails the call.
    let c = t.deploy(module(
        2,
        r#"(func (export "run") (loop $l
             (call $emit (i32.const 0) (i32.const 256) (i32.const 0) (i32.const 65536)) (br $l)))"#,
    ));
    let r = t.call(c, "run", vec![], 20_000_000_000);
    assert_eq!(code_of(&r), Some(ErrorCode::EventBytesExceeded));
    assert!(
        r.gas_used < 20_000_000_000,
        "a refused event is charged what was used"
    );
    // A failed call's events are kept in the receipt but marked reverted.
    assert!(r.events.iter().all(|e| e.reverted));
    let bytes: u64 = r.events.iter().map(|e| e.size()).sum();
    let cap = t.chains[0].params().max_event_bytes_per_tx;
    assert!(
        bytes <= cap && bytes > cap - 65_792,
        "events bounded by the cap: {bytes} bytes"
    );

    // Reentrancy: A calls B, B calls back into A and is refused; A returns B's answer.
    let a = t.deploy(module(
        1,
        r#"(data (i32.const 100) "back") (data (i32.const 200) "run")
           (func (export "run") (local $code i32)
             (drop (call $input (i32.const 0) (i32.const 20)))
             (local.set $code (call $call (i32.const 0) (i32.const 100) (i32.const 4)
               (i32.const 0) (i32.const 0) (i32.const 300) (i64.const 0)))
             (i32.store (i32.const 400) (local.get $code))
             (drop (call $return_data (i32.const 404) (i32.const 4)))
             (call $set_return (i32.const 400) (i32.const 8)))"#,
    ));
    let b = t.deploy(module(
        1,
        r#"(data (i32.const 200) "run")
           (func (export "back")
             (call $caller (i32.const 0))
             (i32.store (i32.const 400) (call $call (i32.const 0) (i32.const 200) (i32.const 3)
               (i32.const 0) (i32.const 0) (i32.const 300) (i64.const 0)))
             (call $set_return (i32.const 400) (i32.const 4)))"#,
    ));
    let r = t.call(a, "run", b.as_bytes().to_vec(), LIMIT);
    assert_eq!(r.status, Status::Success, "{:?}", r.error);
    assert_eq!(r.return_data[..4], error_code::OK.to_le_bytes());
    assert_eq!(r.return_data[4..8], error_code::REENTRANCY.to_le_bytes());

    // Touching another contract's storage: the same key names a different slot.
    let writer = t.deploy(module(
        1,
        r#"(data (i32.const 0) "secret")
           (func (export "run") (call $set (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 6)))"#,
    ));
    assert_eq!(t.call(writer, "run", vec![], LIMIT).status, Status::Success);
    let reader = t.deploy(module(
        1,
        r#"(data (i32.const 0) "secret")
           (func (export "run")
             (i64.store (i32.const 100) (call $get (i32.const 0) (i32.const 6) (i32.const 200) (i32.const 64)))
             (call $set_return (i32.const 100) (i32.const 8)))"#,
    ));
    let r = t.call(reader, "run", vec![], LIMIT);
    assert_eq!(
        r.return_data,
        (-1i64).to_le_bytes(),
        "absent for anyone else"
    );

    // Compile and load bombs: at the validation limits a module deploys; past them the
    // deploy fails with a typed error, charged, and the chain goes on.
    let at_limit = format!(
        r#"(func (export "run") {})"#,
        "(block ".repeat(4_999) + &")".repeat(4_999)
    );
    t.deploy(module(1, &at_limit));
    let many_fns = (0..9_990)
        .map(|_| "(func (param i64 i64 i64 i64 i64) (local i64 i64 i64))")
        .collect::<String>();
    t.deploy(module(1, &many_fns));
    for bomb in [
        format!(
            r#"(func (export "run") {})"#,
            "(block ".repeat(5_001) + &")".repeat(5_001)
        ),
        (0..10_001).map(|_| "(func)").collect::<String>(),
        (0..1_025)
            .map(|_| "(global i32 (i32.const 0))")
            .collect::<String>(),
    ] {
        let r = t.send(
            Payload::Deploy {
                code: module(1, &bomb),
                args: Vec::new(),
            },
            40_000_000_000,
        );
        assert_eq!(code_of(&r), Some(ErrorCode::InvalidCode), "{:?}", r.error);
    }
    // A module asking for more initial memory than allowed.
    let r = t.send(
        Payload::Deploy {
            code: module(65, r#"(func (export "run"))"#),
            args: Vec::new(),
        },
        40_000_000_000,
    );
    assert_eq!(code_of(&r), Some(ErrorCode::InvalidCode), "{:?}", r.error);

    // The chain is still live and replaying it from genesis reproduces every block's state
    // root and every receipt, adversarial ones included.
    for c in &mut t.chains {
        c.produce_block(&[]).unwrap();
        let report = c.verify().unwrap();
        assert_eq!(report.blocks, c.height().unwrap() + 1);
    }

    // Memory bound for the whole run (two chains, ~40 contracts, 32 MiB memories). On Linux
    // the peak must be measured: a missing or unreadable VmHWM fails the test.
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_else(|e| panic!("cannot read /proc/self/status to measure memory: {e}"));
        let kb = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no VmHWM in /proc/self/status:\n{status}"));
        assert!(kb > 0, "peak resident memory reads as 0 kB");
        assert!(kb < 2 << 20, "peak resident memory {kb} kB over 2 GiB");
    }
}
