//! Gas snapshots: the gas report of every public method of escrow, voting and token, on the
//! happy path and the main failures, pinned with insta. Any change to an operator cost, a
//! host cost, the runtime's intrinsic costs or a contract's code changes a snapshot and fails
//! here with a readable diff; `cargo insta review` (or `INSTA_UPDATE=always cargo test`)
//! accepts the new numbers.

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
        json!(chainvm_runtime::abi::hex(self.keys[i].address().as_bytes()))
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
    insta::assert_yaml_snapshot!("escrow_deploy", deploy);
    let create = |e: &Env| json!({"seller": e.addr(1), "arbiter": e.addr(2), "deadline_blocks": 3});
    let args = create(&e);
    insta::assert_yaml_snapshot!("escrow_create", e.call(0, c, "create", args.clone(), 1000));
    insta::assert_yaml_snapshot!(
        "escrow_create_no_funds",
        e.call(0, c, "create", args.clone(), 0)
    );
    insta::assert_yaml_snapshot!(
        "escrow_mark_delivered_not_seller",
        e.call(0, c, "mark_delivered", json!([0]), 0)
    );
    insta::assert_yaml_snapshot!(
        "escrow_mark_delivered",
        e.call(1, c, "mark_delivered", json!([0]), 0)
    );
    insta::assert_yaml_snapshot!("escrow_confirm", e.call(0, c, "confirm", json!([0]), 0));
    insta::assert_yaml_snapshot!(
        "escrow_confirm_double_release",
        e.call(0, c, "confirm", json!([0]), 0)
    );
    e.call(0, c, "create", args.clone(), 500);
    insta::assert_yaml_snapshot!(
        "escrow_refund_before_deadline",
        e.call(0, c, "refund", json!([1]), 0)
    );
    e.chain.advance_blocks(5).unwrap();
    insta::assert_yaml_snapshot!("escrow_refund", e.call(0, c, "refund", json!([1]), 0));
    e.call(0, c, "create", args, 700);
    insta::assert_yaml_snapshot!("escrow_dispute", e.call(1, c, "dispute", json!([2]), 0));
    insta::assert_yaml_snapshot!(
        "escrow_resolve_not_arbiter",
        e.call(0, c, "resolve", json!([2, true]), 0)
    );
    insta::assert_yaml_snapshot!(
        "escrow_resolve",
        e.call(2, c, "resolve", json!([2, true]), 0)
    );
    insta::assert_yaml_snapshot!("escrow_get_deal", e.call(3, c, "get_deal", json!([2]), 0));
    insta::assert_yaml_snapshot!(
        "escrow_get_deal_missing",
        e.call(3, c, "get_deal", json!([9]), 0)
    );
    insta::assert_yaml_snapshot!(
        "escrow_deal_count",
        e.call(3, c, "deal_count", json!(null), 0)
    );
}

#[test]
fn voting_gas() {
    let mut e = Env::new();
    let (c, deploy) = e.deploy("voting", json!(null));
    insta::assert_yaml_snapshot!("voting_deploy", deploy);
    let start = e.chain.height().unwrap() + 3;
    let args = json!({"title": "t", "options": ["a", "b", "c"], "start": start, "end": start + 10, "voters": null});
    insta::assert_yaml_snapshot!(
        "voting_create_proposal",
        e.call(0, c, "create_proposal", args, 0)
    );
    let bad = json!({"title": "t", "options": ["a"], "start": start, "end": start + 10});
    insta::assert_yaml_snapshot!(
        "voting_create_proposal_bad_options",
        e.call(0, c, "create_proposal", bad, 0)
    );
    insta::assert_yaml_snapshot!(
        "voting_vote_not_started",
        e.call(1, c, "vote", json!([0, 1]), 0)
    );
    e.chain.advance_blocks(2).unwrap();
    insta::assert_yaml_snapshot!("voting_vote", e.call(1, c, "vote", json!([0, 1]), 0));
    insta::assert_yaml_snapshot!("voting_vote_again", e.call(1, c, "vote", json!([0, 2]), 0));
    insta::assert_yaml_snapshot!(
        "voting_vote_bad_option",
        e.call(2, c, "vote", json!([0, 9]), 0)
    );
    insta::assert_yaml_snapshot!(
        "voting_finalize_not_ended",
        e.call(0, c, "finalize", json!([0]), 0)
    );
    insta::assert_yaml_snapshot!("voting_tally", e.call(0, c, "tally", json!([0]), 0));
    insta::assert_yaml_snapshot!(
        "voting_vote_of",
        e.call(0, c, "vote_of", json!([0, e.addr(1)]), 0)
    );
    insta::assert_yaml_snapshot!(
        "voting_get_proposal",
        e.call(0, c, "get_proposal", json!([0]), 0)
    );
    e.chain.advance_blocks(10).unwrap();
    insta::assert_yaml_snapshot!("voting_vote_ended", e.call(3, c, "vote", json!([0, 0]), 0));
    insta::assert_yaml_snapshot!("voting_finalize", e.call(0, c, "finalize", json!([0]), 0));
}

#[test]
fn token_gas() {
    let mut e = Env::new();
    let (c, deploy) = e.deploy(
        "token",
        json!({"name": "Token", "symbol": "TKN", "supply": "1000000"}),
    );
    insta::assert_yaml_snapshot!("token_deploy", deploy);
    insta::assert_yaml_snapshot!(
        "token_transfer",
        e.call(0, c, "transfer", json!([e.addr(1), "100"]), 0)
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_insufficient",
        e.call(1, c, "transfer", json!([e.addr(2), "101"]), 0)
    );
    insta::assert_yaml_snapshot!(
        "token_approve",
        e.call(0, c, "approve", json!([e.addr(2), "50"]), 0)
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_from",
        e.call(
            2,
            c,
            "transfer_from",
            json!([e.addr(0), e.addr(3), "20"]),
            0
        )
    );
    insta::assert_yaml_snapshot!(
        "token_transfer_from_over_allowance",
        e.call(
            2,
            c,
            "transfer_from",
            json!([e.addr(0), e.addr(3), "31"]),
            0
        )
    );
    insta::assert_yaml_snapshot!(
        "token_balance_of",
        e.call(0, c, "balance_of", json!([e.addr(1)]), 0)
    );
    insta::assert_yaml_snapshot!(
        "token_allowance",
        e.call(0, c, "allowance", json!([e.addr(0), e.addr(2)]), 0)
    );
    insta::assert_yaml_snapshot!(
        "token_total_supply",
        e.call(0, c, "total_supply", json!(null), 0)
    );
    insta::assert_yaml_snapshot!("token_name", e.call(0, c, "name", json!(null), 0));
    insta::assert_yaml_snapshot!("token_symbol", e.call(0, c, "symbol", json!(null), 0));
}
