//! Starting a validator: Malachite's engine (WAL under `<home>/wal/`, libp2p TCP with
//! persistent peers and no discovery, value sync on) wired to the [`App`] loop over a
//! [`Ledger`], and the [`ConsensusHandle`] that stops it, with the test-only equivocation switch
//! (`equivocate.rs`) when asked.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use malachitebft_app_channel::app::config::{
    ConsensusConfig, NodeConfig, P2pConfig, ValuePayload, ValueSyncConfig,
};
use malachitebft_app_channel::app::engine::network::NetworkRef;
use malachitebft_app_channel::app::engine::util::events::Event;
use malachitebft_app_channel::app::events::TxEvent;
use malachitebft_app_channel::app::metrics::SharedRegistry;
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::Keypair as NetKeypair;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::{
    ConsensusContext, EngineBuilder, EngineHandle, NetworkIdentity, RequestContext, Signer,
    SyncContext, WalContext,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, error, info, warn};

use super::app::{App, AppError};
use super::codec::WireCodec;
use super::context::ChainvmContext;
use super::equivocate::EquivocatingSigner;
use super::evidence::{EvidenceLog, VoteEquivocation};
use super::ledger::{Ledger, TxSource};
use super::signing::{Ed25519Signer, Ed25519Verifier};
use super::store::{ProposalStore, StoreError};
use super::types::ValidatorAddress;
use chainvm_runtime::types::keccak;

type Ctx = ChainvmContext;

/// Size of the header of Malachite's WAL file (version u32, sequence u64), before any entry.
const WAL_HEADER: u64 = 12;

/// Domain of the libp2p identity key derived from the validator key.
const P2P_KEY_DOMAIN: &[u8] = b"chainvm-p2p-key-v1";

/// How a validator node runs consensus.
#[derive(Debug, Clone)]
pub struct ConsensusOptions {
    /// The node's home: the WAL goes to `<home>/wal/consensus.wal`, undecided proposals to
    /// `<home>/consensus/proposals/`.
    pub home: PathBuf,
    /// Name in logs and metrics (unique per process).
    pub moniker: String,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen: Multiaddr,
    /// The other validators, dialled and redialled for as long as the node runs.
    pub peers: Vec<Multiaddr>,
    /// Round timeouts.
    pub timeouts: LinearTimeouts,
    /// How often sync polls peers' tips.
    pub sync_status_interval: Duration,
    /// How long a sync request may take.
    pub sync_request_timeout: Duration,
    /// A full node: it follows the chain (gossip and sync) with the engine's non-validator
    /// mode (no signer, no validator proof), so it never proposes or votes even if its key
    /// were in a set.
    pub full_node: bool,
    /// TEST ONLY: at the heights in this range, sign and gossip a second, conflicting vote
    /// next to each own vote, and a height ahead two made-up conflicting prevotes, so fault
    /// tests get a double-signing validator (`1..=u64::MAX`: at every height; see
    /// `equivocate.rs`). Never set it on a real validator: it is slashed.
    pub equivocate: Option<RangeInclusive<u64>>,
}

impl ConsensusOptions {
    /// Production defaults (Malachite's timeouts: 3 s propose, 1 s prevote and precommit).
    pub fn new(home: PathBuf, listen: Multiaddr, peers: Vec<Multiaddr>) -> ConsensusOptions {
        ConsensusOptions {
            moniker: home.display().to_string(),
            home,
            listen,
            peers,
            timeouts: LinearTimeouts::default(),
            sync_status_interval: Duration::from_secs(10),
            sync_request_timeout: Duration::from_secs(10),
            full_node: false,
            equivocate: None,
        }
    }

    /// Short timeouts for validators on one machine (tests): a lost round costs < 1 s.
    pub fn loopback(home: PathBuf, listen: Multiaddr, peers: Vec<Multiaddr>) -> ConsensusOptions {
        let ms = Duration::from_millis;
        ConsensusOptions {
            timeouts: LinearTimeouts {
                propose: ms(800),
                propose_delta: ms(200),
                prevote: ms(300),
                prevote_delta: ms(100),
                precommit: ms(300),
                precommit_delta: ms(100),
                rebroadcast: ms(1500),
                max_timeout: Duration::from_secs(5),
            },
            sync_status_interval: ms(500),
            sync_request_timeout: Duration::from_secs(3),
            ..ConsensusOptions::new(home, listen, peers)
        }
    }
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The libp2p key could not be made from the validator key.
    #[error("network key: {0}")]
    NetworkKey(String),
    /// Signing or encoding the validator proof failed.
    #[error("validator proof: {0}")]
    Proof(String),
    /// The engine's actors did not start.
    #[error("engine: {0}")]
    Engine(String),
    /// The proposal store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger is unusable (its lock is poisoned).
    #[error("ledger lock poisoned")]
    Ledger,
}

