//! A validator network as processes of the real binary on loopback (issue #17, must-show 5
//! and 8): `chainvm testnet init` homes, each run by `chainvm --home H node`, killed with
//! SIGKILL and restarted on the same home while clients send transfers through the CLI.
//!
//! One test walks the scenarios in turn (one network start-up for all): four validators
//! agree under load; one killed (its WAL tail torn) does not stop the other three and rejoins;
//! two killed stop finality until one returns; a full node started late syncs the whole
//! chain; every acknowledged transfer ends up in every home, and every home verifies.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest wait for anything (a start, a height): a stuck network fails instead of hanging.
const WAIT: Duration = Duration::from_secs(45);
/// Size of the header of a Malachite WAL file, before any entry.
const WAL_HEADER: u64 = 12;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainvm"))
}

/// Runs the CLI to completion.
fn run(args: &[&str]) -> Output {
    bin().args(args).stdin(Stdio::null()).output().unwrap()
}

/// Runs `chainvm --home HOME --json ARGS`, expects success, parses the output.
fn home_json(home: &Path, args: &[&str]) -> Value {
    let out = bin()
        .arg("--home")
        .arg(home)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chainvm --home {} {args:?}: {}",
        home.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `n` consecutive free ports: a base from the pid (below the ephemeral range, so no outgoing
/// connection holds one) plus a counter, skipping blocks with a port in use.
fn port_block(n: u16) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 110) as u16 * 100;
    loop {
        let first = base + NEXT.fetch_add(n, Ordering::Relaxed) % 1_000;
        let free = (first..first + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return first;
        }
    }
}

/// Waits for `cond`, panicking with `what` after `within`.
fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// A JSON-RPC batch; the results in request order, or None if the node did not answer.
fn batch(url: &str, calls: &[(&str, Value)]) -> Option<Vec<Value>> {
    let body: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (m, p))| json!({"jsonrpc": "2.0", "id": i, "method": m, "params": p}))
        .collect();
    let mut resp = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(Value::Array(body).to_string())
        .ok()?;
    let answers: Vec<Value> = resp.body_mut().read_json().ok()?;
    let mut out = vec![Value::Null; calls.len()];
    for a in answers {
        let i = a["id"].as_u64()? as usize;
        assert!(a.get("error").is_none(), "{url}: {a}");
        *out.get_mut(i)? = a["result"].clone();
    }
    Some(out)
}

/// The testnet directory and its running nodes (killed when dropped).
struct Net {
    _dir: tempfile::TempDir,
    homes: Vec<PathBuf>,
    urls: Vec<String>,
    children: Vec<Option<Child>>,
}

