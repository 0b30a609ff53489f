//! A real `chainvm node` process on a loopback port: concurrent clients, receipts, events,
//! WebSocket subscriptions, the CLI through `--node`, block production modes, malformed
//! requests, and restart on the same home.
//!
//! Over 600 lines on purpose: every test here drives the same real node process through the
//! helpers at the top; splitting would copy those helpers (or need a shared module) for no
//! gain in reading.

use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Payload, Transaction, U256};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct NodeProc {
    child: Child,
    url: String,
    addr: String,
    stdout: BufReader<std::process::ChildStdout>,
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainvm"))
}

fn init(home: &Path) {
    let out = bin().arg("--home").arg(home).arg("init").output().unwrap();
    assert!(out.status.success());
}

/// A fresh `chainvm init` home in a temporary directory (dropped with the directory).
fn fresh_home() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    init(&home);
    (dir, home)
}

fn start(home: &Path, extra: &[&str]) -> NodeProc {
    let mut child = bin()
        .arg("--home")
        .arg(home)
        .args(["node", "--rpc", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    NodeProc {
        child,
        url: format!("http://{addr}/"),
        addr,
        stdout,
    }
}

impl NodeProc {
    fn rpc(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        raw_post(&self.url, &body.to_string())
    }
    fn ok(&self, method: &str, params: Value) -> Value {
        let r = self.rpc(method, params);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }
    /// SIGTERM, then wait; returns what the node printed on the way out.
    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "node exit: {status}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        rest
    }
}

impl Drop for NodeProc {
    /// A test that fails half-way must not leave its node running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raw_post(url: &str, body: &str) -> Value {
    try_post(url, body).unwrap()
}

fn try_post(url: &str, body: &str) -> Result<Value, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A stuck node fails the test instead of hanging it.
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)?;
    Ok(resp.body_mut().read_json().unwrap_or(Value::Null))
}

fn transfer(
    chain_id: u64,
    key: usize,
    nonce: u64,
    to: usize,
    amount: u64,
) -> chainvm_runtime::SignedTransaction {
    let keys = dev_keys();
    let payload = Payload::Transfer {
        to: keys[to].address(),
        amount: U256::from(amount),
    };
    Transaction::new(chain_id, nonce, payload).sign(&keys[key])
}

