//! Every escrow path on the real compiled contract, through the VM and runtime.

use chainvm_runtime::{ErrorCode, U256};
use chainvm_tests::TestChain;
use serde_json::json;

const BUYER: usize = 0;
const SELLER: usize = 1;
const ARBITER: usize = 2;
const STRANGER: usize = 3;

fn setup() -> (TestChain, chainvm_runtime::Address) {
    let mut c = TestChain::new();
    let (escrow, _) = c.deploy(4, "escrow", json!(null));
    (c, escrow)
}

fn create(c: &mut TestChain, e: chainvm_runtime::Address, arbiter: bool, amount: u128) -> u64 {
    let arb = if arbiter {
        c.addr_json(ARBITER)
    } else {
        json!(null)
    };
    let r = c.call(
        BUYER,
        e,
        "create",
        json!({"seller": c.addr_json(SELLER), "arbiter": arb, "deadline_blocks": 5}),
        amount,
    );
    assert!(r.ok(), "{:?}", r.receipt.error);
    r.value.as_u64().unwrap()
}

fn error(r: &chainvm_tests::JsonCall) -> &str {
    assert_eq!(
        r.receipt.error.as_ref().unwrap().code,
        ErrorCode::ContractPanic
    );
    r.value
        .as_str()
        .unwrap_or_else(|| panic!("typed error expected, got {:?}", r.value))
}

#[test]
fn happy_path_create_deliver_confirm_pays_the_seller() {
    let (mut c, e) = setup();
    let seller_before = c.balance(&c.addr(SELLER));
    let r = c.call(
        BUYER,
        e,
        "create",
        json!({"seller": c.addr_json(SELLER), "arbiter": null, "deadline_blocks": 5}),
        1000,
    );
    assert!(r.ok());
    assert_eq!(r.value, json!(0));
    assert_eq!(r.events[0].0, "DealCreated");
    assert_eq!(r.events[0].1["amount"], json!("1000"));
    assert_eq!(r.events[0].1["seller"], c.addr_json(SELLER));
    assert_eq!(c.balance(&e), U256::from(1000));

    let deal = c.view(e, "get_deal", json!({"id": 0}));
    assert_eq!(deal["state"], json!("Funded"));
    assert_eq!(deal["buyer"], c.addr_json(BUYER));
    assert_eq!(deal["arbiter"], json!(null));

    let r = c.call(SELLER, e, "mark_delivered", json!({"id": 0}), 0);
    assert!(r.ok());
    let seller_fee = U256::from(r.receipt.gas_used);
    assert_eq!(r.events, vec![("Delivered".to_string(), json!({"id": 0}))]);
    let r = c.call(BUYER, e, "confirm", json!([0]), 0);
    assert!(r.ok());
    assert_eq!(
        r.events[0],
        (
            "Released".to_string(),
            json!({"id": 0, "to": c.addr_json(SELLER), "amount": "1000"})
        )
    );
    // The seller got exactly the 1000, less the fee it paid for mark_delivered (gas price 1).
    assert_eq!(c.balance(&e), U256::zero());
    assert_eq!(
        c.balance(&c.addr(SELLER)),
        seller_before + 1000 - seller_fee
    );
    assert_eq!(
        c.view(e, "get_deal", json!({"id": 0}))["state"],
        json!("Released")
    );
    // Double release is refused.
    let r = c.call(BUYER, e, "confirm", json!({"id": 0}), 0);
    assert_eq!(error(&r), "WrongState");
    assert_eq!(c.balance(&e), U256::zero());
}

#[test]
fn refund_only_after_the_deadline_and_only_if_not_delivered() {
    let (mut c, e) = setup();
    let id = create(&mut c, e, false, 500);
    let r = c.call(BUYER, e, "refund", json!({"id": id}), 0);
    assert_eq!(error(&r), "DeadlineNotReached");
    let r = c.call(STRANGER, e, "refund", json!({"id": id}), 0);
    assert_eq!(error(&r), "NotBuyer");
    c.advance_to(c.height() + 10);
    let r = c.call(BUYER, e, "refund", json!({"id": id}), 0);
    assert!(r.ok(), "{:?}", r.receipt.error);
    assert_eq!(r.events[0].0, "Refunded");
    assert_eq!(c.balance(&e), U256::zero());
    let r = c.call(BUYER, e, "refund", json!({"id": id}), 0);
    assert_eq!(error(&r), "WrongState");

    // Delivered deals cannot be refunded, even late.
    let id = create(&mut c, e, false, 500);
    assert!(
        c.call(SELLER, e, "mark_delivered", json!({"id": id}), 0)
            .ok()
    );
    c.advance_to(c.height() + 10);
    assert_eq!(
        error(&c.call(BUYER, e, "refund", json!({"id": id}), 0)),
        "WrongState"
    );
}

