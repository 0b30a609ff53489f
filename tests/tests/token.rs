//! The token contract: supply, transfers, allowances, events.

use chainvm_runtime::ErrorCode;
use chainvm_tests::TestChain;
use serde_json::json;

#[test]
fn transfer_approve_and_transfer_from() {
    let mut c = TestChain::new();
    let (t, _) = c.deploy(
        0,
        "token",
        json!({"name": "Chain Token", "symbol": "CVT", "supply": "1000000"}),
    );
    assert_eq!(c.view(t, "total_supply", json!(null)), json!("1000000"));
    assert_eq!(c.view(t, "symbol", json!(null)), json!("CVT"));
    assert_eq!(
        c.view(t, "balance_of", json!({"owner": c.addr_json(0)})),
        json!("1000000")
    );

    let r = c.call(
        0,
        t,
        "transfer",
        json!({"to": c.addr_json(1), "amount": 250}),
        0,
    );
    assert!(r.ok());
    assert_eq!(
        r.events,
        vec![(
            "Transfer".to_string(),
            json!({"from": c.addr_json(0), "to": c.addr_json(1), "amount": "250"})
        )]
    );
    assert_eq!(
        c.view(t, "balance_of", json!([c.addr_json(1)])),
        json!("250")
    );

    let r = c.call(
        1,
        t,
        "transfer",
        json!({"to": c.addr_json(2), "amount": 251}),
        0,
    );
    assert_eq!(
        r.receipt.error.as_ref().unwrap().code,
        ErrorCode::ContractPanic
    );
    assert_eq!(r.value, json!("InsufficientBalance"));

    assert!(
        c.call(
            0,
            t,
            "approve",
            json!({"spender": c.addr_json(2), "amount": 100}),
            0
        )
        .ok()
    );
    assert_eq!(
        c.view(t, "allowance", json!([c.addr_json(0), c.addr_json(2)])),
        json!("100")
    );
    let r = c.call(
        2,
        t,
        "transfer_from",
        json!({"from": c.addr_json(0), "to": c.addr_json(3), "amount": 101}),
        0,
    );
    assert_eq!(r.value, json!("InsufficientAllowance"));
    assert!(
        c.call(
            2,
            t,
            "transfer_from",
            json!({"from": c.addr_json(0), "to": c.addr_json(3), "amount": 60}),
            0
        )
        .ok()
    );
    assert_eq!(
        c.view(t, "allowance", json!([c.addr_json(0), c.addr_json(2)])),
        json!("40")
    );
    assert_eq!(
        c.view(t, "balance_of", json!([c.addr_json(3)])),
        json!("60")
    );
    assert_eq!(
        c.view(t, "balance_of", json!([c.addr_json(0)])),
        json!("999690")
    );
    assert_eq!(c.view(t, "total_supply", json!(null)), json!("1000000"));
}

#[test]
fn views_cannot_write_storage_and_bad_arguments_abort_cleanly() {
    let mut c = TestChain::new();
    let (t, _) = c.deploy(0, "token", json!({"name": "T", "symbol": "T", "supply": 5}));
    // Raw bytes that do not decode as the method's arguments.
    let r = c.send(
        0,
        chainvm_runtime::Payload::Call {
            contract: t,
            method: "transfer".into(),
            args: vec![1, 2, 3],
            value: 0.into(),
        },
    );
    let err = r.error.unwrap();
    assert_eq!(err.code, ErrorCode::ContractPanic);
    assert_eq!(
        err.panic_message(),
        Some("invalid arguments for `transfer`")
    );
}
