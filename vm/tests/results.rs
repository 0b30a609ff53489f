//! Outcomes: panics carry message and location with measured gas; other traps use the
//! limit; floats give canonical NaN bits; a missing entry point is a clean outcome.

mod common;
use chainvm_vm::testing::{MockEvent, MockHost, MockTransfer, amount};
use chainvm_vm::{Outcome, Panic, TrapKind};
use common::*;

#[test]
fn abort_carries_message_and_location_and_gas_is_measured() {
    let vm = vm();
    let code = fixture("host.wat");
    let c = load(&vm, &code);
    let e = run(&vm, &c, "panic", &[], 10_000_000);
    assert_eq!(
        e.outcome,
        Outcome::Panic(Panic {
            message: "deal not found".into(),
            file: Some("src/escrow.rs".into()),
            line: 42,
            column: 7,
        })
    );
    assert_eq!(
        e.outcome.to_string(),
        "panicked: deal not found at src/escrow.rs:42:7"
    );
    let h = &vm.config().schedule.host;
    let fixed = fixed_gas(&vm.config().schedule, code.len(), 1);
    // Thunk entry 98 (its 10-gas exit never runs) + six i32.const (2 each) + the call;
    // abort = base + 27 bytes read.
    let call = vm.config().schedule.ops.call as u64;
    assert_eq!(
        e.gas_used,
        fixed + 98 + 6 * 2 + call + h.base + 27 * h.read_per_byte
    );
    assert!(e.gas_used < 10_000_000);
    assert!(e.return_data.is_empty());
}

#[test]
fn unreachable_is_a_panic_with_measured_gas() {
    let vm = vm();
    let code = fixture("traps.wat");
    let c = load(&vm, &code);
    let e = run(&vm, &c, "unreachable", &[], 10_000_000);
    assert_eq!(e.outcome, Outcome::Unreachable);
    let fixed = fixed_gas(&vm.config().schedule, code.len(), 1);
    // The thunk's entry (98) and nothing else: its exit never runs.
    assert_eq!(e.gas_used, fixed + 98);
}

#[test]
fn other_traps_use_the_whole_limit() {
    let vm = vm();
    let c = load(&vm, &fixture("traps.wat"));
    let cases = [
        ("div_zero", TrapKind::DivisionByZero),
        ("int_overflow", TrapKind::IntegerOverflow),
        ("oob", TrapKind::MemoryOutOfBounds),
        ("bad_trunc", TrapKind::BadConversionToInteger),
        ("null_call", TrapKind::BadIndirectCall),
    ];
    for (entry, kind) in cases {
        let e = run(&vm, &c, entry, &[], 7_654_321);
        match &e.outcome {
            Outcome::Trap { kind: k, .. } => assert_eq!(*k, kind, "{entry}"),
            other => panic!("{entry}: {other:?}"),
        }
        assert_eq!(e.gas_used, 7_654_321, "{entry}");
        assert_eq!(e.gas.total(), 7_654_321, "{entry}");
    }
    assert!(run(&vm, &c, "ok_call", &[], PLENTY).outcome.is_success());
}

#[test]
fn nan_producing_float_ops_give_canonical_bits() {
    let vm = vm();
    let c = load(&vm, &fixture("traps.wat"));
    let e = run(&vm, &c, "nans", &[], PLENTY);
    assert_eq!(e.outcome, Outcome::Success);
    let r = &e.return_data;
    let f32_at = |i: usize| u32::from_le_bytes(r[i..i + 4].try_into().unwrap());
    let f64_at = |i: usize| u64::from_le_bytes(r[i..i + 8].try_into().unwrap());
    assert_eq!(f32_at(0), 0x7fc0_0000, "sqrt(-1)");
    assert_eq!(f64_at(4), 0x7ff8_0000_0000_0000, "0/0");
    assert_eq!(f32_at(12), 0x7fc0_0000, "min(-NaN:0x200000, 1)");
    assert_eq!(f64_at(16), 0x7ff8_0000_0000_0000, "promote(0/0)");
}

#[test]
fn missing_entry_points_are_a_clean_outcome() {
    let vm = vm();
    let c = load(&vm, &fixture("loop.wat"));
    for entry in ["nope", "__chainvm_stack", ""] {
        let e = run(&vm, &c, entry, &[], PLENTY);
        assert_eq!(e.outcome, Outcome::NoSuchEntry(entry.to_string()));
        assert!(e.gas_used > 0 && e.gas_used < PLENTY);
    }
    assert!(c.has_entry("sum") && !c.has_entry("nope"));
}

