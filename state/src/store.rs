//! The chain's embedded database: versioned Merkle state, blocks, transactions and receipts
//! in one redb file in the chain's home directory.
//!
//! Committing a block is one durable redb write transaction (`Durability::Immediate`) holding
//! its state changes (new tree nodes keyed by version then path, the stale-node index, the
//! latest-state table, the version's root, the undo record), its header, transactions and
//! receipts, and, in pruned mode, the deletion of what fell out of the retention window: after
//! a crash at any instant the store holds either the whole block or none of it.
//!
//! Retention ([`Retention`], kept in the store's meta table): an archive keeps every version
//! readable and provable; `Recent(n)` keeps the last `n` versions. Pruning is a range delete:
//! the stale-node index is keyed by the version that made a node stale, so the nodes no kept
//! version uses are the index's first entries.

use crate::StateWrites;
pub use crate::error::StoreError;
pub use crate::retention::Retention;
pub use crate::snapshot::Snapshot;
use crate::tree::{self, Change, Child, Hash, Node, NodeKey, keccak};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_nodes");
/// Stale-node index: the version that made nodes stale -> their keys (each prefixed by its
/// length), one record per block, so pruning pops the table's first records.
pub(crate) const STALE: TableDefinition<u64, &[u8]> = TableDefinition::new("stale_nodes");
pub(crate) const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("latest_state");
/// Version -> root reference ([`Child::encode`]).
pub(crate) const ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("roots");

mod write;

const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const BLOCK_HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("block_hashes");
const TXS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("transactions");
const TX_INDEX: TableDefinition<&[u8], (u64, u32)> = TableDefinition::new("tx_index");
const RECEIPTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("receipts");
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const UNDO: TableDefinition<u64, &[u8]> = TableDefinition::new("undo");

/// Meta key of the retention mode: `archive`, or the big-endian number of versions kept.
const RETENTION_KEY: &str = "retention";
/// Meta key of the oldest version still readable (pruned stores only).
pub(crate) const OLDEST_KEY: &str = "oldest_version";

/// What committing a block changed outside the tree, so the block can be undone: its hash,
/// its transaction hashes and the previous latest-state values.
#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct Undo {
    block_hash: Hash,
    tx_hashes: Vec<Hash>,
    previous: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Name of the database file inside the chain's home directory.
pub const DB_FILE: &str = "chain.redb";
const SCHEMA: &[u8] = b"chainvm-store-2";
const OLD_SCHEMAS: [&[u8]; 1] = [b"chainvm-store-1"];

/// The state changes of a block, applied to the tree and ready to commit.
#[derive(Debug, Clone)]
pub struct StagedState {
    /// Version these changes apply on (`None` before genesis).
    pub base: Option<u64>,
    /// The new state root.
    pub root: Hash,
    root_ref: Child,
    nodes: Vec<(NodeKey, Node)>,
    stale: Vec<NodeKey>,
    writes: StateWrites,
}

impl StagedState {
    /// Tree nodes this block writes.
    pub fn nodes_written(&self) -> usize {
        self.nodes.len()
    }
}

/// Where one commit's time and bytes went (for benchmarks; nothing here reaches state).
#[derive(Debug, Clone, Default)]
pub struct CommitStats {
    /// Tree nodes written, and their key + value bytes.
    pub nodes: usize,
    /// Bytes of the nodes written (keys and records).
    pub node_bytes: usize,
    /// Nodes the block made stale (one stale-index record lists them).
    pub stale: usize,
    /// Tree nodes deleted by pruning.
    pub pruned_nodes: usize,
    /// Inserting tree nodes and stale entries.
    pub tree_time: Duration,
    /// Reading previous values for the undo record and updating the latest-state table.
    pub latest_time: Duration,
    /// Header, block hash, transactions, receipts, root and undo record.
    pub block_time: Duration,
    /// Pruning.
    pub prune_time: Duration,
    /// redb's commit: writing dirty pages and fsync.
    pub durable_time: Duration,
}

/// Everything of a block besides its state changes, as encoded bytes.
#[derive(Debug, Clone, Default)]
pub struct BlockRecord {
    /// The block's height, which is also its state version.
    pub height: u64,
    /// The block's hash.
    pub hash: Hash,
    /// The encoded header.
    pub header: Vec<u8>,
    /// Transactions in order: (hash, encoded).
    pub txs: Vec<(Hash, Vec<u8>)>,
    /// Receipts, one per transaction, in order.
    pub receipts: Vec<Vec<u8>>,
}

/// The embedded database.
pub struct Store {
    db: Database,
    path: PathBuf,
    retention: Retention,
}

/// A redb failure other than corruption (corruption is [`StoreError::Corrupt`]).
fn database(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Database(e.into())
}

