//! Timing, tables and shared fixtures for the suite.

use chainvm_runtime::Keypair;
use std::time::{Duration, Instant};

/// Median of `runs` timings of `f`.
pub fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

/// Seconds of `d` as f64.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// `n` per second over `d`, formatted with thousands separators.
pub fn rate(n: f64, d: Duration) -> String {
    group(n / secs(d))
}

/// A number with thousands separators and no decimals (or 2 significant decimals below 100).
pub fn group(x: f64) -> String {
    if x.abs() < 100.0 {
        return format!("{x:.2}");
    }
    let s = format!("{:.0}", x);
    let (sign, digits) = s.split_at(if s.starts_with('-') { 1 } else { 0 });
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// Microseconds, 2 decimals.
pub fn us(d: Duration) -> String {
    format!("{:.2} µs", secs(d) * 1e6)
}

/// Milliseconds, 2 decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", secs(d) * 1e3)
}

/// A markdown table printed row by row as results arrive.
pub struct Table;

impl Table {
    /// Prints a section title and the header row.
    pub fn new(title: &str, header: &[&str]) -> Table {
        println!("\n### {title}\n");
        println!("| {} |", header.join(" | "));
        println!("|{}", "---|".repeat(header.len()));
        Table
    }

    /// Prints one row.
    pub fn row(&self, cells: &[String]) {
        println!("| {} |", cells.join(" | "));
    }
}

/// A note under a table.
pub fn note(text: &str) {
    println!("\n{text}");
}

/// `n` deterministic keys for benchmark accounts.
pub fn keys(n: u32) -> Vec<Keypair> {
    (0..n)
        .map(|i| Keypair::derive("chainvm bench", i))
        .collect()
}

/// The CPU model and core count, for the report header.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(String::new(), |kb| format!(", {} GiB RAM", kb >> 20));
    format!("{model}, {cores} cores{mem}, {}", std::env::consts::ARCH)
}

/// An HTTP client for JSON-RPC load (non-2xx answers are read, not errors).
pub fn rpc_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Posts one JSON-RPC `body` to `url` and asserts the answer is not an error.
pub fn post_ok(agent: &ureq::Agent, url: &str, body: &str) {
    let mut r = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .expect("send");
    let v: serde_json::Value = r.body_mut().read_json().expect("json answer");
    assert!(v.get("error").is_none(), "{v}");
}

/// Sends each client's `(hash, body)` requests, one client per thread, client `c` to
/// `urls[c % urls.len()]`; returns when each transaction was sent.
pub fn send_all(
    urls: &[String],
    requests: &[Vec<(String, String)>],
) -> std::collections::BTreeMap<String, Instant> {
    let sent = std::sync::Mutex::new(std::collections::BTreeMap::new());
    std::thread::scope(|s| {
        for (c, client) in requests.iter().enumerate() {
            let (url, sent) = (&urls[c % urls.len()], &sent);
            s.spawn(move || {
                let agent = rpc_agent();
                for (hash, body) in client {
                    let t0 = Instant::now();
                    post_ok(&agent, url, body);
                    sent.lock().expect("lock").insert(hash.clone(), t0);
                }
            });
        }
    });
    sent.into_inner().expect("lock")
}