#[test]
fn events_keccak_storage_and_transfers_reach_the_host() {
    let vm = vm();
    let c = load(&vm, &fixture("host.wat"));
    let mut host = MockHost::default();
    assert!(
        run_with(&vm, &c, "emit", &[], PLENTY, &mut host)
            .outcome
            .is_success()
    );
    assert_eq!(
        host.events,
        vec![MockEvent {
            topic: b"topic".to_vec(),
            data: b"value!".to_vec()
        }]
    );

    let e = run(&vm, &c, "keccak", &[], PLENTY);
    let want: [u8; 32] = {
        use sha3::Digest;
        sha3::Keccak256::digest(b"value!").into()
    };
    assert_eq!(e.return_data, want);

    let mut host = MockHost::default();
    host.storage.insert(b"key".to_vec(), b"x".to_vec());
    let e = run_with(&vm, &c, "remove_has", &[], PLENTY, &mut host);
    assert_eq!(
        e.return_data,
        [1, 0, 0, 0, 0, 0, 0, 0],
        "removed, then absent"
    );
    assert!(host.storage.is_empty());

    let mut host = MockHost {
        balance: 100,
        ..MockHost::default()
    };
    let e = run_with(&vm, &c, "pay", &amount(60), PLENTY, &mut host);
    assert_eq!(e.return_data, 0i32.to_le_bytes());
    let e = run_with(&vm, &c, "pay", &amount(60), PLENTY, &mut host);
    assert_eq!(
        e.return_data,
        chainvm_abi::error_code::INSUFFICIENT_FUNDS.to_le_bytes()
    );
    assert_eq!(host.balance, 40);
    assert_eq!(
        host.transfers,
        vec![MockTransfer {
            to: [0u8; 20],
            amount: 60
        }]
    );
}

#[test]
fn host_faults_are_node_errors_not_outcomes() {
    // MockHost without a scripted call result reports a host fault for call_contract.
    let code = wasm(
        r#"(module
            (import "env" "call_contract" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (drop (call $call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0)))))"#,
    );
    let vm = vm();
    let c = load(&vm, &code);
    let mut host = MockHost::default();
    let r = vm.execute(&c, "run", &[], &Default::default(), PLENTY, &mut host);
    assert!(matches!(r, Err(chainvm_vm::VmError::Host(_))), "{r:?}");
}

#[test]
fn cross_contract_call_forwards_gas_and_charges_what_the_callee_used() {
    let code = wasm(
        r#"(module
            (import "env" "call_contract" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
            (import "env" "return_data" (func $rd (param i32 i32) (result i32)))
            (import "env" "set_return" (func $ret (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 100) "transfer")
            (func (export "run")
              (i32.store (i32.const 0)
                (call $call (i32.const 20) (i32.const 100) (i32.const 8) (i32.const 200) (i32.const 3) (i32.const 300) (i64.const 5000)))
              (i32.store (i32.const 4) (call $rd (i32.const 8) (i32.const 16)))
              (call $ret (i32.const 0) (i32.const 12))))"#,
    );
    let vm = vm();
    let c = load(&vm, &code);
    let mut host = MockHost {
        call_result: Some(chainvm_vm::CallResult {
            code: 0,
            gas_used: 1234,
            data: b"okay".to_vec(),
        }),
        ..MockHost::default()
    };
    let e = run_with(&vm, &c, "run", &[], PLENTY, &mut host);
    assert!(e.outcome.is_success());
    assert_eq!(&e.return_data[..8], &[0, 0, 0, 0, 4, 0, 0, 0]);
    assert_eq!(&e.return_data[8..12], b"okay");
    assert_eq!(host.calls.len(), 1);
    assert_eq!(host.calls[0].method, "transfer");
    assert_eq!(host.calls[0].gas_limit, 5000);
    let h = &vm.config().schedule.host;
    assert_eq!(
        e.gas.host["call_contract"].gas,
        h.base + h.call_contract + h.read_per_byte * (20 + 8 + 3 + 32) + 1234
    );
}

#[test]
fn a_refused_event_ends_the_call_with_measured_gas_and_no_text() {
    let vm = vm();
    let c = load(&vm, &fixture("host.wat"));
    // The fixture's event is 5 topic + 6 data bytes: allowed at 11, refused at 10.
    let mut host = MockHost {
        max_event_bytes: Some(11),
        ..MockHost::default()
    };
    let ok = run_with(&vm, &c, "emit", &[], 10_000_000, &mut host);
    assert_eq!(ok.outcome, Outcome::Success);
    let mut host = MockHost {
        max_event_bytes: Some(10),
        ..MockHost::default()
    };
    let e = run_with(&vm, &c, "emit", &[], 10_000_000, &mut host);
    assert_eq!(e.outcome, Outcome::EventBytesExceeded);
    assert!(host.events.is_empty());
    // Measured, not the limit: the same work as the successful emit, charged up to the
    // refusal (everything but the thunk's exit).
    assert!(
        e.gas_used < 10_000_000 && e.gas_used <= ok.gas_used,
        "{e:?}"
    );
    assert_eq!(e.gas.total(), e.gas_used);
}