#[derive(Clone)]
struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

fn engine_config(o: &ConsensusOptions) -> EngineConfig {
    EngineConfig {
        moniker: o.moniker.clone(),
        consensus: ConsensusConfig {
            p2p: P2pConfig {
                listen_addr: o.listen.clone(),
                persistent_peers: o.peers.clone(),
                // Discovery stays off (the default): validators dial their configured peers.
                ..P2pConfig::default()
            },
            value_payload: ValuePayload::ProposalAndParts,
            queue_capacity: 100,
            ..ConsensusConfig::default()
        },
        value_sync: ValueSyncConfig {
            enabled: true,
            status_update_interval: o.sync_status_interval,
            request_timeout: o.sync_request_timeout,
            ..ValueSyncConfig::default()
        },
    }
}

/// The libp2p identity of a validator: derived from (not equal to) its consensus key, so the
/// peer id is stable across restarts and the consensus key never signs transport messages.
fn network_keypair(key: &chainvm_runtime::Keypair) -> Result<NetKeypair, StartError> {
    let mut seed = P2P_KEY_DOMAIN.to_vec();
    seed.extend_from_slice(&key.secret());
    let mut bytes = keccak(&seed).0;
    NetKeypair::ed25519_from_bytes(&mut bytes).map_err(|e| StartError::NetworkKey(e.to_string()))
}

/// A running validator.
pub struct ConsensusHandle {
    engine: EngineHandle,
    app: JoinHandle<Result<(), AppError>>,
    tip: watch::Receiver<u64>,
    evidence: EvidenceLog,
    events: TxEvent<Ctx>,
    address: ValidatorAddress,
    /// Tasks beside the engine (the WAL reporter).
    side: Vec<JoinHandle<()>>,
}

impl ConsensusHandle {
    /// The node's validator address.
    pub fn address(&self) -> ValidatorAddress {
        self.address
    }

    /// The last height this node committed.
    pub fn committed_height(&self) -> u64 {
        *self.tip.borrow()
    }

    /// Follows the committed height.
    pub fn tip(&self) -> watch::Receiver<u64> {
        self.tip.clone()
    }

    /// The engine's event stream (rounds, votes, decisions, WAL replay).
    pub fn events(&self) -> &TxEvent<Ctx> {
        &self.events
    }

