//! The chain: block production and queries over one [`Store`] (genesis is in
//! [`crate::genesis`], verification in [`crate::verify`]).
//!
//! A block is produced in four steps that [`Chain::verify`] replays identically:
//! begin-block (release due unbonding, mint the block reward: commission to the proposer, the
//! rest into its pool), the transactions in order (each pays its fee to the proposer),
//! end-block (the fees less commission move into the proposer's pool), then the header with
//! the state, transaction and receipt roots, signed by the proposer. The proposer is chosen by stake from
//! the validator set in the state, seeded by the parent hash; a node produces a block only
//! when it holds the chosen validator's key (always, on a one-validator dev chain).

use crate::abi::{hex, parse_hex};
use crate::block::{Header, SignedHeader, list_root};
use crate::crypto::Keypair;
use crate::executor::{AdmissionError, ApplyError, Executor};
use crate::host::BlockContext;
use crate::layout::Account;
use crate::params::ChainParams;
use crate::reader::{StateProof, TxLocation};
use crate::receipt::{ExecError, GasReport, Receipt};
use crate::staking;
use crate::state::{BlockRecord, Overlay, Snapshot, StateWrites, Store, StoreError};
use crate::tx::SignedTransaction;
use crate::types::{Address, H256, U256};
use chainvm_vm::Vm;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use crate::genesis::{
    DEV_ACCOUNTS, DEV_COMMISSION_BPS, DEV_SEED, GenesisConfig, GenesisValidator, PROTOCOL_VERSION,
    dev_balance, dev_keys,
};

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed (missing, locked or corrupt home, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transaction was refused.
    #[error("transaction rejected: {0}")]
    Rejected(#[from] AdmissionError),
    /// The home directory or genesis is unusable.
    #[error("{0}")]
    Config(String),
    /// This node does not hold the key of the validator chosen to propose.
    #[error(
        "this node's validator {ours:?} is not the proposer chosen for the next block ({chosen:?})"
    )]
    NotProposer {
        /// Our validator.
        ours: Address,
        /// The chosen one.
        chosen: Option<Address>,
    },
    /// A node fault (VM or state inconsistency): the block was not committed.
    #[error("node fault: {0}")]
    Fault(String),
    /// A stored block does not match its re-execution ([`Chain::verify`]).
    #[error(transparent)]
    Invalid(#[from] crate::verify::VerifyError),
}

impl From<ApplyError> for ChainError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Admission(a) => ChainError::Rejected(a),
            ApplyError::Fault(f) => ChainError::Fault(f),
        }
    }
}

impl From<chainvm_vm::VmError> for ChainError {
    fn from(e: chainvm_vm::VmError) -> Self {
        ChainError::Fault(e.to_string())
    }
}

/// A produced block.
#[derive(Debug, Clone)]
pub struct ProducedBlock {
    /// Its signed header.
    pub signed_header: SignedHeader,
    /// Its hash.
    pub hash: H256,
    /// One entry per submitted transaction: its receipt, or why it was left out.
    pub results: Vec<Result<Receipt, AdmissionError>>,
    /// Wall time of each stage of producing it (for benchmarks; never part of the block).
    pub timings: BlockTimings,
}

/// Wall time spent in each stage of [`Chain::produce_block`]. Measured with the monotonic
/// clock for reporting only; nothing here reaches state, gas or hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BlockTimings {
    /// Checking the transactions' signatures (in parallel over the cores).
    pub signatures: std::time::Duration,
    /// Executing the transactions on the state overlay.
    pub execution: std::time::Duration,
    /// Hashing the changed keys into the new state root (shared paths hashed once).
    pub state_root: std::time::Duration,
    /// Building the transaction and receipt roots and the header, and signing it.
    pub header: std::time::Duration,
    /// The store's durable write transaction (block, state rows and tree nodes; fsync).
    pub durable_write: std::time::Duration,
}

/// A stored block with its transactions and receipts.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// Signed header.
    pub signed_header: SignedHeader,
    /// Transactions and their receipts, in order.
    pub txs: Vec<(SignedTransaction, Receipt)>,
}

/// What [`Chain::verify`] checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Blocks checked (including genesis).
    pub blocks: u64,
    /// Transactions re-executed.
    pub transactions: u64,
    /// The final state root, confirmed by re-execution.
    pub state_root: H256,
}

