//! [`Snapshot`]: a consistent read-only view of the store at its latest committed version
//! (a redb read transaction), which also reads and proves the versions it retains.

use crate::StateReader;
use crate::error::StoreError;
use crate::proof::Proof;
use crate::store::{KeyValue, META, NODES, OLDEST_KEY, ROOTS, STATE};
use crate::tree::{self, Child, Hash, Node, NodeKey, NodeReader, TreeError, keccak};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};
use std::path::PathBuf;

/// A consistent read-only view of one committed version (redb MVCC snapshot), also able to
/// read the older versions the store retains through the tree.
pub struct Snapshot {
    version: Option<(u64, Child)>,
    oldest: u64,
    state: ReadOnlyTable<&'static [u8], &'static [u8]>,
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    roots: ReadOnlyTable<u64, &'static [u8]>,
    path: PathBuf,
}

fn corrupt(path: &std::path::Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn map(path: &std::path::Path, e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(r) => corrupt(path, r),
        other => StoreError::Database(other),
    }
}

impl Snapshot {
    pub(crate) fn new(r: ReadTransaction, path: PathBuf) -> Result<Snapshot, StoreError> {
        let roots = r.open_table(ROOTS).map_err(|e| map(&path, e))?;
        let version = match roots.last().map_err(|e| map(&path, e))? {
            Some((k, v)) => Some((
                k.value(),
                Child::decode(v.value()).ok_or_else(|| corrupt(&path, "bad root"))?,
            )),
            None => None,
        };
        let meta = r.open_table(META).map_err(|e| map(&path, e))?;
        let oldest = match meta.get(OLDEST_KEY).map_err(|e| map(&path, e))? {
            Some(v) => u64::from_be_bytes(
                v.value()
                    .try_into()
                    .map_err(|_| corrupt(&path, "bad oldest version"))?,
            ),
            None => 0,
        };
        Ok(Snapshot {
            version,
            oldest,
            state: r.open_table(STATE).map_err(|e| map(&path, e))?,
            nodes: r.open_table(NODES).map_err(|e| map(&path, e))?,
            roots,
            path,
        })
    }

    /// The version this snapshot shows, and its root (`None` before genesis).
    pub fn version(&self) -> Option<(u64, Hash)> {
        self.version.map(|(v, r)| (v, r.hash))
    }

    pub(crate) fn latest_ref(&self) -> Option<(u64, Child)> {
        self.version
    }

    /// The oldest version still readable (0 in an archive).
    pub fn oldest(&self) -> u64 {
        self.oldest
    }

    /// The root hash of the latest version (the empty root before genesis).
    pub fn root(&self) -> Hash {
        self.version.map_or_else(tree::empty_hash, |(_, r)| r.hash)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        map(&self.path, e)
    }

    fn root_ref_at(&self, version: u64) -> Result<Child, StoreError> {
        if version < self.oldest {
            return Err(StoreError::Pruned {
                version,
                oldest: self.oldest,
            });
        }
        let v = self.roots.get(version).map_err(|e| self.err(e))?;
        match v {
            None => Err(StoreError::UnknownVersion(version)),
            Some(v) => Child::decode(v.value())
                .ok_or_else(|| corrupt(&self.path, format!("bad root of version {version}"))),
        }
    }

    /// The root of an older (or this) version.
    pub fn root_at(&self, version: u64) -> Result<Hash, StoreError> {
        Ok(self.root_ref_at(version)?.hash)
    }

    /// The value of `key` at `version`, read through that version's tree.
    pub fn get_at(&self, version: u64, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let root = self.root_ref_at(version)?;
        Ok(tree::lookup(self, &root, &keccak(key))?)
    }

    /// The value of `key` at `version` with a proof against that version's root.
    pub fn prove(&self, version: u64, key: &[u8]) -> Result<(Option<Vec<u8>>, Proof), StoreError> {
        let root = self.root_ref_at(version)?;
        let (proof, value) = tree::walk(self, &root, &keccak(key))?;
        Ok((value, proof))
    }

    /// Recomputes `version`'s root from the stored nodes: (recomputed root, leaf count).
    pub fn recompute_root(&self, version: u64) -> Result<(Hash, u64), StoreError> {
        Ok(tree::recompute(self, &self.root_ref_at(version)?)?)
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

    /// Number of tree nodes stored (all retained versions).
    pub fn node_count(&self) -> Result<u64, StoreError> {
        self.nodes.len().map_err(|e| self.err(e))
    }
}

impl NodeReader for Snapshot {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, TreeError> {
        let got = self
            .nodes
            .get(key.encode().as_slice())
            .map_err(TreeError::Store)?;
        match got {
            None => Ok(None),
            Some(bytes) => Node::decode(bytes.value())
                .map(Some)
                .ok_or(TreeError::MalformedNode(*key)),
        }
    }
}

impl StateReader for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let v = self.state.get(key).map_err(|e| self.err(e))?;
        Ok(v.map(|v| v.value().to_vec()))
    }
}
