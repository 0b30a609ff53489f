//! A validator network under load: four validators on loopback (the code `chainvm node`
//! runs for a `testnet init` home, on their own threads in this process, consensus over
//! libp2p TCP), against the single validator of a dev chain in the same run, each fed the
//! same 10,000 signed transfers over JSON-RPC by 10 clients. Reports finality latency (sent to
//! decided: the transaction's block seen on a node's block stream; the single validator's
//! blocks are final when produced) p50/p99 and sustained tx/s; then the same with one of the
//! four validators stopped (down for the whole load).

use crate::util::{Table, group, note, secs};
use chainvm_node::{self as node, Mode, Settings};
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::production::unix_time;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Chain, GenesisConfig, Keypair, Payload, Transaction, U256};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 10;
const PER_CLIENT: u64 = 1_000;
const BLOCK_MS: u64 = 50;
/// Transfers sent one at a time to measure latency without queueing.
const LIGHT: u64 = 200;

/// What the summary needs.
pub struct NetworkNumbers {
    /// Four validators' sustained tx/s over the single validator's.
    pub four_vs_one: f64,
    /// p50 finality latency of the four validators, one transaction at a time, in ms.
    pub p50_ms: f64,
}

/// One load's outcome.
struct Load {
    tps: f64,
    p50: f64,
    p99: f64,
    included: usize,
    sent: usize,
}

type Seen = Arc<Mutex<BTreeMap<String, Instant>>>;

/// Follows `addr`'s block stream, recording when each transaction was first seen.
fn follow(addr: std::net::SocketAddr, seen: Seen) {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}")).expect("websocket");
    let subscribe = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_subscribe", "params": ["blocks", {"from": 1}]});
    ws.send(tungstenite::Message::Text(subscribe.to_string().into()))
        .expect("subscribe");
    std::thread::spawn(move || {
        while let Ok(msg) = ws.read() {
            let Ok(text) = msg.to_text() else { continue };
            let Ok(n) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let now = Instant::now();
            let mut seen = seen.lock().expect("lock");
            for t in n
                .pointer("/params/result/transactions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let hash = t["hash"].as_str().unwrap_or("").to_string();
                seen.entry(hash).or_insert(now);
            }
        }
    });
}

/// The transfers, signed up front, as request bodies per client with their hashes; client
/// nonces start at `first_nonce`, the last client's `shift` later (its key also sends the
/// one-at-a-time transfers).
fn requests(chain_id: u64, first_nonce: u64, shift: u64) -> Vec<Vec<(String, String)>> {
    let keys = dev_keys();
    (0..CLIENTS)
        .map(|c| {
            let first_nonce = if c == CLIENTS - 1 {
                first_nonce + shift
            } else {
                first_nonce
            };
            (0..PER_CLIENT)
                .map(|n| {
                    let payload = Payload::Transfer {
                        to: keys[(c + 1) % CLIENTS].address(),
                        amount: U256::from(1),
                    };
                    let t = Transaction::new(chain_id, first_nonce + n, payload).sign(&keys[c]);
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&t.encode())}});
                    (format!("{:?}", t.hash()), body.to_string())
                })
                .collect()
        })
        .collect()
}

/// One client sends `n` transfers to `url` one at a time, each after the previous one was
/// decided: finality latency without queueing. Returns (p50, p99) in ms.
fn one_by_one(url: &str, chain_id: u64, first_nonce: u64, n: u64, seen: &Seen) -> (f64, f64) {
    let key = &dev_keys()[CLIENTS - 1];
    let agent = crate::util::rpc_agent();
    let mut latency = Vec::new();
    for i in 0..n {
        let payload = Payload::Transfer {
            to: dev_keys()[0].address(),
            amount: U256::from(1),
        };
        let t = Transaction::new(chain_id, first_nonce + i, payload).sign(key);
        let hash = format!("{:?}", t.hash());
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&t.encode())}});
        let t0 = Instant::now();
        crate::util::post_ok(&agent, url, &body.to_string());
        let deadline = t0 + Duration::from_secs(30);
        let t1 = loop {
            if let Some(t1) = seen.lock().expect("lock").get(&hash) {
                break *t1;
            }
            assert!(Instant::now() < deadline, "transaction {hash} not decided");
            std::thread::sleep(Duration::from_micros(200));
        };
        latency.push(secs(t1.duration_since(t0)) * 1e3);
    }
    latency.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latency[((latency.len() as f64 - 1.0) * p) as usize];
    (pct(0.5), pct(0.99))
}

