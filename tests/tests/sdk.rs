//! SDK behaviour on a real compiled contract: views cannot write, panics report message and
//! location, typed cross-contract calls, keccak256 and context accessors.

use chainvm_runtime::ErrorCode;
use chainvm_tests::TestChain;
use serde_json::json;

#[test]
fn a_view_method_cannot_write_storage() {
    let mut c = TestChain::new();
    let (p, _) = c.deploy(0, "probe", json!(null));
    let r = c.call(0, p, "sneaky_view", json!(null), 0);
    let err = r.receipt.error.unwrap();
    assert_eq!(err.code, ErrorCode::ContractPanic);
    assert_eq!(err.panic_message(), Some("storage write in a view method"));
    assert!(err.location().unwrap().file.starts_with("probe/src/lib.rs"));
    assert_eq!(c.view(p, "note", json!(null)), json!(null));
    assert!(c.call(0, p, "set_note", json!({"note": "hi"}), 0).ok());
    assert_eq!(c.view(p, "note", json!(null)), json!("hi"));
}

#[test]
fn panics_carry_the_formatted_message_and_file_line_column() {
    let mut c = TestChain::new();
    let (p, _) = c.deploy(0, "probe", json!(null));
    assert!(c.call(0, p, "boom", json!({"n": 3}), 0).ok());
    let r = c.call(0, p, "boom", json!({"n": 9}), 0);
    let err = r.receipt.error.unwrap();
    assert_eq!(err.code, ErrorCode::ContractPanic);
    assert_eq!(err.panic_message(), Some("n too large: 9"));
    let loc = err.location().unwrap().to_string();
    let parts: Vec<&str> = loc.split(':').collect();
    assert_eq!(parts[0], "probe/src/lib.rs");
    assert!(
        parts[1].parse::<u32>().unwrap() > 0 && parts[2].parse::<u32>().unwrap() > 0,
        "{loc}"
    );
}

#[test]
fn typed_cross_contract_calls_and_host_helpers() {
    let mut c = TestChain::new();
    let (t, _) = c.deploy(
        0,
        "token",
        json!({"name": "T", "symbol": "T", "supply": "777"}),
    );
    let (p, _) = c.deploy(0, "probe", json!(null));
    let t_json = json!(chainvm_runtime::types::hex(t.as_bytes()));
    let r = c.call(
        1,
        p,
        "token_balance",
        json!({"token": t_json, "owner": c.addr_json(0)}),
        0,
    );
    assert!(r.ok(), "{:?}", r.receipt.error);
    assert_eq!(r.value, json!("777"));
    assert!(r.receipt.gas.host["call_contract"].calls == 1);

    let r = c.call(
        1,
        p,
        "call_failing",
        json!({"target": t_json, "method": "transfer"}),
        0,
    );
    assert_eq!(r.value[0], json!(chainvm_abi::error_code::CALLEE_FAILED));
    // Codes only: the callee's panic text does not reach the caller (it set no typed error).
    assert_eq!(r.value[1], json!(""));
    let r = c.call(
        1,
        p,
        "call_failing",
        json!({"target": t_json, "method": "nope"}),
        0,
    );
    assert_eq!(r.value[0], json!(chainvm_abi::error_code::NO_METHOD));

    let want = chainvm_runtime::types::keccak(b"abc");
    assert_eq!(
        c.view(p, "hash", json!({"data": "0x616263"})),
        json!(chainvm_runtime::types::hex(want.as_bytes()))
    );

    let r = c.call(2, p, "context", json!(null), 55);
    assert_eq!(
        r.value,
        json!([
            c.addr_json(2),
            chainvm_runtime::types::hex(p.as_bytes()),
            c.height(),
            "55"
        ])
    );
}
