//! Gas snapshots: the gas report of every public method of escrow, voting and token, on the
//! happy path and the main failures, pinned with insta. Any change to an operator cost, a
//! host cost, the runtime's intrinsic costs or a contract's code changes a snapshot and fails
//! here with a readable diff; `cargo insta review` (or `INSTA_UPDATE=always cargo test`)
//! accepts the new numbers.
//!
//! Before a call is pinned its outcome is asserted ([`ok`] or [`fails`] with the contract's
//! typed error), so a snapshot can only record what its name says.

use chainvm_runtime::embed::Called;
use chainvm_runtime::{Address, Chain, ErrorCode, GasReport, Keypair, Receipt, Status, U256};
use chainvm_tests::contract_wasm;
use serde::Serialize;
use serde_json::{Value, json};

/// What is pinned per call: outcome and the full gas report.
#[derive(Serialize)]
struct Snapshot {
    status: Status,
    error: Option<ErrorCode>,
    value: Value,
    gas: GasReport,
}

fn snap(c: &Called) -> Snapshot {
    Snapshot {
        status: c.receipt.status,
        error: c.receipt.error.as_ref().map(|e| e.code),
        value: c.value.clone(),
        gas: c.receipt.gas.clone(),
    }
}

fn snap_receipt(r: &Receipt) -> Snapshot {
    Snapshot {
        status: r.status,
        error: r.error.as_ref().map(|e| e.code),
        value: Value::Null,
        gas: r.gas.clone(),
    }
}

/// Asserts that the call succeeded, then hands it on to be pinned.
#[track_caller]
fn ok(s: Snapshot) -> Snapshot {
    assert_eq!(
        s.status,
        Status::Success,
        "expected success, got {:?}",
        s.value
    );
    assert_eq!(s.error, None);
    s
}

/// Asserts that the call failed with the contract's typed error `name` (a variant of the
/// method's error type), then hands it on to be pinned.
#[track_caller]
fn fails(name: &str, s: Snapshot) -> Snapshot {
    assert_eq!(s.status, Status::Failed, "expected {name}, got success");
    assert_eq!(s.error, Some(ErrorCode::ContractPanic), "expected {name}");
    assert_eq!(s.value, json!(name));
    s
}

struct Env {
    chain: Chain,
    keys: Vec<Keypair>,
}

