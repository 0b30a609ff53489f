//! The chain's embedded database: versioned Merkle state, blocks, transactions and receipts
//! in one redb file in the chain's home directory.
//!
//! Committing a block is one redb write transaction holding its state changes (new tree
//! nodes, values, the latest-state table, the version's root), its header, transactions and
//! receipts: after a crash at any instant the store holds either the whole block or none of
//! it. Tree nodes are stored by hash and never rewritten, so the root of every committed
//! version stays readable and provable (nothing is pruned).

pub use crate::error::StoreError;
use crate::proof::Proof;
use crate::tree::{self, Hash, Node, NodeReader, TreeError, empty_hash, keccak};
use crate::{StateReader, StateWrites};
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
};
use std::path::{Path, PathBuf};

const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_nodes");
const VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("values_by_hash");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("latest_state");
const ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("roots");
const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const BLOCK_HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("block_hashes");
const TXS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("transactions");
const TX_INDEX: TableDefinition<&[u8], (u64, u32)> = TableDefinition::new("tx_index");
const RECEIPTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("receipts");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const UNDO: TableDefinition<u64, &[u8]> = TableDefinition::new("undo");

/// What committing a block changed outside the (append-only) tree, so the block can be
/// undone: its hash, its transaction hashes and the previous latest-state values.
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
const SCHEMA: &[u8] = b"chainvm-store-1";

/// The state changes of a block, applied to the tree and ready to commit.
#[derive(Debug, Clone)]
pub struct StagedState {
    /// Version these changes apply on (`None` before genesis).
    pub base: Option<u64>,
    /// The new state root.
    pub root: Hash,
    nodes: Vec<(Hash, Node)>,
    writes: StateWrites,
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
}

