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
    nodes: Vec<ConsensusHandle>,
    _homes: Vec<tempfile::TempDir>,
}

async fn mock_network(n: usize) -> Net {
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
        _homes: Vec::new(),
    };
    for (i, key) in keys.into_iter().enumerate() {
        let home = tempfile::tempdir().expect("tempdir");
        let chain = Arc::new(Mutex::new(MockChain::new(key, set.clone())));
        let peers = (0..n).filter(|j| *j != i).map(|j| addr(ports[j])).collect();
        let mut options =
            ConsensusOptions::loopback(home.path().to_path_buf(), addr(ports[i]), peers);
        options.moniker = format!("mock-{}-{i}", ports[0]);
        let node = start(chain.clone(), Box::new(NoTxs), options)
            .await
            .expect("start");
        net.chains.push(chain);
        net.nodes.push(node);
        net._homes.push(home);
    }
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_mock_validators_commit_the_same_blocks() {
    init_logs();
    let net = mock_network(4).await;
    for node in &net.nodes {
        assert!(
            node.wait_for_height(5, Duration::from_secs(60)).await,
            "node stalled at {}",
            node.committed_height()
        );
    }
    let reference: Vec<_> = (1..=5)
        .map(|h| {
            net.chains[0]
                .lock()
                .unwrap()
                .block(h)
                .unwrap()
                .expect("block")
        })
        .collect();
    for chain in &net.chains[1..] {
        for (h, block) in (1..=5).zip(&reference) {
            assert_eq!(
                chain.lock().unwrap().block(h).unwrap().as_ref(),
                Some(block),
                "height {h}"
            );
        }
    }
    for node in net.nodes {
        assert!(node.evidence().is_empty());
        node.stop().await;
    }
}