impl Net {
    /// `testnet init` of `validators` validators and `full` full nodes (none started).
    fn init(validators: usize, full: usize) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("net");
        let base = port_block(2 * (validators + full) as u16);
        let out = run(&[
            "--json",
            "testnet",
            "init",
            "--dir",
            root.to_str().unwrap(),
            "--validators",
            &validators.to_string(),
            "--full-nodes",
            &full.to_string(),
            "--base-port",
            &base.to_string(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written: Value = serde_json::from_slice(&out.stdout).unwrap();
        let nodes: Vec<&Value> = written["validators"]
            .as_array()
            .unwrap()
            .iter()
            .chain(written["full_nodes"].as_array().unwrap())
            .collect();
        assert_eq!(nodes.len(), validators + full);
        for (i, n) in nodes.iter().enumerate() {
            assert_eq!(n["validator"], json!(i < validators));
        }
        Net {
            homes: nodes
                .iter()
                .map(|n| PathBuf::from(n["home"].as_str().unwrap()))
                .collect(),
            urls: nodes
                .iter()
                .map(|n| n["rpc"].as_str().unwrap().to_string())
                .collect(),
            children: nodes.iter().map(|_| None).collect(),
            _dir: dir,
        }
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.homes[i].join("node.log")
    }

    /// Everything node `i` wrote, over all its runs.
    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// Starts node `i` (output appended to its `node.log`); returns where this run's output
    /// starts in the log.
    fn spawn(&mut self, i: usize) -> usize {
        assert!(self.children[i].is_none(), "node {i} already runs");
        let offset = self.log(i).len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let child = bin()
            .arg("--home")
            .arg(&self.homes[i])
            .arg("node")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
        offset
    }

    /// Waits until the run of node `i` whose output starts at `offset` listens.
    fn wait_listening(&mut self, i: usize, offset: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.log(i);
            if log.get(offset..).is_some_and(|l| l.contains("listening")) {
                return;
            }
            let child = self.children[i].as_mut().unwrap();
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "node {i} exited ({status}) while starting:\n{}",
                    &log[offset..]
                );
            }
            assert!(
                Instant::now() < deadline,
                "node {i} did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts node `i` and waits until it listens; returns where its output starts.
    fn start(&mut self, i: usize) -> usize {
        let offset = self.spawn(i);
        self.wait_listening(i, offset);
        offset
    }

    /// SIGKILL: no shutdown of any kind.
    fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("node running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, and a clean exit within the wait.
    fn stop(&mut self, i: usize) {
        let Some(mut child) = self.children[i].take() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("node {i} did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "node {i} exit: {status}");
    }

    /// Node `i`'s committed height, if it answers.
    fn height(&self, i: usize) -> Option<u64> {
        batch(&self.urls[i], &[("chainvm_blockNumber", json!({}))])?[0].as_u64()
    }

    /// The highest height any of `nodes` reports.
    fn top(&self, nodes: &[usize]) -> u64 {
        nodes
            .iter()
            .filter_map(|&i| self.height(i))
            .max()
            .unwrap_or(0)
    }

    /// Waits until every one of `nodes` has committed `height`.
    fn wait_height(&self, nodes: &[usize], height: u64) {
        for &i in nodes {
            wait_until(
                &format!(
                    "node {i} at height {height} (it is at {:?})",
                    self.height(i)
                ),
                WAIT,
                || self.height(i).is_some_and(|h| h >= height),
            );
        }
    }

    fn wal(&self, i: usize) -> PathBuf {
        self.homes[i].join("wal").join("consensus.wal")
    }

    /// SIGKILLs validator `i` at a moment its WAL holds entries of the current height, and
    /// tears the last one (cuts its last 3 bytes, as a crash in mid-write leaves it). Tries
    /// again (restart, kill) when the height moved on between the look and the kill.
    fn kill_and_tear_wal(&mut self, i: usize) -> u64 {
        for _ in 0..5 {
            let wal = self.wal(i);
            let len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
            wait_until("a WAL entry", WAIT, || len() > WAL_HEADER);
            self.kill(i);
            let size = len();
            if size > WAL_HEADER {
                let file = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
                file.set_len(size - 3).unwrap();
                return size;
            }
            self.start(i);
        }
        panic!("validator {i}'s WAL was empty at every kill");
    }
}

impl Drop for Net {
    /// A failing test leaves no node running, and shows the end of every node's log.
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for (i, home) in self.homes.iter().enumerate() {
                let log = self.log(i);
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(25)..].join("\n");
                eprintln!("--- {} (last lines)\n{tail}", home.display());
            }
        }
    }
}

/// A transfer acknowledged by its receipt: the hash, and the block the receipt named (`None`
/// when the node died before the CLI could look it up).
type Acked = (String, Option<u64>);

/// Clients sending transfers through `chainvm --node URL transfer` (each waits for its
/// receipt), one per dev account, each turning to the next validator after every transfer.
/// Acknowledged transfers are kept as (hash, block).
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(urls: &[String], senders: &[usize]) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let threads = senders
            .iter()
            .map(|&from| {
                let (stop, acked, urls) = (stop.clone(), acked.clone(), urls.to_vec());
                std::thread::spawn(move || {
                    let from = from.to_string();
                    let mut n = from.len();
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let url = &urls[n % urls.len()];
                        let out = run(&[
                            "--node", url, "--json", "transfer", "9", "1", "--from", &from,
                        ]);
                        let receipt: Option<Value> = out
                            .status
                            .success()
                            .then(|| serde_json::from_slice(&out.stdout).ok())
                            .flatten();
                        match receipt {
                            Some(r) => {
                                assert_eq!(r["status"], "success", "{r}");
                                let hash = r["tx_hash"].as_str().unwrap().to_string();
                                // The block is looked up after the receipt: if the node
                                // was killed in between it is unknown (`null`), but the
                                // transfer was acknowledged all the same.
                                let block = r["block"].as_u64();
                                acked.lock().unwrap().push((hash, block));
                            }
                            // A node down (or killed while the client waited): next one.
                            None => std::thread::sleep(Duration::from_millis(50)),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acked,
            threads,
        }
    }

    fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Stops the clients and returns every acknowledged transfer.
    fn finish(mut self) -> Vec<Acked> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            t.join().expect("a client panicked");
        }
        self.acked.lock().unwrap().clone()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Blocks `1..=upto` as node `i` serves them, without the commit certificate (each node
/// keeps the precommits it collected, which may differ): header fields, hashes, state root,
/// every transaction and receipt.
fn blocks(net: &Net, i: usize, upto: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let heights: Vec<u64> = (1..=upto).collect();
    for chunk in heights.chunks(50) {
        let calls: Vec<(&str, Value)> = chunk
            .iter()
            .map(|h| ("chainvm_getBlockByNumber", json!({"height": h})))
            .collect();
        for mut b in batch(&net.urls[i], &calls).expect("node answers") {
            assert!(!b.is_null(), "node {i} lacks a block up to {upto}");
            assert!(
                !b["certificate_raw"].is_null(),
                "node {i}: block without certificate"
            );
            b.as_object_mut().unwrap().remove("certificate_raw");
            out.push(b);
        }
    }
    out
}

/// Runs `f` on every item, each on a thread of its own (the calls are CLI processes that
/// mostly wait on disk).
fn par_each<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    std::thread::scope(|s| {
        for item in items {
            s.spawn(|| f(item));
        }
    });
}

#[test]
fn validators_survive_kills_rejoin_and_a_late_full_node_syncs_the_chain() {
    let began = Instant::now();
    let mut net = Net::init(4, 1);
    let (validators, full) = ([0, 1, 2, 3], 4);
    let offsets: Vec<usize> = validators.iter().map(|&i| net.spawn(i)).collect();
    for (&i, offset) in validators.iter().zip(offsets) {
        net.wait_listening(i, offset);
    }
    let load = Load::start(&net.urls[..4], &[1, 2, 3]);

    // (a) Four equal validators finalize under the stream of transfers.
    net.wait_height(&validators, 6);
    wait_until("transfers acknowledged", WAIT, || load.count() >= 5);

    // (b) One validator killed (SIGKILL) with its WAL tail torn: the other three go on.
    let wal_size = net.kill_and_tear_wal(3);
    let h = net.top(&[0, 1, 2]);
    net.wait_height(&[0, 1, 2], h + 4);
    let offset = net.start(3);
    let h = net.top(&[0, 1, 2]);
    // It replays what is left of its WAL, syncs the blocks it missed, and votes again.
    net.wait_height(&[3], h + 2);
    let run = net.log(3)[offset..].to_string();
    assert!(
        run.contains("consensus WAL: dropped a torn last entry"),
        "no WAL line after tearing a {wal_size}-byte WAL:\n{run}"
    );
    assert!(!run.contains("panicked"), "{run}");

    // (c) Two of four down: no block is finalized.
    net.kill(1);
    net.kill(2);
    std::thread::sleep(Duration::from_secs(1));
    let stuck = net.top(&[0, 3]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        net.top(&[0, 3]),
        stuck,
        "a block finalized with half the power"
    );
    // One returns: three of four again, the chain resumes; then the other returns too.
    net.start(1);
    net.wait_height(&[0, 1, 3], stuck + 3);
    net.start(2);
    net.wait_height(&[2], net.top(&[0, 1, 3]));

    // (d) A full node started from genesis after the fact syncs the whole chain (more than
    // one sync batch of 32 blocks) and follows.
    // Its WAL is left as a crash while the file was being created leaves it (a part of the
    // 12-byte header): the node starts on a new WAL.
    net.wait_height(&validators, 40);
    assert_eq!(net.height(full), None);
    std::fs::create_dir_all(net.wal(full).parent().unwrap()).unwrap();
    std::fs::write(net.wal(full), [0, 0, 0, 1, 0]).unwrap();
    let offset = net.start(full);
    net.wait_height(&[full], net.top(&validators) + 2);
    assert!(net.log(full)[offset..].contains("consensus WAL: torn header"));

    let acked = load.finish();
    assert!(
        acked.len() >= 10,
        "only {} transfers acknowledged",
        acked.len()
    );

    // Every node at one height with the same blocks (hashes, state roots, receipts).
    let common = net.top(&validators) + 2;
    net.wait_height(&[0, 1, 2, 3, full], common);
    let reference = blocks(&net, 0, common);
    for i in 1..=full {
        let other = blocks(&net, i, common);
        for (a, b) in reference.iter().zip(&other) {
            assert_eq!(a, b, "node {i} differs from node 0");
        }
    }
    // The full node never proposed (nor, with no signer, voted).
    assert!(!net.log(full).contains("proposing"));

    for i in 0..=full {
        net.stop(i);
    }

    // (e) and the homes themselves: every home verifies (blocks, certificates, re-execution),
    // holds the same block at the common height, and holds every acknowledged transfer in
    // the block its node named.
    let top_hash = &reference[common as usize - 1]["hash"];
    par_each(&net.homes, |home| {
        let out = bin()
            .arg("--home")
            .arg(home)
            .arg("verify")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "verify {}: {}",
            home.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let b = home_json(home, &["block", &common.to_string()]);
        assert_eq!(&b["hash"], top_hash, "{}", home.display());
    });
    // One client per home at a time: a CLI process holds the home's store exclusively.
    par_each(&net.homes, |home| {
        for (hash, block) in &acked {
            let t = home_json(home, &["tx", hash]);
            match block {
                Some(block) => assert_eq!(t["block"], json!(block), "{hash} in {}", home.display()),
                None => assert!(t["block"].is_u64(), "{hash} not in {}", home.display()),
            }
        }
    });
    eprintln!(
        "network processes test: {} transfers acknowledged, common height {common}, {:.1?}",
        acked.len(),
        began.elapsed()
    );
}
