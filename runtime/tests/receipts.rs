//! Receipts are consensus data free of host text: every failure is a code and typed fields,
//! never wasmtime's trap text, wasmparser's or the validator's messages, or `Debug`
//! formatting; a failed nested call hands its caller a code and nothing the host wrote.

mod common;
use chainvm_abi::error_code;
use chainvm_runtime::receipt::{CodeRejection, EventScope, SourceLocation};
use chainvm_runtime::vm::ValidationRule;
use chainvm_runtime::{ErrorDetail, ExecError, Payload, Receipt, TrapCode};
use common::*;

const TRAPS: &str = r#"(module
  (import "env" "set_return" (func $set_return (param i32 i32)))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32 i32 i32)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ErrNotFound")
  (data (i32.const 16) "boom")
  (data (i32.const 32) "lib.rs")
  (func (export "div") (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (func (export "oob") (drop (i32.load (i32.const -1))))
  (func (export "unreachable") unreachable)
  (func (export "spin") (loop $l (br $l)))
  (func (export "bad_arg") (call $set (i32.const 0) (i32.const 100000) (i32.const 0) (i32.const 1)))
  (func $rec (call $rec))
  (func (export "deep") (call $rec))
  (func (export "typed_error")
    (call $set_return (i32.const 0) (i32.const 11))
    (call $abort (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 6) (i32.const 7) (i32.const 9))))"#;

/// What a failure's encoding must never contain: wasmtime's and the validator's wording,
/// the Debug names of the VM's enums, and the old formatted messages.
const HOST_TEXT: &[&str] = &[
    "wasm trap",
    "divide by zero",
    "out of bounds",
    "unreachable",
    "call stack exhausted",
    "fuel",
    "DivisionByZero",
    "MemoryOutOfBounds",
    "StackOverflow",
    "BadHostArgument",
    "out of gas",
    "no method",
    "has no method",
    "no contract at",
    "invalid",
    "not enabled",
    "SIMD",
    "unknown import",
    "exceeds the limit",
];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_text_free(r: &Receipt, host_messages: &[String]) {
    let enc = borsh::to_vec(r.error.as_ref().unwrap()).unwrap();
    for t in HOST_TEXT
        .iter()
        .map(|s| s.to_string())
        .chain(host_messages.iter().cloned())
    {
        assert!(
            !contains(&enc, t.as_bytes()) && !contains(&enc, t.to_lowercase().as_bytes()),
            "{t:?} in the encoding of {:?}",
            r.error
        );
    }
    // The whole receipt round-trips, and its error renders a message outside the encoding.
    assert_eq!(&Receipt::decode(&r.encode()).unwrap(), r);
    assert!(!r.error.as_ref().unwrap().to_string().is_empty());
}

fn error(r: &Receipt) -> ErrorDetail {
    r.error.clone().expect("a failure").detail
}

#[test]
fn failures_are_codes_and_typed_fields_with_no_host_text() {
    let mut h = Harness::new();
    let traps = h.deploy(0, wat::parse_str(TRAPS).unwrap(), vec![]);

    for (method, trap) in [
        ("div", TrapCode::DivisionByZero),
        ("oob", TrapCode::MemoryOutOfBounds),
        ("bad_arg", TrapCode::BadHostArgument),
        ("deep", TrapCode::StackOverflow),
    ] {
        let r = h.call(0, traps, method, vec![], 0);
        assert_eq!(error(&r), ErrorDetail::Trap(trap), "{method}");
        assert_text_free(&r, &[]);
    }
    let r = h.call(0, traps, "unreachable", vec![], 0);
    assert_eq!(error(&r), ErrorDetail::Unreachable);
    assert_text_free(&r, &[]);

    let spin = Payload::Call {
        contract: traps,
        method: "spin".into(),
        args: vec![],
        value: 0u64.into(),
    };
    let spin = h
        .unsigned(0, spin)
        .with_gas_limit(5_000_000)
        .sign(&h.keys[0]);
    let r = h.block(&[spin]).remove(0).unwrap();
    assert_eq!(error(&r), ErrorDetail::OutOfGas);
    assert_text_free(&r, &[]);

    let r = h.call(0, traps, "nope", vec![], 0);
    assert_eq!(
        error(&r),
        ErrorDetail::NoSuchMethod {
            method: "nope".into()
        }
    );
    assert_text_free(&r, &[]);

    let r = h.call(0, h.addr(3), "get", vec![], 0);
    assert_eq!(error(&r), ErrorDetail::NoContract { address: h.addr(3) });
    assert_text_free(&r, &[format!("{:?}", h.addr(3))]);

    // A typed error: the contract's own message and location, its error as return data.
    let r = h.call(0, traps, "typed_error", vec![], 0);
    assert_eq!(
        error(&r),
        ErrorDetail::Panic {
            message: "boom".into(),
            location: Some(SourceLocation {
                file: "lib.rs".into(),
                line: 7,
                column: 9
            })
        }
    );
    assert_eq!(r.return_data, b"ErrNotFound");
}

#[test]
fn validation_failures_carry_the_rule_not_the_validators_message() {
    let mut h = Harness::new();
    let cases = [
        (
            r#"(module (memory (export "memory") 1) (func (drop (v128.const i64x2 0 0))))"#,
            ValidationRule::InvalidWasm,
            None,
        ),
        (
            r#"(module (import "env" "system" (func)) (memory (export "memory") 1))"#,
            ValidationRule::UnknownImport,
            Some("env.system"),
        ),
        (
            r#"(module (memory (export "memory") 1) (func $f) (start $f))"#,
            ValidationRule::StartFunction,
            None,
        ),
    ];
    for (wat, rule, name) in cases {
        let code = wat::parse_str(wat).unwrap();
        // What the VM's validator says (wasmparser's words included): never in the receipt.
        let message = h.vm.validate(&code).unwrap_err().to_string();
        let r = h.send(0, Payload::Deploy { code, args: vec![] }).unwrap();
        match error(&r) {
            ErrorDetail::InvalidCode(CodeRejection {
                rule: got, name: n, ..
            }) => {
                assert_eq!(got, rule, "{wat}");
                assert_eq!(n.as_deref(), name);
            }
            other => panic!("{wat}: {other:?}"),
        }
        if rule == ValidationRule::UnknownImport {
            // The import name is the module's own data and may appear; the sentence not.
            let enc = borsh::to_vec(r.error.as_ref().unwrap()).unwrap();
            assert!(!contains(&enc, b"not a chainvm host function"));
            assert!(contains(&enc, b"env.system"));
        } else {
            // The whole message, and the wasmparser part after the validator's prefix.
            let mut host = vec![message.clone()];
            host.extend(message.split(": ").skip(1).map(str::to_string));
            assert_text_free(&r, &host);
        }
    }
}

#[test]
fn nested_failures_reach_the_caller_as_codes_and_cost_no_message_bytes() {
    let mut h = Harness::new();
    let traps = h.deploy(0, wat::parse_str(TRAPS).unwrap(), vec![]);
    let caller = h.deploy(0, fixture("caller.wat"), vec![]);
    let forward = |method: &str| {
        let mut v = traps.as_bytes().to_vec();
        // A trapping callee uses all the gas it is given: give it a part only.
        v.extend(50_000_000u64.to_le_bytes());
        v.extend((method.len() as u32).to_le_bytes());
        v.extend(method.as_bytes());
        v
    };
    let base = h.params.vm_config().schedule.host.base;
    for (method, code, data) in [
        ("div", error_code::CALLEE_FAILED, &b""[..]),
        ("unreachable", error_code::CALLEE_FAILED, b""),
        ("nope", error_code::NO_METHOD, b""),
        ("typed_error", error_code::CALLEE_FAILED, b"ErrNotFound"),
    ] {
        let r = h.call(0, caller, "forward", forward(method), 0);
        assert!(r.is_success(), "{method}: {:?}", r.error);
        assert_eq!(
            i32::from_le_bytes(r.return_data[..4].try_into().unwrap()),
            code,
            "{method}"
        );
        // Only the callee's own return data follows the code.
        assert_eq!(&r.return_data[4..], data, "{method}");
        // Reading it costs the base plus one gas per byte of that data: no message bytes.
        let rd = r.gas.host["return_data"];
        assert_eq!(rd.gas, base + data.len() as u64, "{method}");
    }
}

#[test]
fn json_adds_a_rendered_message_that_borsh_does_not_carry() {
    let e = ExecError::new(ErrorDetail::EventBytesExceeded {
        scope: EventScope::Block,
        limit: 8 << 20,
    });
    let j = serde_json::to_value(&e).unwrap();
    assert_eq!(j["code"], "event_bytes_exceeded");
    assert_eq!(
        j["message"],
        "event bytes exceeded: the block's limit of 8388608 bytes"
    );
    let back: ExecError = serde_json::from_value(j).unwrap();
    assert_eq!(back, e);
    assert!(!contains(&borsh::to_vec(&e).unwrap(), b"event bytes"));
}
