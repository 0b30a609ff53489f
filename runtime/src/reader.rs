//! [`ChainReader`]: the read side of a [`Chain`](crate::Chain), usable from any thread without the `Chain`
//! itself (and so without whatever lock a server keeps it under).
//!
//! It shares the chain's store and VM through `Arc`s; every call reads one consistent
//! snapshot of the latest committed block (redb MVCC), so a view, a simulation or a query runs
//! beside block production instead of waiting for it, and a slow one never delays a block.
//! Nothing here writes.

use crate::block::{CertifiedHeader, SignedHeader};
use crate::block::{IncludedTx, StoredBlock};
use crate::embed::{EventCursor, EventFilter, EventLimits, EventPage, page_events};
use crate::error::{ChainError, Record};
use crate::executor::{Executor, ViewCall, ViewOutcome};
use crate::finality::Certificate;
use crate::host::BlockContext;
use crate::layout::{self, Account};
use crate::params::ChainParams;
use crate::receipt::Receipt;
use crate::signatures::VerifiedSignatures;
use crate::tx::SignedTransaction;
use crate::types::{Address, H256};
use chainvm_state::{Overlay, Proof, Snapshot, StateReader, Store};
use chainvm_vm::{GasProfile, Vm};
use std::sync::Arc;

/// Transactions whose checked signature a node remembers: several mempools' worth.
const VERIFIED_CAPACITY: usize = 1 << 16;

/// Read-only access to the latest committed state and history of a chain. Cheap to clone;
/// `Send + Sync`. Obtained from [`crate::Chain::reader`].
#[derive(Clone)]
pub struct ChainReader {
    store: Arc<Store>,
    vm: Arc<Vm>,
    params: Arc<ChainParams>,
    validator: Address,
    /// Signatures this node has checked, shared with the chain's block production.
    verified: Arc<VerifiedSignatures>,
}

/// A state key's value (`None`: absent) with the Merkle proof of it and the state root the
/// proof checks against, so a client can verify the answer without trusting the node.
#[derive(Debug, Clone)]
pub struct StateProof {
    /// The value, or `None` if the key is absent (the proof then proves absence).
    pub value: Option<Vec<u8>>,
    /// Inclusion or absence proof of the key.
    pub proof: Proof,
    /// The state root at the requested height.
    pub root: H256,
}

/// A transaction found by hash: the block and position it was included at, with the
/// transaction and its receipt.
#[derive(Debug, Clone)]
pub struct TxLocation {
    /// Height of the including block.
    pub height: u64,
    /// Position within that block.
    pub index: u32,
    /// The transaction.
    pub transaction: SignedTransaction,
    /// Its receipt.
    pub receipt: Receipt,
}

impl ChainReader {
    pub(crate) fn new(
        store: Arc<Store>,
        vm: Arc<Vm>,
        params: ChainParams,
        validator: Address,
    ) -> ChainReader {
        ChainReader {
            store,
            vm,
            params: Arc::new(params),
            validator,
            verified: Arc::new(VerifiedSignatures::new(VERIFIED_CAPACITY)),
        }
    }

    /// Checks `tx`'s signature and remembers it when valid, so the block that includes it
    /// skips the check (what a node does when a transaction enters its mempool).
    pub fn check_signature(&self, tx: &SignedTransaction) -> bool {
        self.verified.check(tx)
    }

    /// The signatures checked through [`ChainReader::check_signature`] and not yet used.
    pub(crate) fn verified_signatures(&self) -> &VerifiedSignatures {
        &self.verified
    }