/// A redb failure other than corruption (corruption is [`StoreError::Corrupt`]).
fn database(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Database(e.into())
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

    /// Creates a new store in `dir` (created if needed); fails if one is already there.
    pub fn create(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::Exists(path));
        }
        let db = Database::create(&path).map_err(|e| Self::map_open_error(&path, e))?;
        let store = Store { db, path };
        store.init_schema()?;
        Ok(store)
    }

    /// Opens the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        let db = Database::open(&path).map_err(|e| Self::map_open_error(&path, e))?;
        let store = Store { db, path };
        store.check_schema()?;
        Ok(store)
    }

    /// A store that lives in memory only (tests, simulations).
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(database)?;
        let store = Store {
            db,
            path: PathBuf::from(":memory:"),
        };
        store.init_schema()?;
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
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
            let mut meta = w.open_table(META).map_err(|e| self.map_storage(e))?;
            meta.insert("schema", SCHEMA)
                .map_err(|e| self.map_storage(e))?;
            // Create every table so readers never meet a missing one.
            w.open_table(NODES).map_err(|e| self.map_storage(e))?;
            w.open_table(VALUES).map_err(|e| self.map_storage(e))?;
            w.open_table(STATE).map_err(|e| self.map_storage(e))?;
            w.open_table(ROOTS).map_err(|e| self.map_storage(e))?;
            w.open_table(HEADERS).map_err(|e| self.map_storage(e))?;
            w.open_table(BLOCK_HASHES)
                .map_err(|e| self.map_storage(e))?;
            w.open_table(TXS).map_err(|e| self.map_storage(e))?;
            w.open_table(TX_INDEX).map_err(|e| self.map_storage(e))?;
            w.open_table(RECEIPTS).map_err(|e| self.map_storage(e))?;
            w.open_table(UNDO).map_err(|e| self.map_storage(e))?;
        }
        w.commit().map_err(|e| self.map_storage(e))
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let r = self.read()?;
        let meta = r
            .open_table(META)
            .map_err(|_| self.corrupt("not a chainvm database (no meta table)"))?;
        match meta.get("schema").map_err(|e| self.map_storage(e))? {
            Some(v) if v.value() == SCHEMA => Ok(()),
            Some(v) => Err(self.corrupt(format!(
                "unknown schema {:?}",
                String::from_utf8_lossy(v.value())
            ))),
            None => Err(self.corrupt("not a chainvm database (no schema)")),
        }
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(|e| self.map_storage(e))
    }

    /// A consistent read-only view of the latest committed version.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let r = self.read()?;
        let open = |e: redb::TableError| self.map_storage(e);
        let version = {
            let roots = r.open_table(ROOTS).map_err(open)?;
            let last = roots.last().map_err(|e| self.map_storage(e))?;
            match last {
                Some((k, v)) => Some((
                    k.value(),
                    to_hash(v.value()).ok_or_else(|| self.corrupt("bad root"))?,
                )),
                None => None,
            }
        };
        Ok(Snapshot {
            version,
            state: r.open_table(STATE).map_err(open)?,
            nodes: r.open_table(NODES).map_err(open)?,
            values: r.open_table(VALUES).map_err(open)?,
            roots: r.open_table(ROOTS).map_err(open)?,
            path: self.path.clone(),
        })
    }

    /// The latest committed version and its root.
    pub fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError> {
        Ok(self.snapshot()?.version)
    }

    /// Applies `writes` to the tree of the latest version, computing the new root without
    /// writing anything.
    pub fn stage(&self, writes: StateWrites) -> Result<StagedState, StoreError> {
        let snap = self.snapshot()?;
        let (base, root) = match snap.version {
            Some((v, r)) => (Some(v), r),
            None => (None, empty_hash()),
        };
        let changes: Vec<(Hash, Option<Hash>)> = writes
            .iter()
            .map(|(k, v)| (keccak(k), v.as_deref().map(keccak)))
            .collect();
        let update = tree::apply(&snap, root, &changes)?;
        Ok(StagedState {
            base,
            root: update.root,
            nodes: update.nodes,
            writes,
        })
    }

    /// Commits a staged state with its block in one transaction. The block's height becomes
    /// the new version and must follow the staged base.
    pub fn commit(&self, staged: StagedState, block: &BlockRecord) -> Result<(), StoreError> {
        let want = staged.base.map_or(0, |b| b + 1);
        if block.height != want {
            return Err(StoreError::NotNext {
                height: block.height,
                base: staged.base,
            });
        }
        if block.receipts.len() != block.txs.len() {
            return Err(StoreError::ReceiptCount {
                txs: block.txs.len(),
                receipts: block.receipts.len(),
            });
        }
        let w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        {
            let m = |e: redb::TableError| self.map_storage(e);
            let s = |e: redb::StorageError| self.map_storage(e);
            let mut roots = w.open_table(ROOTS).map_err(m)?;
            let latest = roots.last().map_err(s)?.map(|(k, _)| k.value());
            if latest != staged.base {
                return Err(StoreError::Conflict {
                    staged: staged.base,
                    latest,
                });
            }
            roots
                .insert(block.height, staged.root.as_slice())
                .map_err(s)?;
            let mut nodes = w.open_table(NODES).map_err(m)?;
            for (h, n) in &staged.nodes {
                nodes
                    .insert(h.as_slice(), n.encode().as_slice())
                    .map_err(s)?;
            }
            let mut values = w.open_table(VALUES).map_err(m)?;
            let mut state = w.open_table(STATE).map_err(m)?;
            let mut undo = Undo {
                block_hash: block.hash,
                tx_hashes: block.txs.iter().map(|(h, _)| *h).collect(),
                previous: Vec::with_capacity(staged.writes.len()),
            };
            for k in staged.writes.keys() {
                let prev = state
                    .get(k.as_slice())
                    .map_err(s)?
                    .map(|v| v.value().to_vec());
                undo.previous.push((k.clone(), prev));
            }
            let undo = borsh::to_vec(&undo).map_err(StoreError::Encode)?;
            w.open_table(UNDO)
                .map_err(m)?
                .insert(block.height, undo.as_slice())
                .map_err(s)?;
            for (k, v) in &staged.writes {
                match v {
                    Some(v) => {
                        values
                            .insert(keccak(v).as_slice(), v.as_slice())
                            .map_err(s)?;
                        state.insert(k.as_slice(), v.as_slice()).map_err(s)?;
                    }
                    None => {
                        state.remove(k.as_slice()).map_err(s)?;
                    }
                }
            }
            w.open_table(HEADERS)
                .map_err(m)?
                .insert(block.height, block.header.as_slice())
                .map_err(s)?;
            w.open_table(BLOCK_HASHES)
                .map_err(m)?
                .insert(block.hash.as_slice(), block.height)
                .map_err(s)?;
            let mut txs = w.open_table(TXS).map_err(m)?;
            let mut index = w.open_table(TX_INDEX).map_err(m)?;
            let mut receipts = w.open_table(RECEIPTS).map_err(m)?;
            for (i, ((hash, tx), receipt)) in block.txs.iter().zip(&block.receipts).enumerate() {
                let at = (block.height, i as u32);
                txs.insert(at, tx.as_slice()).map_err(s)?;
                index.insert(hash.as_slice(), at).map_err(s)?;
                receipts.insert(at, receipt.as_slice()).map_err(s)?;
            }
        }
        w.commit().map_err(|e| self.map_storage(e))
    }

    /// Undoes every block above `version`, in one transaction: the latest state goes back to
    /// that version and the blocks, transactions and receipts above it disappear. Tree nodes
    /// stay (they are content-addressed and unreachable from the remaining roots).
    pub fn revert_to(&self, version: u64) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        {
            let m = |e: redb::TableError| self.map_storage(e);
            let s = |e: redb::StorageError| self.map_storage(e);
            let mut roots = w.open_table(ROOTS).map_err(m)?;
            let Some(latest) = roots.last().map_err(s)?.map(|(k, _)| k.value()) else {
                return Err(StoreError::UnknownVersion(version));
            };
            if version > latest || roots.get(version).map_err(s)?.is_none() {
                return Err(StoreError::UnknownVersion(version));
            }
            let mut undo_t = w.open_table(UNDO).map_err(m)?;
            let mut state = w.open_table(STATE).map_err(m)?;
            let mut headers = w.open_table(HEADERS).map_err(m)?;
            let mut hashes = w.open_table(BLOCK_HASHES).map_err(m)?;
            let mut txs = w.open_table(TXS).map_err(m)?;
            let mut index = w.open_table(TX_INDEX).map_err(m)?;
            let mut receipts = w.open_table(RECEIPTS).map_err(m)?;
            for h in (version + 1..=latest).rev() {
                let bytes = undo_t
                    .remove(h)
                    .map_err(s)?
                    .map(|v| v.value().to_vec())
                    .ok_or_else(|| self.corrupt(format!("no undo record for block {h}")))?;
                let undo: Undo =
                    borsh::from_slice(&bytes).map_err(|source| StoreError::Undecodable {
                        what: format!("undo record of block {h}"),
                        source,
                    })?;
                for (k, prev) in &undo.previous {
                    match prev {
                        Some(v) => state.insert(k.as_slice(), v.as_slice()).map(|_| ()),
                        None => state.remove(k.as_slice()).map(|_| ()),
                    }
                    .map_err(s)?;
                }
                for (i, tx) in undo.tx_hashes.iter().enumerate() {
                    txs.remove((h, i as u32)).map_err(s)?;
                    receipts.remove((h, i as u32)).map_err(s)?;
                    index.remove(tx.as_slice()).map_err(s)?;
                }
                hashes.remove(undo.block_hash.as_slice()).map_err(s)?;
                headers.remove(h).map_err(s)?;
                roots.remove(h).map_err(s)?;
            }
        }
        w.commit().map_err(|e| self.map_storage(e))
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