/// Where the next block's timestamp comes from.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// The system clock (read only to stamp a new header, never during execution).
    System,
    /// A fixed time, advanced explicitly (tests, embedders).
    Manual(u64),
}

/// The chain: store, VM, parameters and the local validator key. The one handle for tests,
/// the CLI, nodes and DApp backends; see [`crate::embed`] for the embedding surface.
///
/// ```
/// use chainvm_runtime::{Chain, U256};
/// let dir = tempfile::tempdir().unwrap();
/// let (mut chain, keys) = Chain::builder().dev_accounts().init(dir.path()).unwrap();
/// let r = chain.transfer(&keys[0], keys[1].address(), U256::from(7)).unwrap();
/// assert!(r.is_success());
/// drop(chain);
/// let chain = Chain::open(dir.path()).unwrap(); // the block is still there
/// assert_eq!(chain.height().unwrap(), 1);
/// chain.verify().unwrap();
/// ```
pub struct Chain {
    store: Arc<Store>,
    vm: Arc<Vm>,
    /// The read side over the same store and VM: every query goes through it.
    reader: crate::reader::ChainReader,
    config: GenesisConfig,
    validator: Keypair,
    home: Option<PathBuf>,
    clock: Clock,
    subscribers: Vec<std::sync::mpsc::Sender<crate::embed::BlockNotification>>,
}

const GENESIS_FILE: &str = "genesis.json";
const VALIDATOR_KEY_FILE: &str = "validator.key";

