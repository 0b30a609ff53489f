//! Gas profiles of the sample contracts' method calls: a profiled dry run's receipt is the
//! unprofiled one's, its profile adds up to the receipt's gas total, and the same
//! transaction executed in a block uses exactly that gas.

use chainvm_runtime::vm::Frame;
use chainvm_runtime::{Address, GasProfile, Payload, Receipt, U256};
use chainvm_tests::TestChain;
use serde_json::{Value, json};

/// Simulates `method` profiled, checks the profile against the receipt, then executes the
/// same transaction in a block and checks it used the same gas. Returns the profile.
fn profiled_call(
    c: &mut TestChain,
    from: usize,
    contract: Address,
    method: &str,
    args: Value,
    value: u128,
) -> (Receipt, GasProfile) {
    let abi = c.chain.abi(&contract).unwrap();
    let payload = Payload::Call {
        contract,
        method: method.into(),
        args: abi.encode_args(method, &args).unwrap(),
        value: U256::from(value),
    };
    let key = &c.keys[from];
    let tx = c
        .chain
        .next_transaction(&key.address(), payload)
        .unwrap()
        .sign(key);
    let (receipt, profile) = c.chain.simulate_profiled(&tx).unwrap();
    let profile = profile.expect("a call has a profile");
    assert_eq!(receipt, c.chain.simulate(&tx).unwrap(), "{method}");
    assert_eq!(profile.total(), receipt.gas.total, "{method}: {profile:?}");
    assert_eq!(profile.total(), receipt.gas_used);
    let g = &receipt.gas;
    assert_eq!(profile.stacks[&vec![Frame::Intrinsic]], g.intrinsic);
    assert_eq!(profile.stacks[&vec![Frame::Loading]], g.loading);
    // Every host function's gas, summed over the stacks it appears under.
    for (name, h) in &g.host {
        let under: u64 = profile
            .stacks
            .iter()
            .filter(|(s, _)| s.last() == Some(&Frame::Host(name.clone())))
            .map(|(_, gas)| *gas)
            .sum();
        assert_eq!(under, h.gas, "{method}: {name}");
    }
    let wasm: u64 = profile
        .stacks
        .iter()
        .filter(|(s, _)| matches!(s.last(), Some(Frame::Func(_))))
        .map(|(_, gas)| *gas)
        .sum();
    assert_eq!(wasm, g.wasm, "{method}");
    // The node's lock-free reader gives the same gas and profile.
    let (read, read_profile) = c.chain.reader().simulate_profiled(&tx).unwrap();
    assert_eq!(read.gas, receipt.gas, "{method}");
    assert_eq!(read_profile.as_ref(), Some(&profile), "{method}");
    let executed = c.chain.submit(&tx).unwrap();
    assert_eq!(executed.gas, receipt.gas, "{method}");
    assert_eq!(executed.status, receipt.status, "{method}");
    assert_eq!(executed.return_data, receipt.return_data, "{method}");
    (executed, profile)
}

#[test]
fn escrow_calls_profile_to_their_receipts_gas() {
    let mut c = TestChain::new();
    let (e, _) = c.deploy(4, "escrow", json!(null));
    let args = json!({"seller": c.addr_json(1), "arbiter": null, "deadline_blocks": 5});
    let (r, p) = profiled_call(&mut c, 0, e, "create", args, 1000);
    assert!(r.is_success(), "{:?}", r.error);
    // Storage writes happen below the entry point, in some defined function.
    let set = p
        .stacks
        .keys()
        .find(|s| s.last() == Some(&Frame::Host("storage_set".into())))
        .expect("create writes storage");
    assert!(
        set.len() >= 2 && matches!(set[0], Frame::Func(_)),
        "{set:?}"
    );
    let (r, _) = profiled_call(&mut c, 1, e, "mark_delivered", json!({"id": 0}), 0);
    assert!(r.is_success(), "{:?}", r.error);
    let (r, _) = profiled_call(&mut c, 0, e, "confirm", json!({"id": 0}), 0);
    assert!(r.is_success(), "{:?}", r.error);
    // A typed error (the contract returns Err): same invariants on a failed receipt.
    let (r, _) = profiled_call(&mut c, 3, e, "confirm", json!({"id": 0}), 0);
    assert!(!r.is_success());
}

