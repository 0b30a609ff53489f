//! Answers decoded through contracts' ABIs over real HTTP: `"decode": true` on
//! `chainvm_getReceipt` / `chainvm_getTransaction` (return values, typed errors, events of
//! contracts with and without an ABI) and `"json_args"` on `chainvm_view`.

mod common;

use chainvm_node::{Mode, Settings};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, Payload, SignedTransaction, Transaction, U256};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn addr(s: &str) -> Address {
    serde_json::from_value(json!(s)).unwrap()
}

/// Sends `tx` and returns its receipt answer with `decode: true` (and checks
/// `chainvm_getTransaction` answers the same).
fn decoded(node: &Node, tx: &SignedTransaction) -> Value {
    node.send(tx);
    let hash = format!("{:?}", tx.hash());
    wait_receipt(node, &hash, Duration::from_secs(30));
    let r = node.ok("chainvm_getReceipt", json!({"hash": hash, "decode": true}));
    let t = node.ok(
        "chainvm_getTransaction",
        json!({"hash": hash, "decode": true}),
    );
    assert_eq!(r, t);
    let plain = node.ok("chainvm_getReceipt", json!({"hash": hash}));
    assert!(plain.get("decoded").is_none(), "{plain}");
    assert_eq!(
        plain["receipt"], r["receipt"],
        "decoding adds, changes nothing"
    );
    r
}

fn call(
    nonce: u64,
    key: usize,
    contract: Address,
    abi: &ContractAbi,
    method: &str,
    args: Value,
    value: u64,
) -> SignedTransaction {
    let payload = Payload::Call {
        contract,
        method: method.into(),
        args: abi.encode_args(method, &args).unwrap(),
        value: U256::from(value),
    };
    Transaction::new(CHAIN_ID, nonce, payload).sign(&dev_keys()[key])
}

#[test]
fn receipts_decode_return_values_typed_errors_and_events() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    let keys = dev_keys();
    let (buyer, seller) = (keys[0].address(), keys[1].address());
    let code = chainvm_tests::contract_wasm("escrow");
    let abi = ContractAbi::from_wasm(&code).unwrap();

    // A deploy: escrow has no constructor, so no method and no value.
    let deploy =
        Transaction::new(CHAIN_ID, 0, Payload::Deploy { code, args: vec![] }).sign(&keys[0]);
    let d = decoded(&node, &deploy);
    assert_eq!(d["receipt"]["status"], "success", "{d}");
    assert_eq!(
        d["decoded"],
        json!({"value": null, "events": [], "method": null})
    );
    let escrow = addr(d["receipt"]["contract_address"].as_str().unwrap());

    // A call: its return value and its event, decoded.
    let args = json!({"seller": hex(seller.as_bytes()), "arbiter": null, "deadline_blocks": 10});
    let create = call(1, 0, escrow, &abi, "create", args.clone(), 500);
    let c = decoded(&node, &create);
    assert_eq!(c["receipt"]["status"], "success", "{c}");
    assert_eq!(c["decoded"]["method"], "create");
    assert_eq!(c["decoded"]["value"], 0, "the first deal's id");
    let events = c["decoded"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{c}");
    assert_eq!(events[0]["name"], "DealCreated");
    assert_eq!(events[0]["contract"], hex(escrow.as_bytes()));
    assert_eq!(events[0]["reverted"], false);
    assert_eq!(events[0]["data"]["id"], 0);
    assert_eq!(events[0]["data"]["buyer"], hex(buyer.as_bytes()));
    assert_eq!(events[0]["data"]["seller"], hex(seller.as_bytes()));
    assert_eq!(
        events[0]["data"]["amount"], "500",
        "u128 as a decimal string"
    );

    // A failed call: its typed error is the value.
    let wrong = call(2, 0, escrow, &abi, "mark_delivered", json!({"id": 0}), 0);
    let w = decoded(&node, &wrong);
    assert_eq!(w["receipt"]["status"], "failed", "{w}");
    assert_eq!(w["decoded"]["method"], "mark_delivered");
    assert_eq!(w["decoded"]["value"], "NotSeller");
    let same = call(
        3,
        0,
        escrow,
        &abi,
        "create",
        json!({"seller": hex(buyer.as_bytes()), "arbiter": null, "deadline_blocks": 1}),
        5,
    );
    assert_eq!(decoded(&node, &same)["decoded"]["value"], "SameParty");

    // A transfer: nothing to decode.
    let t = decoded(&node, &transfer(0, 4, 2, 1));
    assert_eq!(
        t["decoded"],
        json!({"value": null, "events": [], "method": null})
    );

    // Events of a contract without an ABI: named and decoded as null; with one, decoded.
    let bare: String = chainvm_runtime::embed::EXAMPLE_COUNTER_WAT
        .lines()
        .filter(|l| !l.trim_start().starts_with("(@custom"))
        .collect::<Vec<_>>()
        .join("\n");
    for (nonce, wat, name, data) in [
        (5, bare.as_str(), json!(null), json!(null)),
        (
            7,
            chainvm_runtime::embed::EXAMPLE_COUNTER_WAT,
            json!("Incremented"),
            json!({"value": 1}),
        ),
    ] {
        let counter = addr(&deploy_wat(&node, 0, nonce, wat));
        let incr = Payload::Call {
            contract: counter,
            method: "incr".into(),
            args: vec![],
            value: U256::zero(),
        };
        let i = decoded(
            &node,
            &Transaction::new(CHAIN_ID, nonce + 1, incr).sign(&keys[0]),
        );
        assert_eq!(
            i["receipt"]["events"].as_array().map(Vec::len),
            Some(1),
            "{i}"
        );
        let value = if name.is_null() {
            json!(null)
        } else {
            json!(1)
        };
        assert_eq!(
            i["decoded"],
            json!({"value": value, "method": "incr", "events": [{"contract": hex(counter.as_bytes()), "name": name, "data": data, "reverted": false}]}),
        );
    }

    // An unknown transaction is still null.
    let none = node.ok(
        "chainvm_getReceipt",
        json!({"hash": format!("{:?}", chainvm_runtime::H256::zero()), "decode": true}),
    );
    assert_eq!(none, Value::Null);
    node.stop();
}

