//! `chainvm_subscribe` over WebSocket, on a node served in process: blocks replayed from a
//! height and then pushed live, contract events filtered by contract and topic, only new
//! blocks without `from`, unsubscribing, refused params, and plain calls on the same socket.

mod common;

use chainvm_node::{Mode, Settings};
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::{Payload, Transaction, U256};
use common::*;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::time::Duration;
use tungstenite::stream::MaybeTlsStream;

type Socket = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

/// A WebSocket JSON-RPC client: requests by id, notifications queued as they come.
struct Client {
    socket: Socket,
    next_id: u64,
    /// Notifications read while waiting for an answer.
    queued: Vec<Value>,
}

impl Client {
    fn connect(node: &Node) -> Client {
        let (socket, _) = tungstenite::connect(format!("ws://{}", node.running.addr())).unwrap();
        if let MaybeTlsStream::Plain(tcp) = socket.get_ref() {
            // A missing message fails the test instead of hanging it.
            tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        Client {
            socket,
            next_id: 1,
            queued: Vec::new(),
        }
    }

    fn read(&mut self) -> Value {
        let msg = self.socket.read().unwrap();
        serde_json::from_str(msg.to_text().unwrap()).unwrap()
    }

    /// Calls `method` and returns its whole answer (`result` or `error`).
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.socket
            .send(tungstenite::Message::Text(request.to_string().into()))
            .unwrap();
        loop {
            let v = self.read();
            if v["id"] == json!(id) {
                return v;
            }
            assert_eq!(v["method"], "chainvm_subscription", "{v}");
            self.queued.push(v);
        }
    }

    /// Subscribes and returns the subscription id.
    fn subscribe(&mut self, params: Value) -> Value {
        let answer = self.call("chainvm_subscribe", params);
        let id = answer["result"].clone();
        assert!(id.as_str().is_some_and(|s| s.starts_with("0x")), "{answer}");
        id
    }

    /// The next notification of subscription `id` (others stay queued), its `result`.
    fn next(&mut self, id: &Value) -> Value {
        loop {
            let at = self
                .queued
                .iter()
                .position(|n| n["params"]["subscription"] == *id);
            if let Some(at) = at {
                let n = self.queued.remove(at);
                assert_eq!(n["jsonrpc"], "2.0");
                assert!(n.get("id").is_none(), "a notification has no id: {n}");
                return n["params"]["result"].clone();
            }
            let v = self.read();
            assert_eq!(v["method"], "chainvm_subscription", "{v}");
            self.queued.push(v);
        }
    }
}

#[test]
fn blocks_replay_from_a_height_then_arrive_live_and_unsubscribing_ends_them() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Manual, Settings::default());
    for h in 1..=3u64 {
        assert_eq!(node.ok("chainvm_produceBlock", Value::Null), h);
    }
    let mut ws = Client::connect(&node);
    let all = ws.subscribe(json!(["blocks", {"from": 0}]));
    let heights: Vec<_> = (0..4).map(|_| ws.next(&all)["height"].clone()).collect();
    assert_eq!(heights, [0, 1, 2, 3]);
    // Only new ones without `from`; a second subscription on the same socket.
    let new = ws.subscribe(json!(["blocks"]));
    assert_ne!(new, all);
    let t = transfer(0, 0, 1, 5);
    node.send(&t);
    assert_eq!(node.ok("chainvm_produceBlock", Value::Null), 4);
    let live = ws.next(&all);
    assert_eq!(live["height"], 4);
    assert_eq!(live["transactions"][0]["hash"], format!("{:?}", t.hash()));
    assert_eq!(live["transactions"][0]["status"], "success");
    assert_eq!(ws.next(&new), live, "both get the same block");
    let via_rpc = node.ok("chainvm_getBlockByNumber", json!({"height": 4}));
    for field in ["hash", "state_root", "timestamp", "gas_used"] {
        assert_eq!(live[field], via_rpc[field], "{field}");
    }
    // Plain calls work on the same socket.
    assert_eq!(ws.call("chainvm_blockNumber", Value::Null)["result"], 4);
    assert_eq!(ws.call("chainvm_unsubscribe", json!([all]))["result"], true);
    assert_eq!(
        ws.call("chainvm_unsubscribe", json!([all]))["result"],
        false
    );
    assert_eq!(node.ok("chainvm_produceBlock", Value::Null), 5);
    assert_eq!(ws.next(&new)["height"], 5);
    assert!(
        ws.queued.iter().all(|n| n["params"]["subscription"] != all),
        "nothing after unsubscribing: {:?}",
        ws.queued
    );
    node.stop();
}

#[test]
fn events_are_filtered_by_contract_and_topic_and_bad_params_are_refused() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    let counter = deploy_wat(&node, 0, 0, chainvm_runtime::embed::EXAMPLE_COUNTER_WAT);
    let other = deploy_wat(&node, 0, 1, chainvm_runtime::embed::EXAMPLE_COUNTER_WAT);
    let incr = |contract: &str, nonce: u64| {
        let contract = chainvm_runtime::Address::from_slice(
            &chainvm_runtime::types::parse_hex(contract).unwrap(),
        );
        let call = Payload::Call {
            contract,
            method: "incr".into(),
            args: vec![],
            value: U256::zero(),
        };
        Transaction::new(CHAIN_ID, nonce, call).sign(&dev_keys()[1])
    };
    node.send(&incr(&counter, 0));
    node.send(&incr(&other, 1));
    let mut ws = Client::connect(&node);
    let ours = ws.subscribe(
        json!(["events", {"from": 0, "contract": counter.to_uppercase().replace("0X", "0x")}]),
    );
    let first = ws.next(&ours);
    assert_eq!(first["contract"], counter.as_str(), "{first}");
    let topic = first["topic"].as_str().unwrap().to_string();
    let by_topic = ws.subscribe(json!(["events", {"from": 0, "topic": topic}]));
    let nothing = ws.subscribe(json!(["events", {"from": 0, "topic": "NoSuchTopic"}]));
    // Both counters' events match the topic, in block order.
    let a = ws.next(&by_topic);
    let b = ws.next(&by_topic);
    assert_eq!(a, first);
    assert_eq!(b["contract"], other.as_str());
    assert!(b["block"].as_u64() > a["block"].as_u64(), "{a} {b}");
    // Live: a new event reaches the contract's subscription, with where it was logged.
    let t = incr(&counter, 2);
    node.send(&t);
    let live = ws.next(&ours);
    assert_eq!(live["tx_hash"], format!("{:?}", t.hash()));
    assert_eq!(live["block"], node.ok("chainvm_blockNumber", Value::Null));
    assert_eq!(live["reverted"], false);
    assert!(
        ws.queued
            .iter()
            .all(|n| n["params"]["subscription"] != nothing),
        "{:?}",
        ws.queued
    );
    for bad in [
        json!({"subscribe": "blocks"}),
        json!(["headers"]),
        json!(["events", {"contract": "0x12"}]),
    ] {
        let answer = ws.call("chainvm_subscribe", bad.clone());
        assert_eq!(answer["error"]["code"], -32602, "{bad}: {answer}");
    }
    node.stop();
}
