//! What a contract author's test file looks like: deploy the contract on an in-memory chain,
//! call it, assert on results and events, and pin the gas report of each call with an insta
//! snapshot (`cargo insta review` to accept changes).

use chainvm_runtime::{Chain, U256};
use serde_json::json;

#[test]
fn token_transfer_costs_what_it_did_yesterday() {
    let (mut chain, accounts) = Chain::builder().dev_accounts().in_memory().unwrap();
    let (alice, bob) = (&accounts[0], &accounts[1]);
    let code = chainvm_tests::contract_wasm("token");
    let token = chain
        .deploy(
            alice,
            &code,
            json!({"name": "Example", "symbol": "EX", "supply": "1000"}),
        )
        .unwrap()
        .address;

    let bob_json = json!(chainvm_runtime::types::hex(bob.address().as_bytes()));
    let sent = chain
        .call(
            alice,
            token,
            "transfer",
            json!([bob_json, "250"]),
            U256::zero(),
        )
        .unwrap();
    assert!(sent.receipt.is_success());
    assert_eq!(sent.events[0].0, "Transfer");
    assert_eq!(
        chain.view(token, "balance_of", json!([bob_json])).unwrap(),
        json!("250")
    );

    insta::assert_yaml_snapshot!("token_transfer_gas", sent.receipt.gas);
}