    /// The chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The VM (shared with the chain: same module cache).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// An executor over the shared VM (admission checks, code validation).
    pub fn executor(&self) -> Executor<'_> {
        Executor::new(&self.vm, &self.params)
    }

    /// A consistent view of the latest committed state.
    pub fn latest_state(&self) -> Result<Snapshot, ChainError> {
        Ok(self.store.snapshot()?)
    }

    /// Height of the latest block.
    pub fn height(&self) -> Result<u64, ChainError> {
        Ok(self.store.latest()?.map_or(0, |(h, _)| h))
    }

    /// The signed header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<SignedHeader>, ChainError> {
        Ok(self.certified_header(height)?.map(|c| c.signed_header))
    }

    /// The signed header at `height` with the certificate that made it final.
    pub fn certified_header(&self, height: u64) -> Result<Option<CertifiedHeader>, ChainError> {
        match self.store.header(height)? {
            None => Ok(None),
            Some(bytes) => CertifiedHeader::decode(&bytes)
                .map(Some)
                .map_err(|e| ChainError::undecodable(Record::Header, height, e)),
        }
    }

    /// The certificate of block `height` (`None` for genesis or a height not stored).
    pub fn certificate(&self, height: u64) -> Result<Option<Certificate>, ChainError> {
        Ok(self.certified_header(height)?.and_then(|c| c.certificate))
    }

    /// The height of the block with this hash.
    pub fn height_of(&self, hash: &H256) -> Result<Option<u64>, ChainError> {
        Ok(self.store.height_of(&hash.0)?)
    }

    /// The block at `height` with its transactions and receipts.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>, ChainError> {
        let Some(header) = self.certified_header(height)? else {
            return Ok(None);
        };
        let mut txs = Vec::new();
        for (index, (tx, receipt)) in (0u32..).zip(self.store.block_body(height)?) {
            let transaction = SignedTransaction::decode(&tx)
                .map_err(|e| ChainError::undecodable(Record::Transaction(index), height, e))?;
            let receipt = Receipt::decode(&receipt)
                .map_err(|e| ChainError::undecodable(Record::Receipt(index), height, e))?;
            txs.push(IncludedTx {
                transaction,
                receipt,
            });
        }
        Ok(Some(StoredBlock {
            signed_header: header.signed_header,
            certificate: header.certificate,
            txs,
        }))
    }

    /// A transaction by hash, with where it is and its receipt.
    pub fn transaction(&self, hash: &H256) -> Result<Option<TxLocation>, ChainError> {
        let Some((height, index)) = self.store.tx_location(&hash.0)? else {
            return Ok(None);
        };
        let block = self
            .block(height)?
            .ok_or_else(|| ChainError::missing(Record::Block, height))?;
        let IncludedTx {
            transaction,
            receipt,
        } = block
            .txs
            .into_iter()
            .nth(index as usize)
            .ok_or_else(|| ChainError::missing(Record::Transaction(index), height))?;
        Ok(Some(TxLocation {
            height,
            index,
            transaction,
            receipt,
        }))
    }

    /// The account at `address` (empty if none).
    pub fn account(&self, address: &Address) -> Result<Account, ChainError> {
        Ok(layout::account(&self.store.snapshot()?, address)?)
    }

    /// The code of the contract at `address`, if any.
    pub fn code(&self, address: &Address) -> Result<Option<Vec<u8>>, ChainError> {
        let snap = self.store.snapshot()?;
        let Some(hash) = layout::account(&snap, address)?.code_hash else {
            return Ok(None);
        };
        Ok(snap.get(&layout::code_key(&hash))?)
    }

    /// A raw state key's value at `version` (latest if `None`) with its proof and root.
    pub fn prove(&self, key: &[u8], version: Option<u64>) -> Result<StateProof, ChainError> {
        let snap = self.store.snapshot()?;
        let v = match version {
            Some(v) => v,
            None => snap.version().map_or(0, |(v, _)| v),
        };
        let root = snap.root_at(v)?;
        let (value, proof) = snap.prove(v, key)?;
        Ok(StateProof {
            value,
            proof,
            root: H256(root),
        })
    }

    /// One page of matching events (see [`crate::Chain::events_page`]).
    pub fn events_page(
        &self,
        filter: &EventFilter,
        cursor: Option<EventCursor>,
        limits: EventLimits,
    ) -> Result<EventPage, ChainError> {
        page_events(self.height()?, |h| self.block(h), filter, cursor, limits)
    }

    /// The context a call on `snap` sees: the next height, the latest block's time and this
    /// node's validator as proposer (what [`crate::Chain::view`] uses).
    fn view_context(&self, snap: &Snapshot) -> Result<BlockContext, ChainError> {
        let (height, _) = snap.version().unwrap_or((0, [0; 32]));
        let timestamp = self.header(height)?.map_or(0, |h| h.header.timestamp);
        Ok(BlockContext {
            height: height + 1,
            timestamp,
            proposer: self.validator,
        })
    }

    /// Runs a read-only call against the latest state with at most `gas_limit` gas: no
    /// transaction, no block, no fee. The caller bounds `gas_limit` (it is wall time).
    pub fn view_raw(
        &self,
        caller: Address,
        contract: Address,
        method: &str,
        args: &[u8],
        gas_limit: u64,
    ) -> Result<ViewOutcome, ChainError> {
        let snap = self.store.snapshot()?;
        let ctx = self.view_context(&snap)?;
        let call = ViewCall {
            caller,
            contract,
            method,
            args,
            gas_limit,
        };
        Ok(self.executor().view(&snap, &ctx, &call)?)
    }

    /// Executes `tx` as if it were in the next block, committing nothing (gas estimation).
    /// Unlike [`crate::Chain::simulate`] it does not ask whether this node proposes next: the
    /// context is the next height, one second past the latest block (or now, if later), with
    /// this node's validator as proposer.
    pub fn simulate(&self, tx: &SignedTransaction) -> Result<Receipt, ChainError> {
        self.dry_run(|exec, overlay, ctx| exec.apply(overlay, ctx, tx))
    }

    /// Like [`ChainReader::simulate`], with the gas profile of a contract call or deploy (its
    /// total is the receipt's `gas.total`; see [`crate::Executor::apply_profiled`]). `None`
    /// for payloads that run no contract.
    pub fn simulate_profiled(
        &self,
        tx: &SignedTransaction,
    ) -> Result<(Receipt, Option<GasProfile>), ChainError> {
        self.dry_run(|exec, overlay, ctx| exec.apply_profiled(overlay, ctx, tx))
    }

    /// Runs `run` on an overlay of the latest state in a dry run's context (the view context
    /// at node-local wall time, which never reaches a block), and drops the overlay.
    fn dry_run<T>(
        &self,
        run: impl FnOnce(
            &Executor<'_>,
            &mut Overlay<&Snapshot>,
            &BlockContext,
        ) -> Result<T, crate::executor::ApplyError>,
    ) -> Result<T, ChainError> {
        let snap = self.store.snapshot()?;
        let mut ctx = self.view_context(&snap)?;
        ctx.timestamp = crate::production::unix_time().max(ctx.timestamp.saturating_add(1));
        let mut overlay = Overlay::new(&snap);
        Ok(run(&self.executor(), &mut overlay, &ctx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Chain;
    use crate::embed::EXAMPLE_COUNTER_WAT;
    use serde_json::json;

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn a_reader_sees_what_the_chain_commits_from_another_thread() {
        assert_send_sync::<ChainReader>();
        let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
        let code = wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap();
        let counter = chain.deploy(&keys[0], &code, json!(null)).unwrap().address;
        let reader = chain.reader();
        chain
            .call(&keys[0], counter, "incr", json!(null), crate::U256::zero())
            .unwrap();
        let out = std::thread::spawn(move || {
            reader
                .view_raw(Address::zero(), counter, "get", &[], 1_000_000_000)
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(out.result.unwrap(), 1u64.to_le_bytes());
        let reader = chain.reader();
        assert_eq!(reader.height().unwrap(), chain.height().unwrap());
        assert_eq!(
            reader.account(&keys[0].address()).unwrap(),
            chain.account(&keys[0].address()).unwrap()
        );
        assert_eq!(
            reader.code(&counter).unwrap(),
            chain.code(&counter).unwrap()
        );
        let h = chain.height().unwrap();
        assert_eq!(
            reader.block(h).unwrap().unwrap().signed_header,
            chain.block(h).unwrap().unwrap().signed_header
        );
    }

    #[test]
    fn events_page_by_count_and_block_range_and_resume_where_they_stopped() {
        let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
        let code = wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap();
        let counter = chain.deploy(&keys[0], &code, json!(null)).unwrap().address;
        for _ in 0..7 {
            chain
                .call(&keys[0], counter, "incr", json!(null), crate::U256::zero())
                .unwrap();
        }
        // Three events in one block: pages also stop and resume inside a block.
        let nonce = chain.account(&keys[1].address()).unwrap().nonce;
        let txs: Vec<_> = (0..3)
            .map(|i| {
                let incr = crate::Payload::Call {
                    contract: counter,
                    method: "incr".into(),
                    args: vec![],
                    value: crate::U256::zero(),
                };
                crate::Transaction::new(chain.params().chain_id, nonce + i, incr).sign(&keys[1])
            })
            .collect();
        let block = chain.produce_block(&txs).unwrap();
        assert!(block.results.iter().all(|r| r.is_ok()));
        chain.advance_blocks(5).unwrap();
        let filter = EventFilter {
            contract: Some(counter),
            ..EventFilter::default()
        };
        let all = chain.events(&filter).unwrap();
        assert_eq!(all.len(), 10);
        let reader = chain.reader();
        for limits in [
            EventLimits {
                max_blocks: 1_000,
                max_events: 3,
            },
            EventLimits {
                max_blocks: 2,
                max_events: 1_000,
            },
            EventLimits {
                max_blocks: 1,
                max_events: 1,
            },
        ] {
            let (mut got, mut cursor, mut pages) = (Vec::new(), None, 0);
            loop {
                let page = reader.events_page(&filter, cursor, limits).unwrap();
                assert!(page.events.len() <= limits.max_events);
                let blocks: std::collections::BTreeSet<u64> =
                    page.events.iter().map(|e| e.block).collect();
                assert!(blocks.len() as u64 <= limits.max_blocks);
                assert_eq!(page, chain.events_page(&filter, cursor, limits).unwrap());
                got.extend(page.events);
                pages += 1;
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(got, all, "{limits:?}");
            assert!(pages > 2, "{limits:?}: more than one page");
        }
    }
}