#[test]
fn disputes_are_resolved_by_the_arbiter_only() {
    let (mut c, e) = setup();
    // Without an arbiter there is no dispute.
    let id = create(&mut c, e, false, 300);
    assert_eq!(
        error(&c.call(BUYER, e, "dispute", json!({"id": id}), 0)),
        "NoArbiter"
    );

    let id = create(&mut c, e, true, 300);
    assert_eq!(
        error(&c.call(STRANGER, e, "dispute", json!({"id": id}), 0)),
        "NotParty"
    );
    let r = c.call(SELLER, e, "dispute", json!({"id": id}), 0);
    assert!(r.ok());
    assert_eq!(
        r.events[0],
        (
            "Disputed".to_string(),
            json!({"id": id, "by": c.addr_json(SELLER)})
        )
    );
    // Once disputed, the parties cannot settle on their own.
    assert_eq!(
        error(&c.call(BUYER, e, "confirm", json!({"id": id}), 0)),
        "WrongState"
    );
    assert_eq!(
        error(&c.call(SELLER, e, "mark_delivered", json!({"id": id}), 0)),
        "WrongState"
    );
    assert_eq!(
        error(&c.call(
            BUYER,
            e,
            "resolve",
            json!({"id": id, "to_seller": false}),
            0
        )),
        "NotArbiter"
    );
    let buyer_before = c.balance(&c.addr(BUYER));
    let r = c.call(
        ARBITER,
        e,
        "resolve",
        json!({"id": id, "to_seller": false}),
        0,
    );
    assert!(r.ok());
    assert_eq!(r.events[0].0, "Refunded");
    assert_eq!(c.balance(&c.addr(BUYER)), buyer_before + 300);
    assert_eq!(
        error(&c.call(
            ARBITER,
            e,
            "resolve",
            json!({"id": id, "to_seller": true}),
            0
        )),
        "WrongState"
    );

    // And to the seller.
    let id = create(&mut c, e, true, 200);
    assert!(c.call(BUYER, e, "dispute", json!({"id": id}), 0).ok());
    let seller_before = c.balance(&c.addr(SELLER));
    assert!(
        c.call(
            ARBITER,
            e,
            "resolve",
            json!({"id": id, "to_seller": true}),
            0
        )
        .ok()
    );
    assert_eq!(c.balance(&c.addr(SELLER)), seller_before + 200);
}

#[test]
fn wrong_callers_missing_funds_and_unknown_deals_are_rejected_with_typed_errors() {
    let (mut c, e) = setup();
    let r = c.call(
        BUYER,
        e,
        "create",
        json!({"seller": c.addr_json(SELLER), "deadline_blocks": 5}),
        0,
    );
    assert_eq!(error(&r), "NoFunds");
    let r = c.call(
        BUYER,
        e,
        "create",
        json!({"seller": c.addr_json(BUYER), "deadline_blocks": 5}),
        10,
    );
    assert_eq!(error(&r), "SameParty");
    // The failed create kept nothing of the attached value.
    assert_eq!(c.balance(&e), U256::zero());
    let id = create(&mut c, e, false, 100);
    assert_eq!(
        error(&c.call(BUYER, e, "mark_delivered", json!({"id": id}), 0)),
        "NotSeller"
    );
    assert_eq!(
        error(&c.call(SELLER, e, "confirm", json!({"id": id}), 0)),
        "NotBuyer"
    );
    assert_eq!(
        error(&c.call(BUYER, e, "confirm", json!({"id": 99}), 0)),
        "NotFound"
    );
    let r = c.call(SELLER, e, "mark_delivered", json!({"id": 42}), 0);
    assert_eq!(error(&r), "NotFound");
    // The error carries the method's source location.
    let loc = r
        .receipt
        .error
        .as_ref()
        .unwrap()
        .location()
        .unwrap()
        .to_string();
    assert!(
        loc.starts_with("escrow/src/lib.rs:") || loc.contains("escrow"),
        "{loc}"
    );
    assert_eq!(c.view(e, "get_deal", json!({"id": 42})), json!(null));
    assert_eq!(c.view(e, "deal_count", json!(null)), json!(1));
}
