//! [`Retention`]: which state versions a store keeps, and how the mode is stored in meta.

use crate::error::StoreError;
use crate::store::OLDEST_KEY;
use redb::{ReadableTable, Table};
use std::path::Path;

/// Which state versions a store keeps readable and provable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Every version (what `verify` and proofs of old versions need).
    #[default]
    Archive,
    /// The last `n` versions (`n >= 1`); older tree nodes, roots and undo records are deleted
    /// as blocks commit. Headers, transactions and receipts stay.
    Recent(u64),
}

impl Retention {
    /// Refuses a window of 0 versions ([`StoreError::BadRetention`]).
    pub fn check(self) -> Result<Retention, StoreError> {
        match self {
            Retention::Recent(0) => Err(StoreError::BadRetention),
            r => Ok(r),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Retention::Archive => b"archive".to_vec(),
            Retention::Recent(n) => n.to_be_bytes().to_vec(),
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Retention> {
        match bytes {
            b"archive" => Some(Retention::Archive),
            b => Some(Retention::Recent(u64::from_be_bytes(b.try_into().ok()?)))
                .filter(|r| matches!(r, Retention::Recent(n) if *n >= 1)),
        }
    }
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retention::Archive => write!(f, "archive"),
            Retention::Recent(n) => write!(f, "pruned (last {n} versions)"),
        }
    }
}

/// Stale nodes, roots and undo records a commit may prune beyond what it adds, so a
/// backlog (after switching an archive to pruned) drains over a few blocks instead of one.
pub(crate) const PRUNE_SLACK: usize = 4096;

/// Splits a stale-index record into encoded node keys; `None` if malformed.
pub(crate) fn decode_stale(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let key = rest.get(..len as usize)?;
        out.push(key.to_vec());
        bytes = &rest[len as usize..];
    }
    Some(out)
}

/// The tables pruning touches, open in the block's write transaction.
pub(crate) struct Tables<'a, 't> {
    pub meta: &'a mut Table<'t, &'static str, &'static [u8]>,
    pub stale: &'a mut Table<'t, u64, &'static [u8]>,
    pub nodes: &'a mut Table<'t, &'static [u8], &'static [u8]>,
    pub roots: &'a mut Table<'t, u64, &'static [u8]>,
    pub undo: &'a mut Table<'t, u64, &'static [u8]>,
}

/// After committing `height` in a store keeping `n` versions: moves the oldest kept version
/// up to `height + 1 - n` and deletes what only older versions used (stale nodes, roots, undo
/// records), at most [`PRUNE_SLACK`] plus twice the block's own stale nodes. Returns the
/// number of nodes deleted.
pub(crate) fn prune(
    t: &mut Tables,
    height: u64,
    n: u64,
    own_stale: usize,
    path: &Path,
) -> Result<usize, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let s = |e: redb::StorageError| match redb::Error::from(e) {
        redb::Error::Corrupted(r) => corrupt(r),
        other => StoreError::Database(other),
    };
    let stored = match t.meta.get(OLDEST_KEY).map_err(s)? {
        Some(v) => u64::from_be_bytes(
            v.value()
                .try_into()
                .map_err(|_| corrupt("bad oldest version".into()))?,
        ),
        None => 0,
    };
    let oldest = stored.max((height + 1).saturating_sub(n));
    if oldest != stored {
        t.meta
            .insert(OLDEST_KEY, oldest.to_be_bytes().as_slice())
            .map_err(s)?;
    }
    let budget = PRUNE_SLACK + 2 * own_stale;
    // Nodes stale since `oldest` or earlier belong only to versions below it. Whole records,
    // oldest first, until the budget is used.
    let mut gone = Vec::new();
    while gone.len() < budget {
        let Some((v, keys)) = t
            .stale
            .first()
            .map_err(s)?
            .filter(|(k, _)| k.value() <= oldest)
            .map(|(k, v)| (k.value(), decode_stale(v.value())))
        else {
            break;
        };
        let keys = keys.ok_or_else(|| corrupt(format!("bad stale-node record of version {v}")))?;
        t.stale.remove(v).map_err(s)?;
        gone.extend(keys);
    }
    for k in &gone {
        t.nodes.remove(k.as_slice()).map_err(s)?;
    }
    for entry in t
        .roots
        .extract_from_if(..oldest, |_, _| true)
        .map_err(s)?
        .take(PRUNE_SLACK)
    {
        entry.map_err(s)?;
    }
    // Undo records of versions up to `oldest` would only revert below it.
    for entry in t
        .undo
        .extract_from_if(..=oldest, |_, _| true)
        .map_err(s)?
        .take(PRUNE_SLACK)
    {
        entry.map_err(s)?;
    }
    Ok(gone.len())
}
