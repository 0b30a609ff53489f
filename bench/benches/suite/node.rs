//! The node under load: a real `chainvm node` (the same code the binary serves, on its own
//! threads in this process) producing a block every 50 ms, fed signed transfers over
//! JSON-RPC by concurrent clients on loopback. Reports sustained transactions per second and
//! send-to-inclusion latency (inclusion seen on the WebSocket block stream), next to the
//! same-run ceiling of the signature check the chain uses; checks that every transaction is
//! included exactly once.

use crate::util::{Table, group, note, secs};
use chainvm_node::{self as node, Mode, Settings};
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::production::unix_time;
use chainvm_runtime::signatures::verify_signatures;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Chain, GenesisConfig, Keypair, Payload, Transaction, U256};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 10;
const PER_CLIENT: u64 = 3_000;
const BLOCK_MS: u64 = 50;
const CHAIN_ID: u64 = 1337;

/// What the summary needs.
pub struct NodeNumbers {
    /// Sustained transactions per second divided by the signature ceiling.
    pub vs_sig_ceiling: f64,
}

type Seen = Arc<Mutex<BTreeMap<String, (Instant, u64)>>>;

/// Follows the block stream, recording when each transaction hash was first seen and
/// counting any seen twice.
fn follow_blocks(addr: std::net::SocketAddr, seen: Seen, duplicates: Arc<Mutex<u64>>) {
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}")).expect("websocket");
    let subscribe = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_subscribe", "params": ["blocks", {"from": 1}]});
    ws.send(tungstenite::Message::Text(subscribe.to_string().into()))
        .expect("subscribe");
    std::thread::spawn(move || {
        while let Ok(msg) = ws.read() {
            let Ok(text) = msg.to_text() else { continue };
            let Ok(mut n) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            // The subscription's answer has no block; each notification carries one.
            let b = n
                .pointer_mut("/params/result")
                .map(Value::take)
                .unwrap_or_default();
            let now = Instant::now();
            let height = b["height"].as_u64().unwrap_or(0);
            let mut seen = seen.lock().expect("lock");
            for t in b["transactions"].as_array().into_iter().flatten() {
                let hash = t["hash"].as_str().unwrap_or("").to_string();
                if seen.insert(hash, (now, height)).is_some() {
                    *duplicates.lock().expect("lock") += 1;
                }
            }
        }
    });
}

pub fn run() -> NodeNumbers {
    let dir = tempfile::tempdir().expect("temp dir");
    let validator = Keypair::derive("chainvm bench node validator", 0);
    let genesis = GenesisConfig::dev(CHAIN_ID, &validator, unix_time());
    drop(Chain::init(dir.path(), genesis, &validator).expect("init"));
    let running = node::start(
        dir.path(),
        "127.0.0.1:0",
        Mode::Interval(BLOCK_MS),
        Settings::default(),
    )
    .expect("node starts");
    let addr = running.addr();
    let url = format!("http://{addr}/");
    let seen: Seen = Arc::default();
    let duplicates = Arc::new(Mutex::new(0u64));
    follow_blocks(addr, seen.clone(), duplicates.clone());

    // Signed up front: the load is the node's, not the clients' signing.
    let keys = dev_keys();
    let signed: Vec<Vec<_>> = (0..CLIENTS)
        .map(|c| {
            (0..PER_CLIENT)
                .map(|n| {
                    let payload = Payload::Transfer {
                        to: keys[(c + 1) % CLIENTS].address(),
                        amount: U256::from(1),
                    };
                    Transaction::new(CHAIN_ID, n, payload).sign(&keys[c])
                })
                .collect()
        })
        .collect();
    // The ceiling, in this run: the chain's strict checks on all cores, over 1,000 of these.
    let sample: Vec<_> = signed.iter().flatten().take(1_000).cloned().collect();
    let ceiling_time = crate::util::median(7, || {
        assert!(verify_signatures(&sample).iter().all(|ok| *ok));
    });
    let ceiling = sample.len() as f64 / secs(ceiling_time);
    // Request bodies are built up front too: the clients only send and read answers.
    let requests: Vec<Vec<(String, String)>> = signed
        .iter()
        .map(|c| {
            c.iter()
                .map(|t| {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&t.encode())}});
                    (format!("{:?}", t.hash()), body.to_string())
                })
                .collect()
        })
        .collect();

    let start = Instant::now();
    let sent = crate::util::send_all(&[url], &requests);
    let sending = start.elapsed();
    let total = CLIENTS as u64 * PER_CLIENT;
    let deadline = Instant::now() + Duration::from_secs(300);
    while (seen.lock().expect("lock").len() as u64) < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = seen.lock().expect("lock").clone();
    let mut latency: Vec<f64> = sent
        .iter()
        .filter_map(|(h, t0)| {
            seen.get(h)
                .map(|(t1, _)| secs(t1.duration_since(*t0)) * 1e3)
        })
        .collect();
    latency.sort_by(|a, b| a.total_cmp(b));
    let last = seen.values().map(|(t, _)| *t).max().unwrap_or(start);
    let blocks: BTreeSet<u64> = seen.values().map(|(_, h)| *h).collect();
    let pct = |p: f64| {
        latency
            .get(((latency.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let tps = seen.len() as f64 / secs(last.duration_since(start));
    let duplicated = *duplicates.lock().expect("lock");
    let height = running.stop().expect("node stops");
    let t = Table::new(
        &format!(
            "The node under load: {total} transfers from {CLIENTS} JSON-RPC clients, a block every {BLOCK_MS} ms"
        ),
        &[
            "sent in",
            "included",
            "lost",
            "duplicated",
            "blocks with them",
            "sustained tx/s",
            "p50 send to inclusion",
            "p99",
            "signature ceiling, all cores",
            "vs ceiling",
        ],
    );
    t.row(&[
        format!("{:.2} s", secs(sending)),
        seen.len().to_string(),
        (total as usize - latency.len()).to_string(),
        duplicated.to_string(),
        blocks.len().to_string(),
        group(tps),
        format!("{:.1} ms", pct(0.5)),
        format!("{:.1} ms", pct(0.99)),
        group(ceiling),
        format!("{:.2}x", tps / ceiling),
    ]);
    note(&format!(
        "The node ran in this process on its own threads (the code `chainvm node --block-time {BLOCK_MS}` runs), \
         stopped at height {height}; the clients share the same cores. Sustained tx/s counts from the first send \
         to the block holding the last transaction. The ceiling is `verify_signatures` (strict ed25519, all \
         cores) over 1,000 of the same transactions, median of 7."
    ));
    assert_eq!(
        latency.len() as u64,
        total,
        "every transaction was included"
    );
    assert_eq!(duplicated, 0, "no transaction was included twice");
    NodeNumbers {
        vs_sig_ceiling: tps / ceiling,
    }
}
