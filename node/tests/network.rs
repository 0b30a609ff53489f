//! In-process validator networks on loopback: 4 Malachite engines, each over its own
//! `chainvm_runtime::Chain` in its own home, all from one genesis with the 4 validators, must
//! commit the same blocks (hashes and state roots) under certificates the chain verifies.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chainvm_node::consensus::{ConsensusHandle, ConsensusOptions, Multiaddr, TxSource, start};
use chainvm_runtime::{
    Chain, GenesisConfig, Keypair, Payload, ProposedBlock, SignedTransaction, Transaction, U256,
};

const WAIT: Duration = Duration::from_secs(60);

/// Ports: a per-process base (from the pid) plus a counter, skipping ports in use, so
/// parallel tests and test binaries never collide.
fn next_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 400) as u16 * 100;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 100;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn addr(port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}")
        .parse()
        .expect("multiaddr")
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A mempool shared by the validators (as if gossiped): every proposer offers what is still
/// pending, and each commit removes the block's transactions.
#[derive(Clone, Default)]
struct SharedPool(Arc<Mutex<Vec<SignedTransaction>>>);

impl SharedPool {
    fn len(&self) -> usize {
        self.0.lock().expect("pool").len()
    }
}

impl TxSource for SharedPool {
    fn next_batch(&mut self) -> Vec<SignedTransaction> {
        self.0.lock().expect("pool").clone()
    }

    fn committed(&mut self, block: &ProposedBlock) {
        self.0
            .lock()
            .expect("pool")
            .retain(|t| !block.txs.contains(t));
    }
}

struct Net {
    pool: SharedPool,
    chains: Vec<Option<Arc<Mutex<Chain>>>>,
    nodes: Vec<Option<ConsensusHandle>>,
    options: Vec<ConsensusOptions>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Net {
    /// Validators `0..n` on one genesis, each its own home; `equivocating` double-signs.
    async fn start(n: usize, equivocating: Option<usize>) -> Net {
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::derive("network-test", i as u32))
            .collect();
        let bonds: Vec<([u8; 32], U256)> =
            keys.iter().map(|k| (k.public(), U256::exp10(24))).collect();
        let genesis = GenesisConfig::testnet(7, &bonds, 1_700_000_000);
        let ports: Vec<u16> = (0..n).map(|_| next_port()).collect();
        let mut net = Net {
            pool: SharedPool::default(),
            chains: Vec::new(),
            nodes: Vec::new(),
            options: Vec::new(),
            _dirs: Vec::new(),
        };
        for (i, key) in keys.iter().enumerate() {
            let dir = tempfile::tempdir().expect("tempdir");
            let home = dir.path().join("home");
            let chain = Chain::init(&home, genesis.clone(), key).expect("init");
            let peers = (0..n).filter(|j| *j != i).map(|j| addr(ports[j])).collect();
            let mut options = ConsensusOptions::loopback(home, addr(ports[i]), peers);
            options.moniker = format!("v{i}-{}", ports[0]);
            options.equivocate = (equivocating == Some(i)).then_some(1..=u64::MAX);
            net.chains.push(Some(Arc::new(Mutex::new(chain))));
            net.nodes.push(None);
            net.options.push(options);
            net._dirs.push(dir);
        }
        for i in 0..n {
            net.launch(i).await;
        }
        net
    }

    async fn launch(&mut self, i: usize) {
        let chain = self.chains[i].clone().expect("chain open");
        let node = start(chain, Box::new(self.pool.clone()), self.options[i].clone())
            .await
            .expect("start");
        self.nodes[i] = Some(node);
    }

    fn node(&self, i: usize) -> &ConsensusHandle {
        self.nodes[i].as_ref().expect("node running")
    }

    fn home(&self, i: usize) -> PathBuf {
        self.options[i].home.clone()
    }

    fn with_chain<R>(&self, i: usize, f: impl FnOnce(&Chain) -> R) -> R {
        let chain = self.chains[i].as_ref().expect("chain open");
        f(&chain.lock().expect("chain lock"))
    }

    async fn wait_all(&self, nodes: &[usize], height: u64) {
        for &i in nodes {
            let node = self.node(i);
            assert!(
                node.wait_for_height(height, WAIT).await,
                "node {i} stalled at {}",
                node.committed_height()
            );
        }
    }

