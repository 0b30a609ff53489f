//! [`Chain`]: the one handle on a chain (store, VM, parameters, local validator key) and its
//! queries. Block production is in [`crate::production`], verification in [`crate::verify`],
//! genesis in [`crate::genesis`], the home directory's files in [`crate::home`].

use crate::block::{SignedHeader, StoredBlock};
use crate::crypto::Keypair;
use crate::error::ChainError;
use crate::executor::ViewOutcome;
use crate::genesis::GenesisConfig;
use crate::layout::Account;
use crate::params::ChainParams;
use crate::production::Clock;
use crate::reader::{StateProof, TxLocation};
use crate::types::{Address, H256};
use chainvm_state::{BlockRecord, Retention, Snapshot, Store};
use chainvm_vm::Vm;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    pub(crate) store: Arc<Store>,
    pub(crate) vm: Arc<Vm>,
    /// The read side over the same store and VM: every query goes through it.
    pub(crate) reader: crate::reader::ChainReader,
    pub(crate) config: GenesisConfig,
    pub(crate) validator: Keypair,
    home: Option<PathBuf>,
    pub(crate) clock: Clock,
    pub(crate) subscribers: Vec<std::sync::mpsc::Sender<crate::embed::BlockNotification>>,
}

impl Chain {
    /// Creates a chain in `home` (which must not hold one yet) from `config`, with `validator`
    /// as the local validator key.
    pub fn init(
        home: &Path,
        config: GenesisConfig,
        validator: &Keypair,
    ) -> Result<Chain, ChainError> {
        Self::init_with(home, config, validator, Retention::Archive)
    }

    /// [`Chain::init`] keeping the state versions `retention` says (kept in the store, so
    /// later opens keep it).
    pub fn init_with(
        home: &Path,
        config: GenesisConfig,
        validator: &Keypair,
        retention: Retention,
    ) -> Result<Chain, ChainError> {
        // Checked before the home is written, so a bad window leaves nothing behind.
        retention.check()?;
        crate::home::write(home, &config, validator)?;
        let store = Store::create_with(home, retention)?;
        Self::start(store, config, validator.clone(), Some(home.to_path_buf()))
    }

    /// Opens the chain in `home`, with the retention mode it was created or last opened with.
    pub fn open(home: &Path) -> Result<Chain, ChainError> {
        Self::open_with(home, None)
    }

    /// Opens the chain in `home`; `Some(retention)` switches its mode (archive to pruned, or
    /// another pruning window; a pruned chain cannot become an archive again).
    pub fn open_with(home: &Path, retention: Option<Retention>) -> Result<Chain, ChainError> {
        let store = Store::open_with(home, retention)?;
        let (config, validator) = crate::home::read(home)?;
        Self::start(store, config, validator, Some(home.to_path_buf()))
    }

    /// A chain held in memory only.
    pub fn in_memory(config: GenesisConfig, validator: &Keypair) -> Result<Chain, ChainError> {
        Self::in_memory_with(config, validator, Retention::Archive)
    }

    /// A chain held in memory only, keeping the versions `retention` says.
    pub fn in_memory_with(
        config: GenesisConfig,
        validator: &Keypair,
        retention: Retention,
    ) -> Result<Chain, ChainError> {
        Self::start(
            Store::in_memory_with(retention)?,
            config,
            validator.clone(),
            None,
        )
    }

    /// Bytes the store's file has allocated to pages (disk use, finer than the file size).
    pub fn allocated_bytes(&self) -> Result<u64, ChainError> {
        Ok(self.store.allocated_bytes()?)
    }

    /// Which state versions this chain keeps.
    pub fn retention(&self) -> Retention {
        self.store.retention()
    }

    fn start(
        store: Store,
        config: GenesisConfig,
        validator: Keypair,
        home: Option<PathBuf>,
    ) -> Result<Chain, ChainError> {
        let mut vm_config = config.params.vm_config();
        vm_config.cache_dir = home.as_deref().map(crate::home::cache_dir);
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
        let writes = self.config.genesis()?.writes(&self.config.params)?;
        let staged = self.store.stage(writes)?;
        let header = self.config.header_with_root(H256(staged.root));
        let signed = SignedHeader {
            header,
            signature: [0; 64],
        };
        let record = BlockRecord {
            height: 0,
            hash: signed.header.hash().0,
            header: crate::block::CertifiedHeader {
                signed_header: signed.clone(),
                certificate: None,
            }
            .encode(),
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

    /// The local validator's key: it signs this node's proposals and, in a network, its votes.
    pub fn validator_key(&self) -> &Keypair {
        &self.validator
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

    /// Runs a read-only call against the latest state: no transaction, no block, no fee.
    pub fn view_raw(
        &self,
        caller: Address,
        contract: Address,
        method: &str,
        args: &[u8],
        gas_limit: u64,
    ) -> Result<ViewOutcome, ChainError> {
        self.reader
            .view_raw(caller, contract, method, args, gas_limit)
    }
}