/// Writes a file only its owner can read or write (created so: never world-readable, not even
/// for an instant).
fn write_secret(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Chain {
    /// Creates a chain in `home` (which must not hold one yet) from `config`, with `validator`
    /// as the local validator key.
    pub fn init(
        home: &Path,
        config: GenesisConfig,
        validator: &Keypair,
    ) -> Result<Chain, ChainError> {
        if home.join(crate::state::store::DB_FILE).exists() {
            return Err(ChainError::Config(format!(
                "{} already holds a chain (remove it or use another --home)",
                home.display()
            )));
        }
        std::fs::create_dir_all(home)
            .map_err(|e| ChainError::Config(format!("cannot create {}: {e}", home.display())))?;
        let json =
            serde_json::to_string_pretty(&config).map_err(|e| ChainError::Config(e.to_string()))?;
        let write = |name: &str, data: &[u8]| {
            std::fs::write(home.join(name), data)
                .map_err(|e| ChainError::Config(format!("cannot write {name}: {e}")))
        };
        write(GENESIS_FILE, json.as_bytes())?;
        write_secret(
            &home.join(VALIDATOR_KEY_FILE),
            hex(&validator.secret()).as_bytes(),
        )
        .map_err(|e| ChainError::Config(format!("cannot write {VALIDATOR_KEY_FILE}: {e}")))?;
        let store = Store::create(home)?;
        Self::start(store, config, validator.clone(), Some(home.to_path_buf()))
    }

    /// Opens the chain in `home`.
    pub fn open(home: &Path) -> Result<Chain, ChainError> {
        let store = Store::open(home)?;
        let read = |name: &str| {
            std::fs::read_to_string(home.join(name))
                .map_err(|e| ChainError::Config(format!("{}: {e}", home.join(name).display())))
        };
        let json: serde_json::Value = serde_json::from_str(&read(GENESIS_FILE)?)
            .map_err(|e| ChainError::Config(format!("{GENESIS_FILE}: {e}")))?;
        let version = json.get("protocol_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(PROTOCOL_VERSION)) {
            return Err(ChainError::Config(format!(
                "{} was created by chainvm protocol version {}; this chainvm runs version \
                 {PROTOCOL_VERSION}: start a new chain with `chainvm init --force`",
                home.display(),
                version.unwrap_or(1)
            )));
        }
        let config: GenesisConfig = serde_json::from_value(json)
            .map_err(|e| ChainError::Config(format!("{GENESIS_FILE}: {e}")))?;
        let seed: [u8; 32] = parse_hex(&read(VALIDATOR_KEY_FILE)?)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                ChainError::Config(format!("{VALIDATOR_KEY_FILE} is not a 32-byte hex key"))
            })?;
        Self::start(
            store,
            config,
            Keypair::from_seed(&seed),
            Some(home.to_path_buf()),
        )
    }

    /// A chain held in memory only.
    pub fn in_memory(config: GenesisConfig, validator: &Keypair) -> Result<Chain, ChainError> {
        Self::start(Store::in_memory()?, config, validator.clone(), None)
    }

    fn start(
        store: Store,
        config: GenesisConfig,
        validator: Keypair,
        home: Option<PathBuf>,
    ) -> Result<Chain, ChainError> {
        let mut vm_config = config.params.vm_config();
        vm_config.cache_dir = home.as_ref().map(|h| h.join("cache"));
        let vm = Arc::new(Vm::new(vm_config)?);
        let store = Arc::new(store);
        let reader = crate::reader::ChainReader::new(
            store.clone(),
            vm.clone(),
            config.params.clone(),
            validator.address(),
        );
        let chain = Chain {
            store,
            vm,
            reader,
            config,
            validator,
            home,
            clock: Clock::System,
            subscribers: Vec::new(),
        };
        if chain.store.latest()?.is_none() {
            chain.commit_genesis()?;
        }
        Ok(chain)
    }

    fn commit_genesis(&self) -> Result<(), ChainError> {
        let writes = self.config.genesis()?.writes()?;
        let staged = self.store.stage(writes)?;
        let header = Header {
            parent_hash: H256::zero(),
            height: 0,
            timestamp: self.config.timestamp,
            state_root: H256(staged.root),
            txs_root: list_root(&[]),
            receipts_root: list_root(&[]),
            gas_used: 0,
            proposer: Address::zero(),
        };
        let signed = SignedHeader {
            header,
            signature: [0; 64],
        };
        let record = BlockRecord {
            height: 0,
            hash: signed.header.hash().0,
            header: signed.encode(),
            txs: vec![],
            receipts: vec![],
        };
        self.store.commit(staged, &record)?;
        Ok(())
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn subscribers(
        &mut self,
    ) -> &mut Vec<std::sync::mpsc::Sender<crate::embed::BlockNotification>> {
        &mut self.subscribers
    }

    /// The chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.config.params
    }

    /// The genesis configuration.
    pub fn genesis_config(&self) -> &GenesisConfig {
        &self.config
    }

    /// The VM (for loading contracts and reading the cache).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// A handle for reading the latest committed state without this `Chain` (views,
    /// simulations, queries on other threads while blocks are produced).
    pub fn reader(&self) -> crate::reader::ChainReader {
        self.reader.clone()
    }

    /// The home directory, if on disk.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The local validator's address.
    pub fn validator(&self) -> Address {
        self.validator.address()
    }

    /// Stamps future blocks with a fixed time instead of the system clock.
    pub fn set_time(&mut self, timestamp: u64) {
        self.clock = Clock::Manual(timestamp);
    }

    /// A consistent view of the latest state.
    pub fn latest_state(&self) -> Result<Snapshot, ChainError> {
        self.reader.latest_state()
    }

    /// Height of the latest block.
    pub fn height(&self) -> Result<u64, ChainError> {
        self.reader.height()
    }

    /// The latest state root.
    pub fn state_root(&self) -> Result<H256, ChainError> {
        Ok(H256(self.store.latest()?.map_or([0; 32], |(_, r)| r)))
    }

    /// The signed header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<SignedHeader>, ChainError> {
        self.reader.header(height)
    }

    /// The height of the block with this hash.
    pub fn height_of(&self, hash: &H256) -> Result<Option<u64>, ChainError> {
        self.reader.height_of(hash)
    }

    /// The block at `height` with its transactions and receipts.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>, ChainError> {
        self.reader.block(height)
    }

    /// A transaction by hash: where it was included, with its receipt.
    pub fn transaction(&self, hash: &H256) -> Result<Option<TxLocation>, ChainError> {
        self.reader.transaction(hash)
    }

    /// The account at `address` (empty if none).
    pub fn account(&self, address: &Address) -> Result<Account, ChainError> {
        self.reader.account(address)
    }

    /// The code of the contract at `address`, if any.
    pub fn code(&self, address: &Address) -> Result<Option<Vec<u8>>, ChainError> {
        self.reader.code(address)
    }

    /// The value of a raw state key at `version` (latest if `None`) with its proof, and the
    /// root it proves against.
    pub fn prove(&self, key: &[u8], version: Option<u64>) -> Result<StateProof, ChainError> {
        self.reader.prove(key, version)
    }

    fn next_context(&self, snap: &Snapshot) -> Result<(BlockContext, SignedHeader), ChainError> {
        let (height, _) = snap
            .version()
            .ok_or_else(|| ChainError::Fault("no genesis".into()))?;
        let parent = self
            .header(height)?
            .ok_or_else(|| ChainError::Fault(format!("header {height} missing")))?;
        let chosen = staking::expected_proposer(snap, &parent.header.hash())?.map(|(a, _)| a);
        if chosen != Some(self.validator.address()) {
            return Err(ChainError::NotProposer {
                ours: self.validator.address(),
                chosen,
            });
        }
        let wanted = match self.clock {
            Clock::System => now(),
            Clock::Manual(t) => t,
        };
        let ctx = BlockContext {
            height: height + 1,
            timestamp: wanted.max(parent.header.timestamp + 1),
            proposer: self.validator.address(),
        };
        Ok((ctx, parent))
    }

    /// Produces the next block from `txs` (refused ones are left out) and commits it.
    pub fn produce_block(
        &mut self,
        txs: &[SignedTransaction],
    ) -> Result<ProducedBlock, ChainError> {
        let mut timings = BlockTimings::default();
        let snap = self.store.snapshot()?;
        let (ctx, parent) = self.next_context(&snap)?;
        let (writes, results, included) = execute_block(
            &self.vm,
            &self.config.params,
            &snap,
            &ctx,
            txs,
            &mut timings,
        )?;
        drop(snap);
        let started = Instant::now();
        let staged = self.store.stage(writes)?;
        timings.state_root = started.elapsed();
        let started = Instant::now();
        let receipts: Vec<&Receipt> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let header = Header {
            parent_hash: parent.header.hash(),
            height: ctx.height,
            timestamp: ctx.timestamp,
            state_root: H256(staged.root),
            txs_root: list_root(&included.iter().map(|t| t.encode()).collect::<Vec<_>>()),
            receipts_root: list_root(&receipts.iter().map(|r| r.encode()).collect::<Vec<_>>()),
            gas_used: receipts.iter().map(|r| r.gas_used).sum(),
            proposer: ctx.proposer,
        };
        let signed = SignedHeader::sign(header, &self.validator);
        let hash = signed.header.hash();
        let record = BlockRecord {
            height: ctx.height,
            hash: hash.0,
            header: signed.encode(),
            txs: included.iter().map(|t| (t.hash().0, t.encode())).collect(),
            receipts: receipts.iter().map(|r| r.encode()).collect(),
        };
        timings.header = started.elapsed();
        let started = Instant::now();
        self.store.commit(staged, &record)?;
        timings.durable_write = started.elapsed();
        if !self.subscribers.is_empty() {
            let note = crate::embed::BlockNotification {
                signed_header: signed.clone(),
                hash,
                receipts: included
                    .iter()
                    .zip(results.iter().filter_map(|r| r.as_ref().ok()))
                    .map(|(t, r)| (t.hash(), r.clone()))
                    .collect(),
            };
            // Subscribers that hung up are dropped.
            self.subscribers.retain(|s| s.send(note.clone()).is_ok());
        }
        Ok(ProducedBlock {
            signed_header: signed,
            hash,
            results,
            timings,
        })
    }

    /// Submits one transaction in a block of its own (automine) and returns its receipt.
    pub fn submit(&mut self, tx: &SignedTransaction) -> Result<Receipt, ChainError> {
        // Check admission first so a refused transaction produces no block.
        let snap = self.store.snapshot()?;
        let exec = Executor::new(&self.vm, &self.config.params);
        exec.check_stateless(tx, tx.encode().len(), true)?;
        exec.check_stateful(&snap, tx)?;
        drop(snap);
        let mut block = self.produce_block(std::slice::from_ref(tx))?;
        Ok(block.results.remove(0)?)
    }

    /// Executes `tx` as if it were in the next block and returns its receipt, committing
    /// nothing (gas estimation, dry runs).
    pub fn simulate(&self, tx: &SignedTransaction) -> Result<Receipt, ChainError> {
        let snap = self.store.snapshot()?;
        let (ctx, _) = self.next_context(&snap)?;
        let mut overlay = Overlay::new(&snap);
        Ok(Executor::new(&self.vm, &self.config.params).apply(&mut overlay, &ctx, tx)?)
    }

    /// Runs a read-only call against the latest state: no transaction, no block, no fee.
    pub fn view_raw(
        &self,
        caller: Address,
        contract: Address,
        method: &str,
        args: &[u8],
        gas_limit: u64,
    ) -> Result<(Result<Vec<u8>, ExecError>, GasReport), ChainError> {
        self.reader
            .view_raw(caller, contract, method, args, gas_limit)
    }
}

