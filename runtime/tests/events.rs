//! Event caps: bytes per transaction and per block. The emit past either cap fails its call
//! with `EventBytesExceeded` (measured gas); a block never carries more than its cap, decided
//! in block order, the same on every node.

mod common;
use chainvm_abi::error_code;
use chainvm_runtime::{
    ErrorCode, ErrorDetail, Executor, Payload, Receipt, SignedTransaction, Status, Transaction,
    receipt::EventScope, state::Overlay,
};
use common::*;

/// `emit`: input is `count` (u32 LE) then `size` (u32 LE); emits `count` events with a
/// one-byte topic and `size - 1` bytes of data (so each event is `size` bytes).
const EMITTER: &str = r#"(module
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 2)
  (func (export "emit") (local $n i32)
    (drop (call $input (i32.const 0) (i32.const 8)))
    (local.set $n (i32.load (i32.const 0)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (call $emit (i32.const 16) (i32.const 1) (i32.const 32)
        (i32.sub (i32.load (i32.const 4)) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))))"#;

fn args(count: u32, size: u32) -> Vec<u8> {
    let mut v = count.to_le_bytes().to_vec();
    v.extend(size.to_le_bytes());
    v
}

fn bytes(r: &Receipt) -> u64 {
    r.events.iter().map(|e| e.size()).sum()
}

fn exceeded(scope: EventScope, limit: u64) -> Option<ErrorDetail> {
    Some(ErrorDetail::EventBytesExceeded { scope, limit })
}

fn harness(per_tx: u64, per_block: u64) -> (Harness, chainvm_runtime::Address) {
    let mut h = Harness::new();
    h.params.max_event_bytes_per_tx = per_tx;
    h.params.max_event_bytes_per_block = per_block;
    let c = h.deploy(0, wat::parse_str(EMITTER).unwrap(), vec![]);
    (h, c)
}

fn emit_tx(
    h: &Harness,
    from: usize,
    nonce_offset: u64,
    c: chainvm_runtime::Address,
    a: Vec<u8>,
) -> SignedTransaction {
    let mut t = h.unsigned(
        from,
        Payload::Call {
            contract: c,
            method: "emit".into(),
            args: a,
            value: 0u64.into(),
        },
    );
    t.nonce += nonce_offset;
    t.sign(&h.keys[from])
}

#[test]
fn a_transaction_may_emit_up_to_its_cap_and_the_emit_past_it_fails_the_call() {
    let (mut h, c) = harness(1_000, 1 << 20);
    let r = h.call(0, c, "emit", args(10, 100), 0);
    assert!(r.is_success(), "exactly the cap: {:?}", r.error);
    assert_eq!(bytes(&r), 1_000);

    let r = h.call(0, c, "emit", args(11, 100), 0);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        r.error.as_ref().unwrap().code,
        ErrorCode::EventBytesExceeded
    );
    assert_eq!(
        r.error.map(|e| e.detail),
        exceeded(EventScope::Transaction, 1_000)
    );
    // The refused event is not recorded; the ten before it are kept, marked reverted.
    assert_eq!(r.events.len(), 10);
    assert!(r.events.iter().all(|e| e.reverted));
    // Charged what it used, not the whole limit.
    assert!(r.gas_used < GAS / 10, "{}", r.gas_used);
}