#[test]
fn views_take_json_args_and_answer_decoded_values_and_typed_errors() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    let keys = dev_keys();
    let code = chainvm_tests::contract_wasm("escrow");
    let abi = ContractAbi::from_wasm(&code).unwrap();
    let deploy =
        Transaction::new(CHAIN_ID, 0, Payload::Deploy { code, args: vec![] }).sign(&keys[0]);
    node.send(&deploy);
    let r = wait_receipt(
        &node,
        &format!("{:?}", deploy.hash()),
        Duration::from_secs(30),
    );
    let escrow = r["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_string();
    let seller = hex(keys[1].address().as_bytes());
    let create = call(
        1,
        0,
        addr(&escrow),
        &abi,
        "create",
        json!({"seller": seller, "arbiter": null, "deadline_blocks": 10}),
        700,
    );
    node.send(&create);
    wait_receipt(
        &node,
        &format!("{:?}", create.hash()),
        Duration::from_secs(30),
    );

    let view = |method: &str, json_args: Value| {
        node.rpc(
            "chainvm_view",
            json!({"contract": escrow, "method": method, "json_args": json_args}),
        )
    };
    let deal = view("get_deal", json!({"id": 0}));
    let deal = &deal["result"];
    assert_eq!(deal["value"]["seller"], seller, "{deal}");
    assert_eq!(deal["value"]["amount"], "700");
    assert_eq!(deal["value"]["state"], "Funded");
    assert_eq!(deal["error"], Value::Null);
    // The raw answer is still there, and decodes to the same.
    let raw = chainvm_runtime::types::parse_hex(deal["return"].as_str().unwrap()).unwrap();
    assert_eq!(abi.decode_return("get_deal", &raw).unwrap(), deal["value"]);
    assert_eq!(
        view("get_deal", json!([5]))["result"]["value"],
        Value::Null,
        "None"
    );
    assert_eq!(view("deal_count", json!(null))["result"]["value"], 1);
    // A typed error (a view attaches no value): in `error_value`.
    let refused = view(
        "create",
        json!({"seller": seller, "arbiter": null, "deadline_blocks": 1}),
    );
    assert!(refused["result"]["error"].is_object(), "{refused}");
    assert_eq!(refused["result"]["error_value"], "NoFunds");
    assert!(refused["result"].get("value").is_none());
    // Bad arguments, both kinds of args, no ABI: invalid params.
    for bad in [
        view("get_deal", json!({"id": "zero"})),
        view("get_deal", json!({"nope": 1})),
        view("nope", json!(null)),
        node.rpc("chainvm_view", json!({"contract": escrow, "method": "deal_count", "json_args": [], "args": "0x"})),
        node.rpc("chainvm_view", json!({"contract": hex(Address::repeat_byte(7).as_bytes()), "method": "get", "json_args": []})),
    ] {
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
    }
    // Hex args as ever, with no decoding.
    let plain = node.ok(
        "chainvm_view",
        json!({"contract": escrow, "method": "deal_count"}),
    );
    assert!(plain.get("value").is_none(), "{plain}");
    assert_eq!(plain["return"], hex(&1u64.to_le_bytes()));
    node.stop();
}
