//! `chainvm_getAbi`: a deployed contract's embedded ABI as `ContractAbi`'s JSON, `null` for
//! code without one, an error where there is no contract.

mod common;

use chainvm_node::{Mode, Settings};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Payload, Transaction};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The escrow sample's wasm (built by the tests crate's build script, like every sample).
fn escrow_wasm() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/target/chainvm/escrow.wasm"
    );
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (build it with `cargo build -p chainvm-tests`)"))
}

#[test]
fn get_abi_returns_the_embedded_abi_null_without_one_and_an_error_without_a_contract() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    let code = escrow_wasm();
    let tx = Transaction::new(
        CHAIN_ID,
        0,
        Payload::Deploy {
            code: code.clone(),
            args: vec![],
        },
    )
    .sign(&dev_keys()[0]);
    node.send(&tx);
    let r = wait_receipt(&node, &format!("{:?}", tx.hash()), Duration::from_secs(30));
    assert_eq!(r["receipt"]["status"], "success", "{r}");
    let escrow = r["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_string();

    let abi = node.ok("chainvm_getAbi", json!({ "contract": escrow }));
    let expected = serde_json::to_value(ContractAbi::from_wasm(&code).unwrap()).unwrap();
    assert_eq!(abi, expected);
    assert_eq!(abi["contract"], "Escrow");
    let names: Vec<&str> = abi["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.contains(&"create") && names.contains(&"get_deal"),
        "{names:?}"
    );
    assert_eq!(abi["types"]["DealCreated"]["kind"], "event");

    // A contract without an ABI section: null.
    let bare = r#"(module (memory (export "memory") 1) (func (export "get")))"#;
    let counter = deploy_wat(&node, 0, 1, bare);
    assert_eq!(
        node.ok("chainvm_getAbi", json!({ "contract": counter })),
        Value::Null
    );

    // No contract (a plain account, and an unused address): an error.
    for nobody in [hex(dev_keys()[1].address().as_bytes()), hex(&[0x42; 20])] {
        let r = node.rpc("chainvm_getAbi", json!({ "contract": nobody }));
        assert_eq!(r["error"]["code"], -32001, "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("no contract"),
            "{r}"
        );
    }
    // A malformed address: invalid params.
    let r = node.rpc("chainvm_getAbi", json!({ "contract": "0x12" }));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    node.stop();
}