/// A stale-index record: the node keys, each prefixed by its length.
fn encode_stale(keys: &[NodeKey]) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.len() * 14);
    for k in keys {
        let k = k.encode();
        out.push(k.len() as u8);
        out.extend_from_slice(&k);
    }
    out
}

impl Store {
    fn map_open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
        use redb::{DatabaseError as D, StorageError as S};
        let corrupt = |reason: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        match e {
            D::DatabaseAlreadyOpen | D::LockProtocolMismatch => {
                StoreError::Locked(path.to_path_buf())
            }
            D::Storage(S::Corrupted(r)) => corrupt(r),
            D::Storage(S::Io(source)) if source.kind() == std::io::ErrorKind::InvalidData => {
                StoreError::CorruptFile {
                    path: path.to_path_buf(),
                    source,
                }
            }
            D::UpgradeRequired(v) => corrupt(format!("file format version {v} needs an upgrade")),
            D::RepairAborted => corrupt("repair failed".into()),
            other => database(other),
        }
    }

    /// Creates a new archive store in `dir` (created if needed); fails if one is already
    /// there.
    pub fn create(dir: &Path) -> Result<Store, StoreError> {
        Self::create_with(dir, Retention::Archive)
    }

    /// Creates a new store in `dir` keeping the versions `retention` says.
    pub fn create_with(dir: &Path, retention: Retention) -> Result<Store, StoreError> {
        retention.check()?;
        std::fs::create_dir_all(dir).map_err(|source| StoreError::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::Exists(path));
        }
        let db = Database::create(&path).map_err(|e| Self::map_open_error(&path, e))?;
        let store = Store {
            db,
            path,
            retention,
        };
        store.init_schema()?;
        Ok(store)
    }

    /// Opens the store in `dir` with the retention it was created or last opened with.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Self::open_with(dir, None)
    }

    /// Opens the store in `dir`; with `Some(retention)`, switches it to that mode and keeps
    /// the mode for later opens. An archive may become pruned and a pruned store may change
    /// its window; a pruned store cannot become an archive again (its history is gone):
    /// [`StoreError::RetentionDowngrade`].
    pub fn open_with(dir: &Path, retention: Option<Retention>) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        let db = Database::open(&path).map_err(|e| Self::map_open_error(&path, e))?;
        let mut store = Store {
            db,
            path,
            retention: Retention::Archive,
        };
        store.retention = store.check_schema()?;
        if let Some(wanted) = retention {
            store.set_retention(wanted)?;
        }
        Ok(store)
    }

    /// A store that lives in memory only (tests, simulations).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::in_memory_with(Retention::Archive)
    }

    /// An in-memory store keeping the versions `retention` says.
    pub fn in_memory_with(retention: Retention) -> Result<Store, StoreError> {
        retention.check()?;
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(database)?;
        let store = Store {
            db,
            path: PathBuf::from(":memory:"),
            retention,
        };
        store.init_schema()?;
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file redb has allocated to pages (the file itself grows in large steps).
    pub fn allocated_bytes(&self) -> Result<u64, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        let stats = w.stats().map_err(|e| self.map_storage(e))?;
        let bytes = stats.allocated_pages() * stats.page_size() as u64;
        w.abort().map_err(|e| self.map_storage(e))?;
        Ok(bytes)
    }

    /// Which versions this store keeps.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    fn set_retention(&mut self, wanted: Retention) -> Result<(), StoreError> {
        wanted.check()?;
        if wanted == self.retention {
            return Ok(());
        }
        if let (Retention::Recent(_), Retention::Archive) = (self.retention, wanted) {
            return Err(StoreError::RetentionDowngrade {
                path: self.path.clone(),
                current: self.retention,
            });
        }
        let w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        w.open_table(META)
            .map_err(|e| self.map_storage(e))?
            .insert(RETENTION_KEY, wanted.encode().as_slice())
            .map_err(|e| self.map_storage(e))?;
        w.commit().map_err(|e| self.map_storage(e))?;
        self.retention = wanted;
        Ok(())
    }

    fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn map_storage(&self, e: impl Into<redb::Error>) -> StoreError {
        match e.into() {
            redb::Error::Corrupted(r) => self.corrupt(r),
            other => StoreError::Database(other),
        }
    }

    fn init_schema(&self) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        {
            let m = |e: redb::TableError| self.map_storage(e);
            let mut meta = w.open_table(META).map_err(m)?;
            meta.insert("schema", SCHEMA)
                .map_err(|e| self.map_storage(e))?;
            meta.insert(RETENTION_KEY, self.retention.encode().as_slice())
                .map_err(|e| self.map_storage(e))?;
            // Create every table so readers never meet a missing one.
            w.open_table(NODES).map_err(m)?;
            w.open_table(STALE).map_err(m)?;
            w.open_table(STATE).map_err(m)?;
            w.open_table(ROOTS).map_err(m)?;
            w.open_table(HEADERS).map_err(m)?;
            w.open_table(BLOCK_HASHES).map_err(m)?;
            w.open_table(TXS).map_err(m)?;
            w.open_table(TX_INDEX).map_err(m)?;
            w.open_table(RECEIPTS).map_err(m)?;
            w.open_table(UNDO).map_err(m)?;
        }
        w.commit().map_err(|e| self.map_storage(e))
    }

    /// Checks the schema and returns the stored retention mode.
    fn check_schema(&self) -> Result<Retention, StoreError> {
        let r = self.read()?;
        let meta = r
            .open_table(META)
            .map_err(|_| self.corrupt("not a chainvm database (no meta table)"))?;
        match meta.get("schema").map_err(|e| self.map_storage(e))? {
            Some(v) if v.value() == SCHEMA => {}
            Some(v) if OLD_SCHEMAS.contains(&v.value()) => {
                return Err(self.corrupt(
                    "written by an older chainvm (tree nodes keyed by hash): start a new chain \
                     with `chainvm init --force`",
                ));
            }
            Some(v) => {
                return Err(self.corrupt(format!(
                    "unknown schema {:?}",
                    String::from_utf8_lossy(v.value())
                )));
            }
            None => return Err(self.corrupt("not a chainvm database (no schema)")),
        }
        let got = meta
            .get(RETENTION_KEY)
            .map_err(|e| self.map_storage(e))?
            .ok_or_else(|| self.corrupt("no retention mode"))?;
        Retention::decode(got.value()).ok_or_else(|| self.corrupt("bad retention mode"))
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(|e| self.map_storage(e))
    }

    /// A consistent read-only view of the latest committed version.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        Snapshot::new(self.read()?, self.path.clone())
    }

    /// The latest committed version and its root.
    pub fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(self.snapshot()?.version())
    }

    /// Applies `writes` to the tree of the latest version, computing the new root without
    /// writing anything.
    pub fn stage(&self, writes: StateWrites) -> Result<StagedState, StoreError> {
        let snap = self.snapshot()?;
        let (base, root) = match snap.latest_ref() {
            Some((v, r)) => (Some(v), r),
            None => (None, Child::empty()),
        };
        let changes: Vec<Change> = writes
            .iter()
            .map(|(k, v)| (keccak(k), v.as_ref().map(|v| (keccak(v), v.clone()))))
            .collect();
        let version = base.map_or(0, |b| b + 1);
        let update = tree::apply(&snap, &root, version, changes)?;
        Ok(StagedState {
            base,
            root: update.root.hash,
            root_ref: update.root,
            nodes: update.nodes,
            stale: update.stale,
            writes,
        })
    }

    /// The encoded header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.read()?;
        let t = r.open_table(HEADERS).map_err(|e| self.map_storage(e))?;
        Ok(t.get(height)
            .map_err(|e| self.map_storage(e))?
            .map(|v| v.value().to_vec()))
    }

    /// The height of the block with this hash.
    pub fn height_of(&self, block_hash: &Hash) -> Result<Option<u64>, StoreError> {
        let r = self.read()?;
        let t = r
            .open_table(BLOCK_HASHES)
            .map_err(|e| self.map_storage(e))?;
        Ok(t.get(block_hash.as_slice())
            .map_err(|e| self.map_storage(e))?
            .map(|v| v.value()))
    }

    /// Where a transaction is: (height, index in block).
    pub fn tx_location(&self, tx_hash: &Hash) -> Result<Option<(u64, u32)>, StoreError> {
        let r = self.read()?;
        let t = r.open_table(TX_INDEX).map_err(|e| self.map_storage(e))?;
        Ok(t.get(tx_hash.as_slice())
            .map_err(|e| self.map_storage(e))?
            .map(|v| v.value()))
    }

    /// The encoded (transaction, receipt) pairs of the block at `height`, in order.
    pub fn block_body(&self, height: u64) -> Result<Vec<KeyValue>, StoreError> {
        let r = self.read()?;
        let s = |e: redb::StorageError| self.map_storage(e);
        let txs = r.open_table(TXS).map_err(|e| self.map_storage(e))?;
        let receipts = r.open_table(RECEIPTS).map_err(|e| self.map_storage(e))?;
        let mut out = Vec::new();
        for entry in txs.range((height, 0)..=(height, u32::MAX)).map_err(s)? {
            let (k, tx) = entry.map_err(s)?;
            let receipt = receipts.get(k.value()).map_err(s)?.ok_or_else(|| {
                self.corrupt(format!("transaction {:?} has no receipt", k.value()))
            })?;
            out.push((tx.value().to_vec(), receipt.value().to_vec()));
        }
        Ok(out)
    }
}