#[test]
fn a_block_never_carries_more_than_its_cap_and_later_transactions_get_what_is_left() {
    let (mut h, c) = harness(1_000, 2_500);
    let txs: Vec<_> = [
        args(10, 100),
        args(10, 100),
        args(10, 100),
        args(0, 1),
        args(1, 1),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, a)| emit_tx(&h, 1, i as u64, c, a))
    .collect();

    // The same block on a second, identical harness gives the same receipts.
    let (mut twin, _) = harness(1_000, 2_500);
    let r: Vec<Receipt> = h.block(&txs).into_iter().map(|r| r.unwrap()).collect();
    let r2: Vec<Receipt> = twin.block(&txs).into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(r, r2);

    assert!(r[0].is_success() && r[1].is_success());
    // The third may emit only the 500 bytes left: its sixth event is refused.
    assert_eq!(
        r[2].error.clone().map(|e| e.detail),
        exceeded(EventScope::Block, 2_500)
    );
    assert_eq!(bytes(&r[2]), 500);
    // Nothing left: no events is fine, one byte is not.
    assert!(r[3].is_success());
    assert_eq!(
        r[4].error.clone().map(|e| e.detail),
        exceeded(EventScope::Block, 2_500)
    );
    assert_eq!(r.iter().map(bytes).sum::<u64>(), 2_500);

    // The executor counts exactly the receipts' event bytes.
    let snap = h.store.snapshot().unwrap();
    let mut overlay = Overlay::new(&snap);
    let exec = Executor::new(&h.vm, &h.params);
    let r = exec
        .apply(
            &mut overlay,
            &h.block_ctx(),
            &emit_tx(&h, 1, 0, c, args(7, 100)),
        )
        .unwrap();
    assert!(r.is_success());
    assert_eq!(exec.block_event_bytes(), 700);

    // The next block starts afresh.
    let r = h.call(1, c, "emit", args(10, 100), 0);
    assert!(r.is_success(), "{:?}", r.error);
}

#[test]
fn a_nested_call_past_the_cap_fails_alone_and_the_caller_goes_on() {
    let (mut h, emitter) = harness(1_000, 1 << 20);
    let caller = h.deploy(0, fixture("caller.wat"), vec![]);
    let mut input = emitter.as_bytes().to_vec();
    input.extend(0u64.to_le_bytes());
    input.extend(4u32.to_le_bytes());
    input.extend(b"emit");
    input.extend(args(20, 100));
    let r = h.call(0, caller, "forward", input, 0);
    assert!(r.is_success(), "{:?}", r.error);
    let status = i32::from_le_bytes(r.return_data[..4].try_into().unwrap());
    assert_eq!(status, error_code::CALLEE_FAILED);
    // Only a code: no message bytes follow it.
    assert_eq!(r.return_data.len(), 4);
    assert_eq!(r.events.len(), 10);
    assert!(r.events.iter().all(|e| e.reverted && e.contract == emitter));
}

#[test]
fn chain_blocks_respect_the_block_cap_and_verify() {
    let validator = dev_validator();
    let mut config = chainvm_runtime::GenesisConfig::dev(7, &validator, 1_000);
    config.params.max_event_bytes_per_tx = 1_000;
    config.params.max_event_bytes_per_block = 1_500;
    let mut chain = chainvm_runtime::Chain::in_memory(config, &validator).unwrap();
    chain.set_time(2_000);
    let key = chainvm_runtime::genesis::dev_keys().remove(0);
    let code = wat::parse_str(EMITTER).unwrap();
    let deploy = Transaction::new(7, 0, Payload::Deploy { code, args: vec![] }).sign(&key);
    let c = chain.submit(&deploy).unwrap().contract_address.unwrap();
    let txs: Vec<_> = (1..4)
        .map(|nonce| {
            let emit = Payload::Call {
                contract: c,
                method: "emit".into(),
                args: args(10, 100),
                value: 0u64.into(),
            };
            Transaction::new(7, nonce, emit).sign(&key)
        })
        .collect();
    let block = chain.produce_block(&txs).unwrap();
    let receipts: Vec<_> = block.results.into_iter().map(|r| r.unwrap()).collect();
    assert!(receipts[0].is_success());
    assert_eq!(
        receipts[1].error.clone().map(|e| e.detail),
        exceeded(EventScope::Block, 1_500)
    );
    assert_eq!(
        receipts[2].error.clone().map(|e| e.detail),
        exceeded(EventScope::Block, 1_500)
    );
    assert_eq!(receipts.iter().map(bytes).sum::<u64>(), 1_500);
    chain.verify().expect("re-execution agrees");
}