/// A block's state writes, one result per submitted transaction, and the included ones.
pub(crate) type ExecutedBlock = (
    StateWrites,
    Vec<Result<Receipt, AdmissionError>>,
    Vec<SignedTransaction>,
);

/// Executes a block on `snap`: begin-block (release unbonding, mint and share the reward),
/// the transactions, end-block (share the fees). Returns the writes, one result per transaction (refused ones are left out of
/// the block; on replay every stored transaction must be admitted), and the included ones.
///
/// Signatures are checked up front, in parallel; a transaction whose signature fails is
/// re-checked in order by the executor, so it is refused with exactly the error (and in the
/// position) that sequential checking gives.
pub(crate) fn execute_block(
    vm: &Vm,
    params: &ChainParams,
    snap: &Snapshot,
    ctx: &BlockContext,
    txs: &[SignedTransaction],
    timings: &mut BlockTimings,
) -> Result<ExecutedBlock, ChainError> {
    let started = Instant::now();
    let signed_ok = verify_signatures(txs);
    timings.signatures = started.elapsed();
    let started = Instant::now();
    let mut overlay = Overlay::new(snap);
    staking::release_unbonded(&mut overlay, ctx.height)?;
    let reward = U256::from(params.block_reward);
    staking::distribute_reward(&mut overlay, &ctx.proposer, reward)?;
    let mut supply = staking::supply(&overlay)?;
    supply.minted += reward;
    staking::set_supply(&mut overlay, &supply);

    let exec = Executor::new(vm, params);
    let mut results = Vec::with_capacity(txs.len());
    let mut included = Vec::new();
    let mut gas_left = params.block_gas_limit;
    for (tx, signed_ok) in txs.iter().zip(signed_ok) {
        if tx.body.gas_limit > gas_left {
            results.push(Err(AdmissionError::GasLimitTooHigh {
                limit: tx.body.gas_limit,
                max: gas_left,
            }));
            continue;
        }
        match exec.apply_checked(&mut overlay, ctx, tx, !signed_ok) {
            Ok(r) => {
                gas_left -= r.gas_used;
                included.push(tx.clone());
                results.push(Ok(r));
            }
            Err(ApplyError::Admission(e)) => results.push(Err(e)),
            Err(ApplyError::Fault(f)) => return Err(ChainError::Fault(f)),
        }
    }
    // End of block: the fees, less commission, go to the proposer's delegators.
    let fees = included
        .iter()
        .zip(results.iter().filter_map(|r| r.as_ref().ok()))
        .fold(U256::zero(), |sum, (t, r)| {
            sum.saturating_add(t.body.gas_price.saturating_mul(U256::from(r.gas_used)))
        });
    staking::share_fees(&mut overlay, &ctx.proposer, fees)?;
    let writes = overlay.into_writes();
    timings.execution = started.elapsed();
    Ok((writes, results, included))
}

/// Below this many transactions a block's signatures are checked on the calling thread:
/// spawning workers costs more than it saves.
const PARALLEL_SIGNATURES_FROM: usize = 16;

/// Checks every transaction's signature, spread over the machine's cores (what a block does
/// before executing them). The answer depends only on the transactions, never on the number
/// of threads.
pub fn verify_signatures(txs: &[SignedTransaction]) -> Vec<bool> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if txs.len() < PARALLEL_SIGNATURES_FROM || threads == 1 {
        return txs.iter().map(|t| t.verify_signature()).collect();
    }
    let chunk = txs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = txs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|t| t.verify_signature()).collect()))
            .collect();
        workers
            .into_iter()
            // A worker that panicked verified nothing: fall back to in-order checks (false
            // makes the executor check again), so the block's content is unchanged.
            .zip(txs.chunks(chunk))
            .flat_map(|(w, part)| w.join().unwrap_or_else(|_| vec![false; part.len()]))
            .collect()
    })
}