#[test]
fn voting_and_token_calls_profile_to_their_receipts_gas() {
    let mut c = TestChain::new();
    let (v, _) = c.deploy(0, "voting", json!(null));
    let start = c.height() + 2;
    let args = json!({"title": "lunch", "options": ["pizza", "sushi"], "start": start,
        "end": start + 10, "voters": [c.addr_json(1), c.addr_json(2)]});
    let (r, _) = profiled_call(&mut c, 0, v, "create_proposal", args, 0);
    assert!(r.is_success(), "{:?}", r.error);
    c.advance_to(start);
    let (r, _) = profiled_call(&mut c, 1, v, "vote", json!({"id": 0, "option": 1}), 0);
    assert!(r.is_success(), "{:?}", r.error);

    let (t, _) = c.deploy(
        0,
        "token",
        json!({"name": "Chain Token", "symbol": "CVT", "supply": "1000000"}),
    );
    let args = json!({"to": c.addr_json(1), "amount": 250});
    let (r, p) = profiled_call(&mut c, 0, t, "transfer", args, 0);
    assert!(r.is_success(), "{:?}", r.error);
    let (heaviest, _) = p.heaviest().unwrap();
    assert!(!heaviest.is_empty());
    // Out of gas: the whole limit, still all accounted for.
    let abi = c.chain.abi(&t).unwrap();
    let payload = Payload::Call {
        contract: t,
        method: "transfer".into(),
        args: abi
            .encode_args("transfer", &json!({"to": c.addr_json(2), "amount": 1}))
            .unwrap(),
        value: U256::zero(),
    };
    let tx = c
        .chain
        .next_transaction(&c.keys[0].address(), payload)
        .unwrap()
        .with_gas_limit(r.gas.intrinsic + r.gas.loading + 200_000)
        .sign(&c.keys[0]);
    let (receipt, profile) = c.chain.simulate_profiled(&tx).unwrap();
    assert!(!receipt.is_success());
    assert_eq!(profile.unwrap().total(), receipt.gas.total);
    assert_eq!(c.chain.submit(&tx).unwrap().gas, receipt.gas);
}

#[test]
fn a_deploy_profiles_its_constructor_and_a_transfer_has_no_profile() {
    let mut c = TestChain::new();
    let code = chainvm_tests::contract_wasm("token");
    let abi = chainvm_runtime::abi::ContractAbi::from_wasm(&code).unwrap();
    let args = abi
        .encode_args(
            "init",
            &json!({"name": "T", "symbol": "T", "supply": "1000"}),
        )
        .unwrap();
    let key = &c.keys[0];
    let tx = c
        .chain
        .next_transaction(&key.address(), Payload::Deploy { code, args })
        .unwrap()
        .sign(key);
    let (receipt, profile) = c.chain.simulate_profiled(&tx).unwrap();
    assert!(receipt.is_success(), "{:?}", receipt.error);
    let profile = profile.unwrap();
    assert_eq!(profile.total(), receipt.gas.total);
    assert!(
        profile
            .stacks
            .keys()
            .any(|s| matches!(s.first(), Some(Frame::Func(_))))
    );
    assert_eq!(c.chain.submit(&tx).unwrap().gas, receipt.gas);

    let payload = Payload::Transfer {
        to: c.addr(1),
        amount: U256::from(5u64),
    };
    let tx = c
        .chain
        .next_transaction(&c.keys[0].address(), payload)
        .unwrap()
        .sign(&c.keys[0]);
    let (receipt, profile) = c.chain.simulate_profiled(&tx).unwrap();
    assert!(receipt.is_success());
    assert!(profile.is_none());
}
