//! A network's node homes: the network file each home holds (`network.json`: its RPC and P2P
//! addresses and its peers), and `chainvm testnet init`, which writes N validator homes (and
//! M full-node homes) that share one genesis.
//!
//! A home with a `network.json` runs as a member of that network (consensus over P2P); a home
//! without one is a single-validator dev chain.

use chainvm_runtime::genesis::GenesisConfig;
use chainvm_runtime::production::unix_time;
use chainvm_runtime::{Chain, ChainError, Keypair, U256};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name of the network file in a home.
pub const NETWORK_FILE: &str = "network.json";

/// Default first port of `testnet init`: validator i serves RPC on `base + 2i` and P2P on
/// `base + 2i + 1`; full node j follows the N validators (`base + 2(N + j)`).
pub const DEFAULT_BASE_PORT: u16 = 26_600;

/// Stake unit of `--stakes`: 10,000 tokens (so the default 100 is 10^6 tokens, a dev
/// validator's stake).
pub fn stake_unit() -> U256 {
    U256::exp10(22)
}

/// A peer: where to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Its P2P address (`host:port` on loopback for a testnet).
    pub p2p: String,
    /// Its JSON-RPC URL (transactions this node admits are forwarded there).
    pub rpc: String,
}

/// How a home takes part in a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Address to serve JSON-RPC on.
    pub rpc: String,
    /// Address to listen on for P2P.
    pub p2p: String,
    /// The other nodes.
    pub peers: Vec<Peer>,
    /// Whether this node votes (its key is a validator's); a full node only follows.
    #[serde(default = "yes")]
    pub validator: bool,
    /// TEST ONLY: double-sign votes at these heights (`{"start": 3, "end": 3}`), so fault
    /// tests get an equivocating validator through a home started by `start_home` (see
    /// `ConsensusOptions::equivocate`). Absent in every file `init` writes; never set it on
    /// a real validator: it is slashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivocate: Option<std::ops::RangeInclusive<u64>>,
}

fn yes() -> bool {
    true
}

/// Why a network home could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestnetError {
    /// The network file is missing fields or is not JSON.
    #[error("{path}: not a valid network file: {source}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory already holds a testnet or other files.
    #[error("{0} exists and is not empty: choose another --dir")]
    NotEmpty(PathBuf),
    /// Bad arguments.
    #[error("{0}")]
    Arguments(String),
    /// A chain could not be created.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

impl NetworkConfig {
    /// The network file of `home`, if it has one.
    pub fn read(home: &Path) -> Result<Option<NetworkConfig>, TestnetError> {
        let path = home.join(NETWORK_FILE);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TestnetError::Io { path, source }),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| TestnetError::BadFile { path, source }),
        }
    }

    /// Writes it as `home`'s network file.
    pub fn write(&self, home: &Path) -> Result<(), TestnetError> {
        let path = home.join(NETWORK_FILE);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&path, text).map_err(|source| TestnetError::Io { path, source })
    }
}

/// One home `init` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct TestnetNode {
    /// Its home directory.
    pub home: PathBuf,
    /// Its JSON-RPC URL.
    pub rpc: String,
    /// Its P2P address.
    pub p2p: String,
    /// Whether its key is one of the genesis validators' (else a full node that only
    /// follows).
    pub validator: bool,
}

