//! What the node's integration tests share: a fresh dev home, a node serving it in process,
//! JSON-RPC over HTTP, and signed transfers.
#![allow(dead_code)]

use chainvm_node::{Mode, RunningNode, Settings};
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::production::unix_time;
use chainvm_runtime::types::hex;
use chainvm_runtime::{
    Chain, GenesisConfig, Keypair, Payload, SignedTransaction, Transaction, U256,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const CHAIN_ID: u64 = 1337;

/// A fresh dev chain home (what `chainvm init` makes) in a temporary directory.
pub fn fresh_home() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let validator = Keypair::derive("chainvm node test validator", 0);
    let genesis = GenesisConfig::dev(CHAIN_ID, &validator, unix_time());
    drop(Chain::init(&home, genesis, &validator).unwrap());
    (dir, home)
}

/// A node serving `home` and its JSON-RPC URL.
pub struct Node {
    pub running: RunningNode,
    pub url: String,
}

pub fn start(home: &Path, mode: Mode, settings: Settings) -> Node {
    let running = chainvm_node::start(home, "127.0.0.1:0", mode, settings).unwrap();
    let url = format!("http://{}/", running.addr());
    Node { running, url }
}

impl Node {
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        raw_post(&self.url, &body.to_string())
    }
    pub fn ok(&self, method: &str, params: Value) -> Value {
        let r = self.rpc(method, params);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }
    pub fn send(&self, tx: &SignedTransaction) -> Value {
        self.ok(
            "chainvm_sendRawTransaction",
            json!({"tx": hex(&tx.encode())}),
        )
    }
    /// Stops the node; the height it stopped at.
    pub fn stop(self) -> u64 {
        self.running.stop().unwrap()
    }
}

pub fn raw_post(url: &str, body: &str) -> Value {
    try_post(url, body).unwrap()
}

pub fn try_post(url: &str, body: &str) -> Result<Value, ureq::Error> {
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

pub fn transfer(key: usize, nonce: u64, to: usize, amount: u64) -> SignedTransaction {
    let keys = dev_keys();
    let payload = Payload::Transfer {
        to: keys[to].address(),
        amount: U256::from(amount),
    };
    Transaction::new(CHAIN_ID, nonce, payload).sign(&keys[key])
}

pub fn verify(home: &Path) {
    let report = Chain::open(home).unwrap().verify();
    assert!(report.is_ok(), "{report:?}");
}

/// Polls for a transaction's receipt.
pub fn wait_receipt(node: &Node, hash: &str, within: Duration) -> Value {
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
pub fn deploy_wat(node: &Node, key: usize, nonce: u64, wat: &str) -> String {
    let code = wat::parse_str(wat).unwrap();
    let tx = Transaction::new(CHAIN_ID, nonce, Payload::Deploy { code, args: vec![] })
        .sign(&dev_keys()[key]);
    node.send(&tx);
    let r = wait_receipt(node, &format!("{:?}", tx.hash()), Duration::from_secs(30));
    assert_eq!(r["receipt"]["status"], "success", "{r}");
    r["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_string()
}