/// Sends every client's requests to `urls[client % len]` and waits until `seen` holds them
/// all (or 120 s pass).
fn load(urls: &[String], requests: &[Vec<(String, String)>], seen: &Seen) -> Load {
    let start = Instant::now();
    let sent = crate::util::send_all(urls, requests);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = {
            let seen = seen.lock().expect("lock");
            sent.keys().all(|h| seen.contains_key(h))
        };
        if done || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = seen.lock().expect("lock").clone();
    let mut latency: Vec<f64> = sent
        .iter()
        .filter_map(|(h, t0)| seen.get(h).map(|t1| secs(t1.duration_since(*t0)) * 1e3))
        .collect();
    latency.sort_by(|a, b| a.total_cmp(b));
    let last = sent
        .keys()
        .filter_map(|h| seen.get(h))
        .max()
        .copied()
        .unwrap_or(start);
    let pct = |p: f64| {
        latency
            .get(((latency.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Load {
        tps: latency.len() as f64 / secs(last.duration_since(start)),
        p50: pct(0.5),
        p99: pct(0.99),
        included: latency.len(),
        sent: sent.len(),
    }
}

fn row(t: &Table, what: &str, l: &Load) {
    t.row(&[
        what.to_string(),
        format!("{} / {}", l.included, l.sent),
        group(l.tps),
        format!("{:.1} ms", l.p50),
        format!("{:.1} ms", l.p99),
    ]);
}

pub fn run() -> NetworkNumbers {
    // The single validator: a dev chain producing a block every BLOCK_MS.
    let dir = tempfile::tempdir().expect("temp dir");
    let validator = Keypair::derive("chainvm bench network single", 0);
    let genesis = GenesisConfig::dev(1337, &validator, unix_time());
    drop(Chain::init(dir.path(), genesis, &validator).expect("init"));
    let single = node::start(
        dir.path(),
        "127.0.0.1:0",
        Mode::Interval(BLOCK_MS),
        Settings::default(),
    )
    .expect("single node starts");
    let seen: Seen = Arc::default();
    follow(single.addr(), seen.clone());
    let single_url = format!("http://{}/", single.addr());
    let one_light = one_by_one(&single_url, 1337, 0, LIGHT, &seen);
    let one = load(&[single_url], &requests(1337, 0, LIGHT), &seen);
    single.stop().expect("single node stops");

    // Four validators from `testnet init` homes.
    let net = tempfile::tempdir().expect("temp dir");
    let base = 27_000 + (std::process::id() % 500) as u16 * 8;
    let homes = chainvm_node::testnet::init(&net.path().join("t"), 1337, &[100; 4], 0, base)
        .expect("testnet");
    let mut nodes: Vec<_> = homes
        .iter()
        .map(|h| node::start_home(&h.home, None, Settings::default()).expect("validator starts"))
        .collect();
    let urls: Vec<String> = nodes
        .iter()
        .map(|n| format!("http://{}/", n.addr()))
        .collect();
    let seen: Seen = Arc::default();
    follow(nodes[0].addr(), seen.clone());
    let four_light = one_by_one(&urls[1], 1337, 0, LIGHT, &seen);
    let four = load(&urls, &requests(1337, 0, LIGHT), &seen);
    // One validator down for the whole second load.
    let down = nodes.pop().expect("four nodes");
    down.stop().expect("validator stops");
    let three = load(&urls[..3], &requests(1337, PER_CLIENT, LIGHT), &seen);
    let three_light = one_by_one(&urls[1], 1337, 2 * PER_CLIENT + LIGHT, LIGHT, &seen);
    for n in nodes {
        n.stop().expect("validator stops");
    }

    let total = CLIENTS as u64 * PER_CLIENT;
    let t = Table::new(
        &format!(
            "Finality under load: {total} transfers from {CLIENTS} JSON-RPC clients, sent to decided"
        ),
        &["chain", "decided / sent", "sustained tx/s", "p50", "p99"],
    );
    row(
        &t,
        &format!("1 validator (block every {BLOCK_MS} ms)"),
        &one,
    );
    row(&t, "4 validators (Tendermint, loopback)", &four);
    row(&t, "4 validators, 1 stopped", &three);
    let t = Table::new(
        &format!(
            "Finality one transaction at a time: {LIGHT} transfers, each sent after the previous one was decided"
        ),
        &["chain", "p50", "p99"],
    );
    for (what, (p50, p99)) in [
        ("1 validator (block every 50 ms)", one_light),
        ("4 validators", four_light),
        ("4 validators, 1 stopped", three_light),
    ] {
        t.row(&[
            what.to_string(),
            format!("{p50:.1} ms"),
            format!("{p99:.1} ms"),
        ]);
    }
    let ratio = four.tps / one.tps;
    note(&format!(
        "All nodes ran in this process on their own threads, with the clients, on the same cores. \
         Latency: send of the transaction to its block on node 0's (or the single node's) block stream; \
         a block is there only once decided (committed with its certificate). Clients send to the \
         validators in turn. 4 validators vs 1: {ratio:.2}x tx/s."
    ));
    assert_eq!(four.included, four.sent, "every transaction was decided");
    assert_eq!(
        three.included, three.sent,
        "every transaction was decided with one down"
    );
    NetworkNumbers {
        four_vs_one: ratio,
        p50_ms: four_light.0,
    }
}