/// Writes `stakes.len()` validator homes `dir/v0 ..` sharing one genesis (the ten dev accounts
/// funded as by `chainvm init`; validator i bonded with `stakes[i]` x [`stake_unit`]), each
/// with a fresh secret key, and `full_nodes` full-node homes `dir/f0 ..` on the same genesis
/// with fresh keys outside the set (`validator: false`). Every home's network file names every
/// other home as a peer, so validators also serve the full nodes' sync. Validators come first
/// in the result. `dir` must not exist or be empty.
pub fn init(
    dir: &Path,
    chain_id: u64,
    stakes: &[u64],
    full_nodes: usize,
    base_port: u16,
) -> Result<Vec<TestnetNode>, TestnetError> {
    if stakes.is_empty() || stakes.len() > 100 {
        return Err(TestnetError::Arguments(
            "a testnet has 1 to 100 validators".into(),
        ));
    }
    if stakes.contains(&0) {
        return Err(TestnetError::Arguments(
            "every validator needs a stake above 0".into(),
        ));
    }
    if full_nodes > 100 {
        return Err(TestnetError::Arguments(
            "a testnet has at most 100 full nodes".into(),
        ));
    }
    let total = stakes.len() + full_nodes;
    let last = u32::from(base_port) + 2 * total as u32;
    if last > u32::from(u16::MAX) {
        return Err(TestnetError::Arguments(format!(
            "--base-port {base_port} leaves no room for {total} nodes' ports"
        )));
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|source| TestnetError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if entries.next().is_some() {
            return Err(TestnetError::NotEmpty(dir.to_path_buf()));
        }
    }
    let keys = (0..total)
        .map(|_| Keypair::generate())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TestnetError::Arguments(format!("no OS randomness for keys: {e}")))?;
    let validators: Vec<([u8; 32], U256)> = keys
        .iter()
        .zip(stakes)
        .map(|(k, s)| (k.public(), stake_unit() * U256::from(*s)))
        .collect();
    let genesis = GenesisConfig::testnet(chain_id, &validators, unix_time());
    let nodes: Vec<TestnetNode> = (0..total)
        .map(|i| {
            let rpc_port = base_port + 2 * i as u16;
            let validator = i < stakes.len();
            let name = if validator {
                format!("v{i}")
            } else {
                format!("f{}", i - stakes.len())
            };
            TestnetNode {
                home: dir.join(name),
                rpc: format!("http://127.0.0.1:{rpc_port}"),
                p2p: format!("127.0.0.1:{}", rpc_port + 1),
                validator,
            }
        })
        .collect();
    for (i, (node, key)) in nodes.iter().zip(&keys).enumerate() {
        drop(Chain::init(&node.home, genesis.clone(), key)?);
        let peers = nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| Peer {
                p2p: n.p2p.clone(),
                rpc: n.rpc.clone(),
            })
            .collect();
        NetworkConfig {
            rpc: node.rpc.trim_start_matches("http://").to_string(),
            p2p: node.p2p.clone(),
            peers,
            validator: node.validator,
            equivocate: None,
        }
        .write(&node.home)?;
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_share_a_genesis_and_name_each_other_as_peers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("net");
        let nodes = init(&root, 77, &[40, 30, 20, 10], 2, 31_000).unwrap();
        assert_eq!(nodes.len(), 6);
        let mut roots = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            let chain = Chain::open(&n.home).unwrap();
            roots.push(chain.state_root().unwrap());
            let set = chain.validator_set(1).unwrap().unwrap();
            assert_eq!(set.members.len(), 4);
            // Validators v0..v3 hold a member's key; full nodes f0, f1 a key outside the set.
            assert_eq!(set.get(&chain.validator()).is_some(), i < 4, "{i}");
            assert_eq!(n.validator, i < 4);
            let name = if i < 4 {
                format!("v{i}")
            } else {
                format!("f{}", i - 4)
            };
            assert_eq!(n.home, root.join(name));
            let cfg = NetworkConfig::read(&n.home).unwrap().unwrap();
            assert_eq!(cfg.validator, i < 4);
            assert_eq!(cfg.peers.len(), 5);
            assert_eq!(cfg.rpc, format!("127.0.0.1:{}", 31_000 + 2 * i));
            assert!(cfg.peers.iter().all(|p| p.p2p != cfg.p2p));
        }
        assert!(roots.windows(2).all(|w| w[0] == w[1]), "one genesis");
        // Not over an existing testnet, and no zero stake.
        assert!(matches!(
            init(&root, 77, &[1], 0, 31_000),
            Err(TestnetError::NotEmpty(_))
        ));
        assert!(init(&dir.path().join("z"), 77, &[1, 0], 0, 31_000).is_err());
        assert!(init(&dir.path().join("p"), 77, &[1, 1], 0, 65_532).is_err());
        assert!(init(&dir.path().join("q"), 77, &[1], 1, 65_532).is_err());
        assert!(init(&dir.path().join("r"), 77, &[1], 0, 65_532).is_ok());
    }
}
