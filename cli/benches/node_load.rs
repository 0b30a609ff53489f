//! Load on a real node over loopback: 10,000 signed transfers from 10 concurrent clients
//! against `chainvm node --block-time 50`. Reports sustained transactions per second and the
//! p50/p99 latency from sending a transaction to seeing it in a block (via the WebSocket
//! block stream), and checks that every transaction is included exactly once.
//! Run with `cargo bench -p chainvm --bench node_load`.

use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Payload, Transaction, U256};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 10;
const PER_CLIENT: u64 = 1_000;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let exe = env!("CARGO_BIN_EXE_chainvm");
    assert!(
        Command::new(exe)
            .arg("--home")
            .arg(&home)
            .arg("init")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let mut node = Command::new(exe)
        .arg("--home")
        .arg(&home)
        .args(["node", "--rpc", "127.0.0.1:0", "--block-time", "50"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(node.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let url = format!("http://{addr}/");

    // Inclusion times, from the block stream.
    let included: Arc<Mutex<HashMap<String, (Instant, u64)>>> = Arc::default();
    let duplicates = Arc::new(Mutex::new(0u64));
    {
        let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/ws")).unwrap();
        ws.send(tungstenite::Message::Text(
            json!({"subscribe": "blocks", "from": 1}).to_string().into(),
        ))
        .unwrap();
        let included = included.clone();
        let duplicates = duplicates.clone();
        std::thread::spawn(move || {
            while let Ok(msg) = ws.read() {
                let Ok(text) = msg.to_text() else { continue };
                let Ok(b) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                let now = Instant::now();
                let height = b["height"].as_u64().unwrap_or(0);
                let mut inc = included.lock().unwrap();
                for t in b["transactions"].as_array().into_iter().flatten() {
                    if inc
                        .insert(t["hash"].as_str().unwrap_or("").to_string(), (now, height))
                        .is_some()
                    {
                        *duplicates.lock().unwrap() += 1;
                    }
                }
            }
        });
    }

    // Sign everything up front: the load is the node's, not the clients' signing.
    let keys = dev_keys();
    let txs: Vec<Vec<(String, String)>> = (0..CLIENTS)
        .map(|c| {
            (0..PER_CLIENT)
                .map(|n| {
                    let to = keys[(c + 1) % CLIENTS].address();
                    let payload = Payload::Transfer {
                        to,
                        amount: U256::from(1),
                    };
                    let t = Transaction::new(1337, n, payload).sign(&keys[c]);
                    (format!("{:?}", t.hash()), hex(&t.encode()))
                })
                .collect()
        })
        .collect();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let start = Instant::now();
    std::thread::scope(|s| {
        for client in &txs {
            let url = url.clone();
            let sent = sent.clone();
            s.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                for (hash, raw) in client {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction", "params": {"tx": raw}});
                    let t0 = Instant::now();
                    let mut r = agent.post(&url).send_json(&body).unwrap();
                    let v: Value = r.body_mut().read_json().unwrap();
                    assert!(v.get("error").is_none(), "{v}");
                    sent.lock().unwrap().insert(hash.clone(), t0);
                }
            });
        }
    });
    let sending = start.elapsed();
    let total = CLIENTS as u64 * PER_CLIENT;
    let deadline = Instant::now() + Duration::from_secs(600);
    while (included.lock().unwrap().len() as u64) < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let inc = included.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(h, t0)| {
            inc.get(h)
                .map(|(t1, _)| t1.duration_since(*t0).as_secs_f64() * 1e3)
        })
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let last = inc.values().map(|(t, _)| *t).max().unwrap_or(start);
    let blocks = inc
        .values()
        .map(|(_, h)| *h)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "| transactions | clients | sent in | included | lost | duplicated | blocks | sustained TPS | p50 latency | p99 latency |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {total} | {CLIENTS} | {:.2} s | {} | {} | {} | {blocks} | {:.0} | {:.1} ms | {:.1} ms |",
        sending.as_secs_f64(),
        inc.len(),
        total as usize - lat.len(),
        duplicates.lock().unwrap(),
        inc.len() as f64 / last.duration_since(start).as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
    Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .unwrap();
    let _ = node.wait();
    assert_eq!(lat.len() as u64, total, "every transaction was included");
    assert_eq!(
        *duplicates.lock().unwrap(),
        0,
        "no transaction was included twice"
    );
}