impl Env {
    fn new() -> Env {
        let (chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
        Env { chain, keys }
    }
    fn addr(&self, i: usize) -> Value {
        json!(chainvm_runtime::types::hex(
            self.keys[i].address().as_bytes()
        ))
    }
    fn deploy(&mut self, name: &str, args: Value) -> (Address, Snapshot) {
        let d = self
            .chain
            .deploy(&self.keys[0], &contract_wasm(name), args)
            .unwrap();
        (d.address, snap_receipt(&d.receipt))
    }
    fn call(
        &mut self,
        from: usize,
        c: Address,
        method: &str,
        args: Value,
        value: u128,
    ) -> Snapshot {
        let r = self
            .chain
            .call(&self.keys[from], c, method, args, U256::from(value))
            .unwrap();
        snap(&r)
    }
}

#[test]
fn escrow_gas() {
    let mut e = Env::new();
    let (c, deploy) = e.deploy("escrow", json!(null));
    insta::assert_yaml_snapshot!("escrow_deploy", ok(deploy));
    let create = |e: &Env| json!({"seller": e.addr(1), "arbiter": e.addr(2), "deadline_blocks": 3});
    let args = create(&e);
    insta::assert_yaml_snapshot!(
        "escrow_create",
        ok(e.call(0, c, "create", args.clone(), 1000))
    );
    insta::assert_yaml_snapshot!(
        "escrow_create_no_funds",
        fails("NoFunds", e.call(0, c, "create", args.clone(), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_mark_delivered_not_seller",
        fails("NotSeller", e.call(0, c, "mark_delivered", json!([0]), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_mark_delivered",
        ok(e.call(1, c, "mark_delivered", json!([0]), 0))
    );
    insta::assert_yaml_snapshot!("escrow_confirm", ok(e.call(0, c, "confirm", json!([0]), 0)));
    insta::assert_yaml_snapshot!(
        "escrow_confirm_double_release",
        fails("WrongState", e.call(0, c, "confirm", json!([0]), 0))
    );
    ok(e.call(0, c, "create", args.clone(), 500));
    insta::assert_yaml_snapshot!(
        "escrow_refund_before_deadline",
        fails("DeadlineNotReached", e.call(0, c, "refund", json!([1]), 0))
    );
    e.chain.advance_blocks(5).unwrap();
    insta::assert_yaml_snapshot!("escrow_refund", ok(e.call(0, c, "refund", json!([1]), 0)));
    ok(e.call(0, c, "create", args, 700));
    insta::assert_yaml_snapshot!("escrow_dispute", ok(e.call(1, c, "dispute", json!([2]), 0)));
    insta::assert_yaml_snapshot!(
        "escrow_resolve_not_arbiter",
        fails("NotArbiter", e.call(0, c, "resolve", json!([2, true]), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_resolve",
        ok(e.call(2, c, "resolve", json!([2, true]), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_get_deal",
        ok(e.call(3, c, "get_deal", json!([2]), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_get_deal_missing",
        ok(e.call(3, c, "get_deal", json!([9]), 0))
    );
    insta::assert_yaml_snapshot!(
        "escrow_deal_count",
        ok(e.call(3, c, "deal_count", json!(null), 0))
    );
}

#[test]
fn voting_gas() {
    let mut e = Env::new();
    let (c, deploy) = e.deploy("voting", json!(null));
    insta::assert_yaml_snapshot!("voting_deploy", ok(deploy));
    // Every call is a block of its own: the proposal is created in the next block, the
    // not-started vote lands in the one after, and the first vote in `start` itself.
    let start = e.chain.height().unwrap() + 3;
    let end = start + 10;
    let args = json!({"title": "t", "options": ["a", "b", "c"], "start": start, "end": end, "voters": null});
    insta::assert_yaml_snapshot!(
        "voting_create_proposal",
        ok(e.call(0, c, "create_proposal", args, 0))
    );
    assert!(
        e.chain.height().unwrap() + 1 < start,
        "the next block is before the window"
    );
    insta::assert_yaml_snapshot!(
        "voting_vote_not_started",
        fails("NotStarted", e.call(1, c, "vote", json!([0, 1]), 0))
    );
    assert_eq!(
        e.chain.height().unwrap() + 1,
        start,
        "the next block opens the window"
    );
    insta::assert_yaml_snapshot!("voting_vote", ok(e.call(1, c, "vote", json!([0, 1]), 0)));
    insta::assert_yaml_snapshot!(
        "voting_vote_again",
        fails("AlreadyVoted", e.call(1, c, "vote", json!([0, 2]), 0))
    );
    insta::assert_yaml_snapshot!(
        "voting_vote_bad_option",
        fails("BadOption", e.call(2, c, "vote", json!([0, 9]), 0))
    );
    // Refused before anything is read or written, so its place in the sequence is free.
    let bad = json!({"title": "t", "options": ["a"], "start": start, "end": end});
    insta::assert_yaml_snapshot!(
        "voting_create_proposal_bad_options",
        fails("BadOptions", e.call(0, c, "create_proposal", bad, 0))
    );
    insta::assert_yaml_snapshot!(
        "voting_finalize_not_ended",
        fails("NotEnded", e.call(0, c, "finalize", json!([0]), 0))
    );
    insta::assert_yaml_snapshot!("voting_tally", ok(e.call(0, c, "tally", json!([0]), 0)));
    insta::assert_yaml_snapshot!(
        "voting_vote_of",
        ok(e.call(0, c, "vote_of", json!([0, e.addr(1)]), 0))
    );
    insta::assert_yaml_snapshot!(
        "voting_get_proposal",
        ok(e.call(0, c, "get_proposal", json!([0]), 0))
    );
    let height = e.chain.height().unwrap();
    e.chain.advance_blocks(end - height).unwrap();
    assert_eq!(
        e.chain.height().unwrap(),
        end,
        "the next block is after the window"
    );
    insta::assert_yaml_snapshot!(
        "voting_vote_ended",
        fails("Ended", e.call(3, c, "vote", json!([0, 0]), 0))
    );
    insta::assert_yaml_snapshot!(
        "voting_finalize",
        ok(e.call(0, c, "finalize", json!([0]), 0))
    );
}

#[test]
fn token_gas() {
    let mut e = Env::new();
    let (c, deploy) = e.deploy(
        "token",
        json!({"name": "Token", "symbol": "TKN", "supply": "1000000"}),
    );
    insta::assert_yaml_snapshot!("token_deploy", ok(deploy));
    insta::assert_yaml_snapshot!(
        "token_transfer",
        ok(e.call(0, c, "transfer", json!([e.addr(1), "100"]), 0))
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_insufficient",
        fails(
            "InsufficientBalance",
            e.call(1, c, "transfer", json!([e.addr(2), "101"]), 0)
        )
    );
    insta::assert_yaml_snapshot!(
        "token_approve",
        ok(e.call(0, c, "approve", json!([e.addr(2), "50"]), 0))
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_from",
        ok(e.call(
            2,
            c,
            "transfer_from",
            json!([e.addr(0), e.addr(3), "20"]),
            0
        ))
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_from_over_allowance",
        fails(
            "InsufficientAllowance",
            e.call(
                2,
                c,
                "transfer_from",
                json!([e.addr(0), e.addr(3), "31"]),
                0
            )
        )
    );
    insta::assert_yaml_snapshot!(
        "token_balance_of",
        ok(e.call(0, c, "balance_of", json!([e.addr(1)]), 0))
    );
    insta::assert_yaml_snapshot!(
        "token_allowance",
        ok(e.call(0, c, "allowance", json!([e.addr(0), e.addr(2)]), 0))
    );
    insta::assert_yaml_snapshot!(
        "token_total_supply",
        ok(e.call(0, c, "total_supply", json!(null), 0))
    );
    insta::assert_yaml_snapshot!("token_name", ok(e.call(0, c, "name", json!(null), 0)));
    insta::assert_yaml_snapshot!("token_symbol", ok(e.call(0, c, "symbol", json!(null), 0)));
}