fn to_hash(b: &[u8]) -> Option<Hash> {
    b.try_into().ok()
}

/// A consistent read-only view of one committed version (redb MVCC snapshot), also able to
/// read older versions through the tree.
pub struct Snapshot {
    version: Option<(u64, Hash)>,
    state: ReadOnlyTable<&'static [u8], &'static [u8]>,
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    values: ReadOnlyTable<&'static [u8], &'static [u8]>,
    roots: ReadOnlyTable<u64, &'static [u8]>,
    path: PathBuf,
}

impl Snapshot {
    /// The version this snapshot shows, and its root (`None` before genesis).
    pub fn version(&self) -> Option<(u64, Hash)> {
        self.version
    }

    /// The root hash of the latest version (the empty root before genesis).
    pub fn root(&self) -> Hash {
        self.version.map_or_else(empty_hash, |(_, r)| r)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        match e.into() {
            redb::Error::Corrupted(r) => StoreError::Corrupt {
                path: self.path.clone(),
                reason: r,
            },
            other => StoreError::Database(other),
        }
    }

    /// The root of an older (or this) version.
    pub fn root_at(&self, version: u64) -> Result<Hash, StoreError> {
        let v = self.roots.get(version).map_err(|e| self.err(e))?;
        v.and_then(|v| to_hash(v.value()))
            .ok_or(StoreError::UnknownVersion(version))
    }

    /// The value of `key` at `version`, read through that version's tree.
    pub fn get_at(&self, version: u64, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let root = self.root_at(version)?;
        match tree::lookup(self, root, &keccak(key))? {
            None => Ok(None),
            Some(vh) => self.value_by_hash(&vh).map(Some),
        }
    }

    fn value_by_hash(&self, vh: &Hash) -> Result<Vec<u8>, StoreError> {
        let v = self.values.get(vh.as_slice()).map_err(|e| self.err(e))?;
        v.map(|v| v.value().to_vec())
            .ok_or_else(|| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("value {} missing", tree::hex(vh)),
            })
    }

    /// The value of `key` at `version` with a proof against that version's root.
    pub fn prove(&self, version: u64, key: &[u8]) -> Result<(Option<Vec<u8>>, Proof), StoreError> {
        let root = self.root_at(version)?;
        let kh = keccak(key);
        let proof = tree::walk(self, root, &kh)?;
        let value = match proof.leaf {
            Some((k, vh)) if k == kh => Some(self.value_by_hash(&vh)?),
            _ => None,
        };
        Ok((value, proof))
    }

    /// Recomputes `version`'s root from the stored nodes: (recomputed root, leaf count).
    pub fn recompute_root(&self, version: u64) -> Result<(Hash, u64), StoreError> {
        Ok(tree::recompute(self, self.root_at(version)?)?)
    }

    /// Every key and value of the latest version, in key order.
    pub fn entries(&self) -> Result<Vec<KeyValue>, StoreError> {
        self.scan_prefix(&[])
    }

    /// Every key starting with `prefix` and its value, latest version, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let mut out = Vec::new();
        for e in self
            .state
            .range::<&[u8]>(prefix..)
            .map_err(|e| self.err(e))?
        {
            let (k, v) = e.map_err(|e| self.err(e))?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}

impl NodeReader for Snapshot {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        let got = self.nodes.get(hash.as_slice()).map_err(TreeError::Store)?;
        match got {
            None => Ok(None),
            Some(bytes) => Node::decode(bytes.value())
                .map(Some)
                .ok_or(TreeError::MalformedNode(*hash)),
        }
    }
}

impl StateReader for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let v = self.state.get(key).map_err(|e| self.err(e))?;
        Ok(v.map(|v| v.value().to_vec()))
    }
}
