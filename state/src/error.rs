//! [`StoreError`]: why the store (or a state record read through it) failed. Every variant
//! that wraps a failure of redb, the file system or a decoder keeps it as its `source()`.

use crate::tree::TreeError;
use std::path::PathBuf;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No database in the directory.
    #[error("no chain data in {0}: run `chainvm init` first")]
    Missing(PathBuf),
    /// Another process holds the database open.
    #[error("{0} is locked by another process (is a `chainvm node` running on this home?)")]
    Locked(PathBuf),
    /// A database already exists where a new one was to be created.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// The file is not a chainvm database, or is damaged.
    #[error("chain data in {path} is corrupt: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found wrong (redb reports corruption as text).
        reason: String,
    },
    /// The file is damaged: reading it failed with invalid data.
    #[error("chain data in {path} is corrupt: {source}")]
    CorruptFile {
        /// The database file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// A stored record does not decode.
    #[error("stored {what} does not decode: {source}")]
    Undecodable {
        /// Which record (`undo record of block 7`, `state record 0x…`).
        what: String,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// A staged block no longer sits on the latest version.
    #[error("staged block was built on version {staged:?} but the store is at {latest:?}")]
    Conflict {
        /// Version the block was staged on.
        staged: Option<u64>,
        /// The store's latest version now.
        latest: Option<u64>,
    },
    /// The requested version was pruned (the store keeps only recent versions).
    #[error(
        "state version {version} was pruned: this node keeps versions from {oldest} on (use an archive node for older proofs)"
    )]
    Pruned {
        /// The version asked for.
        version: u64,
        /// The oldest version still kept.
        oldest: u64,
    },
    /// A pruned store was asked to become an archive again.
    #[error(
        "{path} is a {current} store: its older versions are gone, so it cannot become an archive again (start a new archive node, e.g. `chainvm init` without --prune, and replay)"
    )]
    RetentionDowngrade {
        /// The database file.
        path: PathBuf,
        /// Its current mode.
        current: crate::store::Retention,
    },
    /// `--prune 0`: at least the latest version must be kept.
    #[error("a pruned store must keep at least 1 version")]
    BadRetention,
    /// The requested version was never committed.
    #[error("no state version {0}")]
    UnknownVersion(u64),
    /// A block to commit whose height does not follow the staged version (a caller bug).
    #[error("block height {height} does not follow version {base:?}")]
    NotNext {
        /// The block's height.
        height: u64,
        /// The version its state was staged on.
        base: Option<u64>,
    },
    /// A block to commit without exactly one receipt per transaction (a caller bug).
    #[error("one receipt per transaction is required ({txs} transactions, {receipts} receipts)")]
    ReceiptCount {
        /// Transactions in the block.
        txs: usize,
        /// Receipts given.
        receipts: usize,
    },
    /// The database (redb) failed other than by corruption.
    #[error("storage failure: {0}")]
    Database(#[source] redb::Error),
    /// A file-system operation on the store's directory failed.
    #[error("storage failure: {path}: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Encoding a record to store failed.
    #[error("cannot encode a record to store: {0}")]
    Encode(#[source] std::io::Error),
    /// A record the state must hold is missing (e.g. an unbonding entry its queue counts).
    #[error("state record missing: {what}")]
    MissingRecord {
        /// Which record.
        what: String,
    },
    /// Crediting an account would overflow a `U256`: impossible while supply is bounded, so
    /// a broken state invariant.
    #[error("broken state invariant: a balance overflows")]
    BalanceOverflow,
    /// The tree refers to a node the store lacks, or a node that does not decode.
    #[error(transparent)]
    Tree(#[from] TreeError),
}
