//! The node served in process on a loopback port (the code `chainvm node` runs, without the
//! binary): malformed requests, block production modes, capped views, full blocks in interval
//! mode, and unfunded senders. What needs the `chainvm` binary (the CLI through `--node`,
//! SIGTERM, shutdown with a view still running, restart) is tested in the cli crate: a view
//! abandoned at shutdown keeps running (and keeps the store open) until the process exits.

mod common;

use chainvm_node::{Mode, Settings};
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Keypair, Payload, Transaction, U256};
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[test]
fn malformed_requests_get_json_rpc_errors() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    let code = |v: &Value| v["error"]["code"].as_i64().unwrap_or(0);
    assert_eq!(code(&raw_post(&node.url, "{not json")), -32700);
    assert_eq!(
        code(&raw_post(
            &node.url,
            r#"{"jsonrpc": "1.0", "id": 1, "method": "x"}"#
        )),
        -32600
    );
    assert_eq!(
        code(&raw_post(&node.url, r#"{"jsonrpc": "2.0", "id": 1}"#)),
        -32600
    );
    assert_eq!(code(&node.rpc("chainvm_nope", Value::Null)), -32601);
    assert_eq!(
        code(&node.rpc("chainvm_getBalance", json!({"address": "0x12"}))),
        -32602
    );
    assert_eq!(code(&node.rpc("chainvm_getBalance", json!([1, 2]))), -32602);
    assert_eq!(
        code(&node.rpc("chainvm_sendRawTransaction", json!({"tx": "0xdeadbeef"}))),
        -32000
    );
    let bad_sig = {
        let mut t = transfer(0, 0, 1, 1);
        t.signature[0] ^= 1;
        t
    };
    let r = node.rpc(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&bad_sig.encode())}),
    );
    assert_eq!(code(&r), -32000);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad signature")
    );
    let huge = format!(
        r#"{{"jsonrpc": "2.0", "id": 1, "method": "chainvm_chainId", "params": {{"pad": "{}"}}}}"#,
        "x".repeat(5 << 20)
    );
    // The node refuses the body once it passes the cap (HTTP 413 and jsonrpsee's "request is
    // too big"); depending on timing the client sees that answer or the connection closed
    // while it was still sending.
    match try_post(&node.url, &huge) {
        Ok(v) => assert_eq!(code(&v), -32007, "{v}"),
        Err(ureq::Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
        Err(e) => panic!("{e}"),
    }
    let batch = raw_post(
        &node.url,
        r#"[{"jsonrpc": "2.0", "id": 1, "method": "chainvm_chainId"}, {"jsonrpc": "2.0", "id": 2, "method": "nope"}]"#,
    );
    assert_eq!(batch[0]["result"], 1337);
    assert_eq!(code(&batch[1]), -32601);
    assert_eq!(
        node.ok("chainvm_chainId", Value::Null),
        1337,
        "still serving"
    );
    node.stop();
}

#[test]
fn manual_and_interval_block_production() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Manual, Settings::default());
    let t = transfer(0, 0, 1, 5);
    node.send(&t);
    node.send(&transfer(0, 1, 1, 5));
    assert_eq!(node.ok("chainvm_pending", Value::Null), 2);
    assert_eq!(node.ok("chainvm_blockNumber", Value::Null), 0);
    // A simulation estimates gas without committing anything.
    let sim = node.ok("chainvm_simulate", json!({"tx": hex(&t.encode())}));
    assert_eq!(sim["receipt"]["status"], "success");
    assert_eq!(node.ok("chainvm_produceBlock", Value::Null), 1);
    let b = node.ok("chainvm_getBlockByNumber", json!({"height": 1}));
    assert_eq!(b["transactions"].as_array().unwrap().len(), 2);
    assert_eq!(node.ok("chainvm_pending", Value::Null), 0);
    let by_hash = node.ok("chainvm_getBlockByHash", json!({"hash": b["hash"]}));
    assert_eq!(by_hash, b);
    assert_eq!(
        node.ok(
            "chainvm_getBlockByHash",
            json!({"hash": format!("0x{}", "00".repeat(32))})
        ),
        Value::Null
    );
    assert_eq!(node.stop(), 1);

    let node = start(&home, Mode::Interval(100), Settings::default());
    let deadline = Instant::now() + Duration::from_secs(20);
    while node
        .ok("chainvm_blockNumber", Value::Null)
        .as_u64()
        .unwrap()
        < 4
    {
        assert!(Instant::now() < deadline, "interval blocks are produced");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(node.stop() >= 4);
}

