//! The embedding API: builder, JSON calls, snapshot/revert of the whole chain, time and
//! height control, events and subscriptions.

use chainvm_runtime::abi::{ABI_SECTION, ContractAbi, TYPES_SECTION};
use chainvm_runtime::embed::{EXAMPLE_COUNTER_WAT, EventFilter};
use chainvm_runtime::{Chain, U256};
use serde_json::json;

#[test]
fn revert_restores_state_blocks_and_receipts() {
    let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
    let code = wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap();
    let c = chain.deploy(&keys[0], &code, json!(null)).unwrap();
    let snap = chain.checkpoint().unwrap();
    let root = chain.state_root().unwrap();
    let mut hashes = Vec::new();
    for _ in 0..3 {
        let r = chain
            .call(&keys[1], c.address, "incr", json!(null), U256::zero())
            .unwrap();
        assert_eq!(
            r.events,
            vec![(
                "Incremented".to_string(),
                json!({"value": chain.view(c.address, "get", json!(null)).unwrap()})
            )]
        );
        hashes.push(r.receipt.tx_hash);
    }
    assert_eq!(chain.view(c.address, "get", json!(null)).unwrap(), json!(3));
    chain.revert(snap).unwrap();
    assert_eq!(chain.state_root().unwrap(), root);
    assert_eq!(chain.view(c.address, "get", json!(null)).unwrap(), json!(0));
    assert_eq!(chain.height().unwrap(), 1);
    for h in hashes {
        assert!(chain.transaction(&h).unwrap().is_none());
    }
    // The chain goes on from there and still verifies.
    chain
        .call(&keys[1], c.address, "incr", json!(null), U256::zero())
        .unwrap();
    assert_eq!(chain.view(c.address, "get", json!(null)).unwrap(), json!(1));
    chain.verify().unwrap();
}

#[test]
fn time_height_events_and_subscriptions() {
    let (mut chain, keys) = Chain::builder()
        .dev_accounts()
        .genesis_time(100)
        .in_memory()
        .unwrap();
    let sub = chain.subscribe();
    let code = wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap();
    let c = chain.deploy(&keys[0], &code, json!(null)).unwrap();
    chain.advance_time(3600).unwrap();
    chain
        .call(&keys[0], c.address, "incr", json!(null), U256::zero())
        .unwrap();
    let t = chain.header(2).unwrap().unwrap().header.timestamp;
    assert_eq!(t, chain.header(1).unwrap().unwrap().header.timestamp + 3600);
    chain.advance_blocks(3).unwrap();
    assert_eq!(chain.height().unwrap(), 5);
    let notes: Vec<_> = sub.try_iter().collect();
    assert_eq!(notes.len(), 5);
    assert_eq!(notes[1].receipts.len(), 1);
    assert_eq!(notes[1].receipts[0].events[0].topic, b"Incremented");
    let evs = chain
        .events(&EventFilter {
            contract: Some(c.address),
            topic: Some(b"Incremented".to_vec()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].block, 2);
    assert!(
        chain
            .events(&EventFilter {
                from_block: Some(3),
                ..Default::default()
            })
            .unwrap()
            .is_empty()
    );
    // A dropped subscriber does not stop block production.
    drop(sub);
    chain.advance_blocks(1).unwrap();
}

#[test]
fn builder_funds_accounts_and_sets_params() {
    let who = chainvm_runtime::Address::repeat_byte(7);
    let params = chainvm_runtime::ChainParams {
        chain_id: 99,
        ..Default::default()
    };
    let (chain, keys) = Chain::builder()
        .params(params)
        .fund(who, U256::from(123))
        .in_memory()
        .unwrap();
    assert!(keys.is_empty());
    assert_eq!(chain.params().chain_id, 99);
    assert_eq!(chain.account(&who).unwrap().balance, U256::from(123));
}

#[test]
fn the_example_counter_embeds_its_abi_under_the_shared_section_names() {
    // Its WAT spells the section names out; they must be the ones the ABI reader looks for.
    for name in [ABI_SECTION, TYPES_SECTION] {
        assert!(
            EXAMPLE_COUNTER_WAT.contains(&format!("(@custom \"{name}\"")),
            "{name}"
        );
    }
    let abi = ContractAbi::from_wasm(&wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap()).unwrap();
    assert_eq!(abi.contract, "Counter");
    assert_eq!(abi.events(), vec!["Incremented"]);
}