    /// The vote equivocations seen so far.
    pub fn evidence(&self) -> Vec<VoteEquivocation> {
        self.evidence.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the node has committed `height`; false on timeout or if it stopped.
    pub async fn wait_for_height(&self, height: u64, timeout: Duration) -> bool {
        let mut tip = self.tip.clone();
        tokio::time::timeout(timeout, tip.wait_for(|h| *h >= height))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the consensus loop is still running.
    pub fn is_running(&self) -> bool {
        !self.app.is_finished()
    }

    /// Stops the engine (its actors, network and WAL) and the consensus loop.
    pub async fn stop(self) {
        if let Err(e) = self.engine.actor.kill_and_wait(None).await {
            warn!(%e, "engine did not stop cleanly");
        }
        self.engine.handle.abort();
        self.app.abort();
        for task in self.side {
            task.abort();
        }
    }
}

/// Starts a validator over `ledger`, whose local key is the validator key.
pub async fn start<L: Ledger>(
    ledger: Arc<Mutex<L>>,
    txs: Box<dyn TxSource>,
    options: ConsensusOptions,
) -> Result<ConsensusHandle, StartError> {
    let key = ledger.lock().map_err(|_| StartError::Ledger)?.local_key();
    let signer = Ed25519Signer::new(key.clone());
    let address = signer.address();
    let config = engine_config(&options);
    let span = tracing::info_span!("node", moniker = %options.moniker);

    let net_key = network_keypair(&key)?;
    let peer_id = net_key.public().to_peer_id().to_bytes();
    let proof = signer
        .sign_validator_proof(key.public().to_vec(), peer_id)
        .await
        .map_err(|e| StartError::Proof(e.to_string()))?;
    let proof_bytes = WireCodec
        .encode(&proof)
        .map_err(|e| StartError::Proof(e.to_string()))?;
    let identity = if options.full_node {
        NetworkIdentity::new(options.moniker.clone(), net_key, None)
    } else {
        NetworkIdentity::new_validator(
            options.moniker.clone(),
            net_key,
            address.to_string(),
            proof_bytes,
        )
    };
    // The network actor is spawned here, not by the builder, so the equivocation switch can
    // publish through it.
    let registry = SharedRegistry::global().with_moniker(&options.moniker);
    let (network, tx_network): (NetworkRef<Ctx>, _) =
        malachitebft_app_channel::spawn::spawn_network_actor(
            identity,
            config.consensus(),
            config.value_sync(),
            &registry,
            WireCodec,
        )
        .instrument(span.clone())
        .await
        .map_err(|e| StartError::Engine(e.to_string()))?;

    let consensus_signer: Box<dyn Signer<Ctx>> = match options.equivocate.clone() {
        Some(heights) => Box::new(EquivocatingSigner::new(
            signer.clone(),
            network.clone(),
            heights,
        )),
        None => Box::new(signer.clone()),
    };
    let consensus = if options.full_node {
        ConsensusContext::new_full_node(address, Box::new(Ed25519Verifier))
    } else {
        ConsensusContext::new_validator(address, Box::new(Ed25519Verifier), consensus_signer)
    };
    let wal = options.home.join("wal").join("consensus.wal");
    let mut wal_before = file_len(&wal);
    if wal_before > 0 && wal_before < WAL_HEADER {
        // A crash while the file was being created: no entry can be in it, and Malachite
        // refuses a short header, so the node would never start again.
        warn!(bytes = wal_before, wal = %wal.display(), "consensus WAL: torn header, starting a new WAL");
        std::fs::remove_file(&wal)
            .map_err(|e| StartError::Engine(format!("{}: {e}", wal.display())))?;
        wal_before = 0;
    }
    let (mut channels, engine) = EngineBuilder::new(ChainvmContext, config)
        .with_default_wal(WalContext::new(wal.clone(), WireCodec))
        .with_custom_network(network.clone(), tx_network)
        .with_default_sync(SyncContext::new(WireCodec))
        .with_default_consensus(consensus)
        .with_default_request(RequestContext::new(100))
        .build()
        .instrument(span.clone())
        .await
        .map_err(|e| StartError::Engine(e.to_string()))?;
    // The WAL actor opened the log while the engine was built: a torn last entry (a crash in
    // mid-write) is cut off then, which Malachite does silently.
    let wal_torn = wal_before.saturating_sub(file_len(&wal));
    if wal_torn > 0 {
        warn!(bytes = wal_torn, wal = %wal.display(), "consensus WAL: dropped a torn last entry");
    }

    let store = ProposalStore::open(&options.home)?;
    let (tip_tx, tip) = watch::channel(0);
    let evidence = EvidenceLog::default();
    let events = channels.events.clone();
    let side = vec![tokio::spawn(
        report_wal(events.subscribe()).instrument(span.clone()),
    )];
    let app = App::new(
        ledger,
        key,
        txs,
        store,
        options.timeouts,
        tip_tx,
        evidence.clone(),
    );
    let app = tokio::spawn(async move { app.run(&mut channels).await }.instrument(span));
    Ok(ConsensusHandle {
        engine,
        app,
        tip,
        evidence,
        events,
        address,
        side,
    })
}

/// The size of a file, 0 if it does not exist.
fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Logs what the engine did with the WAL after a restart (replayed entries, corruption).
async fn report_wal(mut rx: tokio::sync::broadcast::Receiver<Event<Ctx>>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match rx.recv().await {
            Ok(Event::WalReplayBegin(height, count)) => {
                info!(%height, entries = count, "consensus WAL: replaying");
            }
            Ok(Event::WalReplayDone(height)) => info!(%height, "consensus WAL: replayed"),
            Ok(Event::WalReplayError(e)) => error!(%e, "consensus WAL: replay failed"),
            Ok(Event::WalCorrupted(e)) => error!(%e, "consensus WAL: corrupted"),
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}