/// A contract whose `spin` loops forever and whose `burn` traps at once (a trap uses the
/// whole gas limit).
const LOOPER: &str = r#"(module (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l)))
  (func (export "burn") (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#;

#[test]
fn a_looping_view_ends_at_the_gas_cap_without_holding_up_transfers() {
    let (_dir, home) = fresh_home();
    // About a second of looping on this machine class: long enough to overlap a transfer.
    let cap = 20_000_000_000u64;
    let settings = Settings {
        max_view_gas: Some(cap),
        ..Settings::default()
    };
    let node = start(&home, Mode::Automine, settings);
    let looper = deploy_wat(&node, 0, 0, LOOPER);
    let view = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_view",
        "params": {"contract": looper, "method": "spin", "gas": 1_000_000_000_000_000u64}});
    let started = Instant::now();
    let viewer = {
        let url = node.url.clone();
        std::thread::spawn(move || (raw_post(&url, &view.to_string()), started.elapsed()))
    };
    std::thread::sleep(Duration::from_millis(200));
    // A transfer while the view runs: automine answers once its block is committed.
    let t = transfer(1, 0, 2, 5);
    let sent = Instant::now();
    node.send(&t);
    let transfer_took = sent.elapsed();
    let transfer_done = started.elapsed();
    let r = node.ok(
        "chainvm_getReceipt",
        json!({"hash": format!("{:?}", t.hash())}),
    );
    assert_eq!(r["receipt"]["status"], "success");
    let (answer, view_took) = viewer.join().unwrap();
    let v = &answer["result"];
    assert_eq!(v["error"]["code"], "out_of_gas", "{answer}");
    assert_eq!(v["gas_limit"], cap, "the request was capped");
    assert_eq!(v["gas"]["total"], cap, "{answer}");
    assert!(
        transfer_done < view_took,
        "the transfer ({transfer_took:?}) was included while the view ({view_took:?}) ran"
    );
    // A simulation asking for more than the cap is refused with a clear error.
    let big = Payload::Transfer {
        to: dev_keys()[4].address(),
        amount: U256::one(),
    };
    let big = Transaction::new(CHAIN_ID, 0, big)
        .with_gas_limit(30_000_000_000)
        .sign(&dev_keys()[3]);
    let sim = node.rpc("chainvm_simulate", json!({"tx": hex(&big.encode())}));
    assert!(
        sim["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--max-view-gas"),
        "{sim}"
    );
    assert_eq!(node.stop(), 2);
    verify(&home);
}

#[test]
fn in_interval_mode_every_acknowledged_transaction_lands_when_blocks_fill() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Interval(200), Settings::default());
    let looper = deploy_wat(&node, 0, 0, LOOPER);
    let contract =
        chainvm_runtime::Address::from_slice(&chainvm_runtime::types::parse_hex(&looper).unwrap());
    // Seven calls of 20e9 gas each (a trap uses all of it) against a 50e9 block: two fit a
    // block. Sent in one batch, so they wait in the pool together; keys 1-3 send two each.
    let gas = 20_000_000_000u64;
    let txs: Vec<_> = [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1), (4, 0)]
        .into_iter()
        .map(|(key, nonce)| {
            let burn = Payload::Call {
                contract,
                method: "burn".into(),
                args: vec![],
                value: U256::zero(),
            };
            Transaction::new(CHAIN_ID, nonce, burn)
                .with_gas_limit(gas)
                .sign(&dev_keys()[key])
        })
        .collect();
    let batch: Vec<Value> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"jsonrpc": "2.0", "id": i, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&t.encode())}}))
        .collect();
    let answers = raw_post(&node.url, &Value::Array(batch).to_string());
    for (t, a) in txs.iter().zip(answers.as_array().unwrap()) {
        assert_eq!(a["result"]["hash"], format!("{:?}", t.hash()), "{a}");
    }
    let mut per_block = std::collections::BTreeMap::<u64, usize>::new();
    for t in &txs {
        let r = wait_receipt(&node, &format!("{:?}", t.hash()), Duration::from_secs(60));
        assert_eq!(r["receipt"]["gas_used"], gas, "{r}");
        *per_block.entry(r["block"].as_u64().unwrap()).or_default() += 1;
    }
    assert!(per_block.values().all(|n| *n <= 2), "{per_block:?}");
    assert!(per_block.len() >= 4, "{per_block:?}");
    node.stop();
}

#[test]
fn unfunded_keys_with_long_nonce_runs_cannot_keep_a_funded_transfer_out() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Manual, Settings::default());
    for i in 0..20 {
        let key = Keypair::derive("sybil", i);
        let batch: Vec<Value> = (0..50)
            .map(|n| {
                let t = Transaction::new(CHAIN_ID, n, Payload::Transfer {
                    to: dev_keys()[0].address(),
                    amount: U256::zero(),
                })
                .sign(&key);
                json!({"jsonrpc": "2.0", "id": n, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&t.encode())}})
            })
            .collect();
        for a in raw_post(&node.url, &Value::Array(batch).to_string())
            .as_array()
            .unwrap()
        {
            let m = a["error"]["message"].as_str().unwrap_or("");
            assert!(m.contains("insufficient funds"), "{a}");
        }
    }
    assert_eq!(node.ok("chainvm_pending", Value::Null), 0);
    let t = transfer(0, 0, 1, 5);
    node.send(&t);
    assert_eq!(node.ok("chainvm_produceBlock", Value::Null), 1);
    let r = node.ok(
        "chainvm_getReceipt",
        json!({"hash": format!("{:?}", t.hash())}),
    );
    assert_eq!(r["block"], 1);
    assert_eq!(node.stop(), 1);
}
