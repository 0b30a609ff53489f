//! In-process validator networks on loopback: 4 Malachite engines, each over its own chain and
//! home, must commit the same blocks.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chainvm_node::consensus::placeholder::MockChain;
use chainvm_node::consensus::placeholder::valset::{SetMember, ValidatorSet};
use chainvm_node::consensus::{ConsensusHandle, ConsensusOptions, NoTxs, start};
use chainvm_runtime::Keypair;

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

fn addr(port: u16) -> chainvm_node::consensus::Multiaddr {
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

struct Net {
    chains: Vec<Arc<Mutex<MockChain>>>,
    nodes: Vec<Option<ConsensusHandle>>,
    options: Vec<ConsensusOptions>,
    _homes: Vec<tempfile::TempDir>,
}

impl Net {
    fn node(&self, i: usize) -> &ConsensusHandle {
        self.nodes[i].as_ref().expect("node running")
    }

    async fn restart(&mut self, i: usize) {
        let node = start(
            self.chains[i].clone(),
            Box::new(NoTxs),
            self.options[i].clone(),
        )
        .await
        .expect("restart");
        self.nodes[i] = Some(node);
    }

    async fn stop_all(&mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            node.stop().await;
        }
    }

    fn assert_same_blocks(&self, upto: u64) {
        for h in 1..=upto {
            let reference = self.chains[0]
                .lock()
                .unwrap()
                .block(h)
                .unwrap()
                .expect("block");
            for chain in &self.chains[1..] {
                assert_eq!(
                    chain.lock().unwrap().block(h).unwrap().as_ref(),
                    Some(&reference),
                    "height {h}"
                );
            }
        }
    }
}

async fn mock_network(n: usize, equivocating: Option<usize>) -> Net {
    let keys: Vec<Keypair> = (0..n)
        .map(|i| Keypair::derive("network-test", i as u32))
        .collect();
    let mut members: Vec<SetMember> = keys
        .iter()
        .map(|k| SetMember {
            address: k.address(),
            public_key: k.public(),
            power: 10,
        })
        .collect();
    members.sort_by_key(|m| m.address);
    let set = ValidatorSet { members };
    let ports: Vec<u16> = (0..n).map(|_| next_port()).collect();
    let mut net = Net {
        chains: Vec::new(),
        nodes: Vec::new(),
        options: Vec::new(),
        _homes: Vec::new(),
    };
    for (i, key) in keys.into_iter().enumerate() {
        let home = tempfile::tempdir().expect("tempdir");
        let chain = Arc::new(Mutex::new(MockChain::new(key, set.clone())));
        let peers = (0..n).filter(|j| *j != i).map(|j| addr(ports[j])).collect();
        let mut options =
            ConsensusOptions::loopback(home.path().to_path_buf(), addr(ports[i]), peers);
        options.moniker = format!("mock-{}-{i}", ports[0]);
        options.equivocate = equivocating == Some(i);
        let node = start(chain.clone(), Box::new(NoTxs), options.clone())
            .await
            .expect("start");
        net.chains.push(chain);
        net.nodes.push(Some(node));
        net.options.push(options);
        net._homes.push(home);
    }
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_mock_validators_commit_the_same_blocks() {
    init_logs();
    let mut net = mock_network(4, None).await;
    for i in 0..4 {
        let node = net.node(i);
        assert!(
            node.wait_for_height(5, Duration::from_secs(60)).await,
            "node {i} stalled at {}",
            node.committed_height()
        );
    }
    net.assert_same_blocks(5);
    for i in 0..4 {
        assert!(net.node(i).evidence().is_empty());
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_validator_restarts_from_its_home_and_catches_up() {
    init_logs();
    let mut net = mock_network(4, None).await;
    assert!(
        net.node(3)
            .wait_for_height(2, Duration::from_secs(60))
            .await
    );
    let stopped = net.nodes[3].take().expect("running");
    stopped.stop().await;
    let at_stop = net.chains[3].lock().unwrap().latest_height();
    // Three of four (3/4 of the power > 2/3) keep committing.
    let target = at_stop + 5;
    for i in 0..3 {
        assert!(
            net.node(i)
                .wait_for_height(target, Duration::from_secs(60))
                .await,
            "node {i} stalled"
        );
    }
    assert!(net.chains[3].lock().unwrap().latest_height() <= at_stop + 1);
    // Back from the same home (WAL) and chain: value sync brings it to the others' tip.
    net.restart(3).await;
    let goal = net.node(0).committed_height() + 2;
    assert!(
        net.node(3)
            .wait_for_height(goal, Duration::from_secs(60))
            .await,
        "restarted node stuck at {}",
        net.node(3).committed_height()
    );
    for i in 0..3 {
        assert!(
            net.node(i)
                .wait_for_height(goal, Duration::from_secs(60))
                .await
        );
    }
    net.assert_same_blocks(goal);
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_equivocating_validator_is_reported_and_the_others_go_on() {
    init_logs();
    let mut net = mock_network(4, Some(2)).await;
    for i in 0..4 {
        assert!(
            net.node(i)
                .wait_for_height(5, Duration::from_secs(60))
                .await,
            "node {i} stalled"
        );
    }
    net.assert_same_blocks(5);
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
    assert!(
        net.node(2).evidence().is_empty(),
        "the culprit does not see its own double votes"
    );
    net.stop_all().await;
}
