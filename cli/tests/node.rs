//! A real `chainvm node` process on a loopback port: concurrent clients, receipts, events,
//! WebSocket subscriptions, the CLI through `--node`, SIGTERM (with a view still running), and
//! restart on the same home.
//! The server's own behaviour (malformed requests, block production modes, capped views,
//! full blocks, unfunded senders) is tested in process in `node/tests/`.

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

type Socket = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// A WebSocket to the node with one `chainvm_subscribe(params)` subscription on it.
fn subscribe(node: &NodeProc, params: Value) -> Socket {
    let (mut ws, _) = tungstenite::connect(format!("ws://{}", node.addr)).unwrap();
    let request =
        json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_subscribe", "params": params});
    ws.send(tungstenite::Message::Text(request.to_string().into()))
        .unwrap();
    let answer: Value = serde_json::from_str(ws.read().unwrap().to_text().unwrap()).unwrap();
    assert!(answer["result"].is_string(), "{answer}");
    ws
}

/// The `result` of the next `chainvm_subscription` notification on `ws`.
fn notification(ws: &mut Socket) -> Value {
    let n: Value = serde_json::from_str(ws.read().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(n["method"], "chainvm_subscription", "{n}");
    n["params"]["result"].clone()
}

#[test]
fn concurrent_clients_receipts_cli_subscriptions_and_restart() {
    let (_dir, home) = fresh_home();
    let node = start(&home, &[]);
    let chain_id = node.ok("chainvm_chainId", Value::Null).as_u64().unwrap();

    // A WebSocket subscriber from genesis.
    let mut ws = subscribe(&node, json!(["blocks", {"from": 0}]));

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
        heights.push(notification(&mut ws)["height"].as_u64().unwrap());
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
    assert_eq!(
        notification(&mut ws)["height"],
        81,
        "the deploy block is pushed"
    );
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
    let mut evs = subscribe(&node, json!(["events", {"from": 0, "contract": tok}]));
    let mut topics = Vec::new();
    while topics.len() < 2 {
        let e = notification(&mut evs);
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

/// A contract whose `spin` loops forever.
const LOOPER: &str = r#"(module (memory (export "memory") 1)
  (func (export "spin") (loop $l (br $l))))"#;

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
fn sigterm_does_not_wait_for_a_running_view_and_a_second_one_is_refused_as_busy() {
    let (_dir, home) = fresh_home();
    // A view allowed to loop for a minute or more: SIGTERM does not wait for it. With one
    // execution slot, a second view meanwhile is refused at once as busy.
    let node = start(
        &home,
        &["--max-view-gas", "1e12", "--max-concurrent-views", "1"],
    );
    let looper = deploy_wat(&node, 0, 0, LOOPER);
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
    assert!(out.contains("stopped at block 1"), "{out}");
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
