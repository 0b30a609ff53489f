//! Writing versions: committing a block (one durable write transaction) and reverting to an
//! earlier version.

use super::*;

/// Below this many new nodes a commit encodes them itself: a thread costs more.
const PARALLEL_ENCODING_FROM: usize = 256;

/// The encoded (key, record) pairs of `nodes`, in key order.
fn node_records(nodes: &[(NodeKey, Node)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = nodes
        .iter()
        .map(|(key, node)| (key.encode(), node.encode()))
        .collect();
    records.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    records
}

impl Store {
    /// Commits a staged state with its block in one durable transaction. The block's height
    /// becomes the new version and must follow the staged base.
    pub fn commit(&self, staged: StagedState, block: &BlockRecord) -> Result<(), StoreError> {
        self.commit_with_stats(staged, block).map(|_| ())
    }

    /// [`Store::commit`], also saying where the time and bytes went.
    pub fn commit_with_stats(
        &self,
        staged: StagedState,
        block: &BlockRecord,
    ) -> Result<CommitStats, StoreError> {
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
        let mut stats = CommitStats::default();
        let mut w = self.db.begin_write().map_err(|e| self.map_storage(e))?;
        // Never acknowledge a block that is not on disk.
        w.set_durability(redb::Durability::Immediate)
            .map_err(|e| self.corrupt(format!("cannot make the commit durable: {e}")))?;
        std::thread::scope(|scope| -> Result<(), StoreError> {
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
            // Encoding and sorting the block's node records needs nothing from the database:
            // another core does it while the rows below are written. In key order, the
            // records then fill the B-tree's right edge page by page.
            let encoding = (staged.nodes.len() >= PARALLEL_ENCODING_FROM)
                .then(|| scope.spawn(|| node_records(&staged.nodes)));
            let started = Instant::now();
            let mut state = w.open_table(STATE).map_err(m)?;
            let mut undo = Undo {
                block_hash: block.hash,
                tx_hashes: block.txs.iter().map(|(h, _)| *h).collect(),
                previous: Vec::with_capacity(staged.writes.len()),
            };
            for (k, v) in &staged.writes {
                let prev = match v {
                    Some(v) => state.insert(k.as_slice(), v.as_slice()),
                    None => state.remove(k.as_slice()),
                }
                .map_err(s)?
                .map(|p| p.value().to_vec());
                undo.previous.push((k.clone(), prev));
            }
            stats.latest_time = started.elapsed();

            let started = Instant::now();
            roots
                .insert(block.height, staged.root_ref.encode().as_slice())
                .map_err(s)?;
            let undo = borsh::to_vec(&undo).map_err(StoreError::Encode)?;
            let mut undo_t = w.open_table(UNDO).map_err(m)?;
            undo_t.insert(block.height, undo.as_slice()).map_err(s)?;
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
            stats.block_time = started.elapsed();

            let started = Instant::now();
            let records = match encoding.map(|e| e.join()) {
                Some(Ok(records)) => records,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => node_records(&staged.nodes),
            };
            let mut nodes = w.open_table(NODES).map_err(m)?;
            for (k, v) in &records {
                stats.node_bytes += k.len() + v.len();
                nodes.insert(k.as_slice(), v.as_slice()).map_err(s)?;
            }
            stats.nodes = staged.nodes.len();
            let mut stale = w.open_table(STALE).map_err(m)?;
            if !staged.stale.is_empty() {
                stale
                    .insert(block.height, encode_stale(&staged.stale).as_slice())
                    .map_err(s)?;
            }
            stats.stale = staged.stale.len();
            stats.tree_time = started.elapsed();

            if let Retention::Recent(n) = self.retention {
                let started = Instant::now();
                let mut meta = w.open_table(META).map_err(m)?;
                let mut tables = crate::retention::Tables {
                    meta: &mut meta,
                    stale: &mut stale,
                    nodes: &mut nodes,
                    roots: &mut roots,
                    undo: &mut undo_t,
                };
                stats.pruned_nodes = crate::retention::prune(
                    &mut tables,
                    block.height,
                    n,
                    staged.stale.len(),
                    &self.path,
                )?;
                stats.prune_time = started.elapsed();
            }
            Ok(())
        })?;
        let started = Instant::now();
        w.commit().map_err(|e| self.map_storage(e))?;
        stats.durable_time = started.elapsed();
        Ok(stats)
    }

    /// Undoes every block above `version`, in one transaction: the latest state goes back to
    /// that version, the tree nodes written above it are deleted and the nodes they replaced
    /// are live again, and the blocks, transactions and receipts above it disappear. In a
    /// pruned store `version` must still be retained ([`StoreError::Pruned`]).
    pub fn revert_to(&self, version: u64) -> Result<(), StoreError> {
        let oldest = self.snapshot()?.oldest();
        if version < oldest {
            return Err(StoreError::Pruned { version, oldest });
        }
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
            // Node keys and stale entries of the undone versions start with a version above
            // `version`: two range deletes.
            let from = (version + 1).to_be_bytes();
            w.open_table(NODES)
                .map_err(m)?
                .retain_in(from.as_slice().., |_, _| false)
                .map_err(s)?;
            w.open_table(STALE)
                .map_err(m)?
                .retain_in(version + 1.., |_, _| false)
                .map_err(s)?;
        }
        w.commit().map_err(|e| self.map_storage(e))
    }
}