fn cli(home: &Path, node: &NodeProc, args: &[&str]) -> Value {
    let out = bin()
        .arg("--home")
        .arg(home)
        .args(["--node", &node.url, "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn concurrent_clients_receipts_cli_subscriptions_and_restart() {
    let (_dir, home) = fresh_home();
    let node = start(&home, &[]);
    let chain_id = node.ok("chainvm_chainId", Value::Null).as_u64().unwrap();

    // A WebSocket subscriber from genesis.
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/ws", node.addr)).unwrap();
    ws.send(tungstenite::Message::Text(
        json!({"subscribe": "blocks", "from": 0}).to_string().into(),
    ))
    .unwrap();

    // Four concurrent clients, 20 transfers each.
    std::thread::scope(|s| {
        for client in 0..4usize {
            let url = node.url.clone();
            s.spawn(move || {
                for nonce in 0..20u64 {
                    let tx = transfer(chain_id, client, nonce, 9, 1 + nonce);
                    let body = json!({"jsonrpc": "2.0", "id": nonce, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&tx.encode())}});
                    let r = raw_post(&url, &body.to_string());
                    assert_eq!(r["result"]["hash"], format!("{:?}", tx.hash()), "{r}");
                }
            });
        }
    });
    let height = node
        .ok("chainvm_blockNumber", Value::Null)
        .as_u64()
        .unwrap();
    assert_eq!(height, 80, "automine: one block per transaction");
    for client in 0..4usize {
        let a = hex(dev_keys()[client].address().as_bytes());
        assert_eq!(node.ok("chainvm_getNonce", json!({"address": a})), 20);
        let t = transfer(chain_id, client, 7, 9, 8);
        let r = node.ok(
            "chainvm_getReceipt",
            json!({"hash": format!("{:?}", t.hash())}),
        );
        assert_eq!(r["receipt"]["status"], "success");
    }
    // Every transaction is in exactly one block.
    let mut seen = std::collections::HashSet::new();
    for h in 1..=height {
        for t in node.ok("chainvm_getBlockByNumber", json!({"height": h}))["transactions"]
            .as_array()
            .unwrap()
        {
            assert!(seen.insert(t["hash"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), 80);

    // The subscriber saw the history and then keeps up with new blocks.
    let mut heights = Vec::new();
    while heights.len() < 81 {
        let msg = ws.read().unwrap();
        let b: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        heights.push(b["height"].as_u64().unwrap());
    }
    assert_eq!(heights, (0..=80).collect::<Vec<_>>());

    // The CLI through --node: deploy, call, events, view, with the same output shape.
    let token = chainvm_tests::contracts_dir().join("token.wasm");
    let d = cli(
        &home,
        &node,
        &[
            "deploy",
            token.to_str().unwrap(),
            "--alias",
            "tok",
            "--args",
            r#"{"name": "T", "symbol": "T", "supply": "900"}"#,
        ],
    );
    assert_eq!(d["status"], "success");
    let to = hex(dev_keys()[3].address().as_bytes());
    let c = cli(
        &home,
        &node,
        &["call", "tok", "transfer", &format!(r#"["{to}", "40"]"#)],
    );
    assert_eq!(c["events"][0]["event"], "Transfer");
    let b = ws.read().unwrap();
    let b: Value = serde_json::from_str(b.to_text().unwrap()).unwrap();
    assert_eq!(b["height"], 81, "the deploy block is pushed");
    assert_eq!(
        cli(
            &home,
            &node,
            &["view", "tok", "balance_of", &format!(r#"["{to}"]"#)]
        )["return"],
        "40"
    );
    let ev = cli(&home, &node, &["events", "--contract", "tok"]);
    assert_eq!(ev.as_array().unwrap().len(), 2);
    // An event subscription for the token contract, replayed from genesis.
    let tok = d["contract_address"].as_str().unwrap().to_string();
    let (mut evs, _) = tungstenite::connect(format!("ws://{}/ws", node.addr)).unwrap();
    evs.send(tungstenite::Message::Text(
        json!({"subscribe": "events", "from": 0, "contract": tok})
            .to_string()
            .into(),
    ))
    .unwrap();
    let mut topics = Vec::new();
    while topics.len() < 2 {
        let e: Value = serde_json::from_str(evs.read().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(e["contract"], tok.as_str());
        topics.push((
            e["block"].as_u64().unwrap(),
            e["topic"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        topics,
        [(81, "Transfer".to_string()), (82, "Transfer".to_string())]
    );
    let via_node = cli(&home, &node, &["block", "82"]);
    let proof = cli(&home, &node, &["proof", &format!("account:{to}")]);
    assert_eq!(proof["verified"], true);

    // Graceful stop, restart on the same home: it continues from its last block.
    let out = node.stop();
    assert!(out.contains("stopped at block 82"), "{out}");
    let local = {
        let o = bin()
            .arg("--home")
            .arg(&home)
            .args(["--json", "block", "82"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    assert_eq!(
        via_node, local,
        "same output through the node and from the home"
    );
    let node = start(&home, &[]);
    assert_eq!(node.ok("chainvm_blockNumber", Value::Null), 82);
    let t = transfer(chain_id, 5, 0, 1, 3);
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&t.encode())}),
    );
    assert_eq!(node.ok("chainvm_blockNumber", Value::Null), 83);
    let out = node.stop();
    assert!(out.contains("stopped at block 83"), "{out}");
    let v = bin()
        .arg("--home")
        .arg(&home)
        .args(["--json", "verify"])
        .output()
        .unwrap();
    assert!(v.status.success());
}

#[test]
fn malformed_requests_get_json_rpc_errors() {
    let (_dir, home) = fresh_home();
    let node = start(&home, &[]);
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
        let mut t = transfer(1337, 0, 0, 1, 1);
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
    // The node refuses the body once it passes the cap; depending on timing the client sees
    // the JSON-RPC error or the connection closed while it was still sending.
    match try_post(&node.url, &huge) {
        Ok(v) => assert_eq!(code(&v), -32600, "{v}"),
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
    let node = start(&home, &["--manual"]);
    let t = transfer(1337, 0, 0, 1, 5);
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&t.encode())}),
    );
    let t2 = transfer(1337, 0, 1, 1, 5);
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&t2.encode())}),
    );
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
    node.stop();

    let node = start(&home, &["--block-time", "100"]);
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
    node.stop();
}

/// A contract whose `spin` loops forever and whose `burn` traps at once (a trap uses the
/// whole gas limit).
const LOOPER: &str = r#"(module (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l)))
  (func (export "burn") (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#;

/// Polls for a transaction's receipt.
fn wait_receipt(node: &NodeProc, hash: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = node.ok("chainvm_getReceipt", json!({ "hash": hash }));
        if !r.is_null() {
            return r;
        }
        assert!(Instant::now() < deadline, "{hash} not included");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Deploys `wat` from dev account `key` and returns the contract's address.
fn deploy_wat(node: &NodeProc, key: usize, nonce: u64, wat: &str) -> String {
    let code = wat::parse_str(wat).unwrap();
    let tx = Transaction::new(1337, nonce, Payload::Deploy { code, args: vec![] })
        .sign(&dev_keys()[key]);
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&tx.encode())}),
    );
    let r = wait_receipt(node, &format!("{:?}", tx.hash()), Duration::from_secs(30));
    assert_eq!(r["receipt"]["status"], "success", "{r}");
    r["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_looping_view_ends_at_the_gas_cap_without_holding_up_transfers_or_shutdown() {
    let (_dir, home) = fresh_home();
    // About a second of looping on this machine class: long enough to overlap a transfer.
    let cap = 20_000_000_000u64;
    let node = start(&home, &["--max-view-gas", "2e10"]);
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
    let t = transfer(1337, 1, 0, 2, 5);
    let sent = Instant::now();
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&t.encode())}),
    );
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
    let big = Transaction::new(1337, 0, big)
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
    node.stop();

    // A view allowed to loop for a minute or more: SIGTERM does not wait for it. With one
    // execution slot, a second view meanwhile is refused at once as busy.
    let node = start(
        &home,
        &["--max-view-gas", "1e12", "--max-concurrent-views", "1"],
    );
    let view = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_view",
        "params": {"contract": looper, "method": "spin", "gas": 1e15}});
    let url = node.url.clone();
    let _viewer = std::thread::spawn(move || try_post(&url, &view.to_string()));
    std::thread::sleep(Duration::from_millis(300));
    let busy = node.rpc(
        "chainvm_view",
        json!({"contract": looper, "method": "spin", "gas": 1000}),
    );
    assert_eq!(busy["error"]["code"], -32005, "{busy}");
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("node busy"),
        "{busy}"
    );
    let stopping = Instant::now();
    let out = node.stop();
    let took = stopping.elapsed();
    assert!(out.contains("stopped at block 2"), "{out}");
    assert!(
        took < Duration::from_secs(8),
        "shutdown took {took:?} with a view running"
    );
    let v = bin()
        .arg("--home")
        .arg(&home)
        .args(["--json", "verify"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn in_interval_mode_every_acknowledged_transaction_lands_when_blocks_fill() {
    let (_dir, home) = fresh_home();
    let node = start(&home, &["--block-time", "200"]);
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
            Transaction::new(1337, nonce, burn)
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
    let node = start(&home, &["--manual"]);
    for i in 0..20 {
        let key = chainvm_runtime::Keypair::derive("sybil", i);
        let batch: Vec<Value> = (0..50)
            .map(|n| {
                let t = Transaction::new(1337, n, Payload::Transfer {
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
    let t = transfer(1337, 0, 0, 1, 5);
    node.ok(
        "chainvm_sendRawTransaction",
        json!({"tx": hex(&t.encode())}),
    );
    assert_eq!(node.ok("chainvm_produceBlock", Value::Null), 1);
    let r = node.ok(
        "chainvm_getReceipt",
        json!({"hash": format!("{:?}", t.hash())}),
    );
    assert_eq!(r["block"], 1);
    node.stop();
}