    /// Stops node `i` and closes its chain (the process dies, its home stays).
    async fn crash(&mut self, i: usize) {
        let node = self.nodes[i].take().expect("running");
        node.stop().await;
        let mut chain = self.chains[i].take().expect("open");
        // The loop's last ledger call may still hold a reference for a moment.
        for _ in 0..500 {
            match Arc::try_unwrap(chain) {
                Ok(c) => {
                    drop(c);
                    return;
                }
                Err(back) => chain = back,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("node {i}'s chain is still in use after stop");
    }

    /// Opens node `i`'s chain from its home and starts it again.
    async fn reopen(&mut self, i: usize) {
        let chain = Chain::open(&self.home(i)).expect("reopen");
        self.chains[i] = Some(Arc::new(Mutex::new(chain)));
        self.launch(i).await;
    }

    /// Every node's blocks 1..=upto have the same hash and state root and a stored
    /// certificate, and each node's whole chain verifies (re-executed from genesis, every
    /// certificate checked against the validator set its state records for the height).
    fn assert_same_chain(&self, nodes: &[usize], upto: u64) {
        let header =
            |i: usize, h: u64| self.with_chain(i, |c| c.header(h).expect("read").expect("header"));
        for h in 1..=upto {
            let reference = header(nodes[0], h).header;
            for &i in nodes {
                let ours = header(i, h).header;
                assert_eq!(ours.hash(), reference.hash(), "node {i} height {h}");
                assert_eq!(ours.state_root, reference.state_root, "node {i} height {h}");
                let cert = self.with_chain(i, |c| c.certificate(h).expect("read"));
                assert_eq!(cert.map(|c| c.block_hash), Some(reference.hash()));
            }
        }
        for &i in nodes {
            let report = self.with_chain(i, |c| c.verify()).expect("chain verifies");
            assert!(
                report.blocks > upto,
                "node {i} verified {} blocks",
                report.blocks
            );
        }
    }

    async fn stop_all(&mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            node.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_commit_the_same_blocks_and_state() {
    init_logs();
    let mut net = Net::start(4, None).await;
    net.wait_all(&[0, 1, 2, 3], 5).await;
    net.assert_same_chain(&[0, 1, 2, 3], 5);
    // Proposers rotate: blocks 1..=5 are not all from one validator.
    let proposers: std::collections::BTreeSet<_> = (1..=5)
        .map(|h| net.with_chain(0, |c| c.header(h).unwrap().unwrap().header.proposer))
        .collect();
    assert!(proposers.len() > 1, "one proposer for every block");
    for i in 0..4 {
        assert!(net.node(i).evidence().is_empty());
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_validator_reopens_its_home_and_catches_up() {
    init_logs();
    let mut net = Net::start(4, None).await;
    net.wait_all(&[3], 2).await;
    net.crash(3).await;
    // Three of four (3/4 of the power > 2/3) keep committing.
    let at_crash = net.node(0).committed_height();
    net.wait_all(&[0, 1, 2], at_crash + 4).await;
    // Back from its home (chain store and consensus WAL): value sync brings it to the tip.
    net.reopen(3).await;
    let goal = net.node(0).committed_height() + 2;
    net.wait_all(&[0, 1, 2, 3], goal).await;
    net.assert_same_chain(&[0, 1, 2, 3], goal);
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_equivocating_validator_is_reported_and_the_others_go_on() {
    init_logs();
    let mut net = Net::start(4, Some(2)).await;
    net.wait_all(&[0, 1, 2, 3], 5).await;
    net.assert_same_chain(&[0, 1, 2, 3], 5);
    let culprit = net.node(2).address().0;
    let mut reported = 0;
    for i in [0, 1, 3] {
        let evidence = net.node(i).evidence();
        assert!(
            evidence.iter().all(|e| e.validator == culprit),
            "{evidence:?}"
        );
        for e in &evidence {
            assert_ne!(e.votes[0].block, e.votes[1].block);
        }
        reported += evidence.len();
    }
    assert!(reported > 0, "no honest node reported the double votes");
    assert!(net.node(2).evidence().is_empty());
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_reach_every_validator_the_same_way() {
    init_logs();
    let sender = &chainvm_runtime::genesis::dev_keys()[0];
    let to = Keypair::derive("network-test-recipient", 0).address();
    let amount = U256::exp10(18);
    let txs: Vec<SignedTransaction> = (0..12)
        .map(|nonce| Transaction::new(7, nonce, Payload::Transfer { to, amount }).sign(sender))
        .collect();
    let mut net = Net::start(4, None).await;
    net.pool.0.lock().expect("pool").extend(txs);
    let deadline = tokio::time::Instant::now() + WAIT;
    while net.pool.len() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} transactions left",
            net.pool.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let goal = net.node(0).committed_height() + 1;
    net.wait_all(&[0, 1, 2, 3], goal).await;
    net.assert_same_chain(&[0, 1, 2, 3], goal);
    let included: usize = (1..=goal)
        .map(|h| net.with_chain(0, |c| c.block(h).unwrap().unwrap().txs.len()))
        .sum();
    assert_eq!(included, 12);
    for i in 0..4 {
        let balance = net.with_chain(i, |c| c.account(&to).expect("account").balance);
        assert_eq!(balance, amount * 12, "node {i}");
    }
    net.stop_all().await;
}
