//! Signature checks that run ahead of execution on the other cores.
//!
//! A block's transactions are executed in order on one thread, and each needs its signature
//! checked first. Checking all signatures up front and only then executing leaves the other
//! cores idle during execution, and the executing core idle during the checks. Here worker
//! threads check signatures in chunks, in index order, while the executing thread consumes
//! the verdicts; when the verdict it needs is not ready, the executing thread checks the next
//! unclaimed chunk itself instead of waiting. The verdict of each transaction depends only on
//! the transaction (ed25519 `verify_strict` on its signing message), never on timing or the
//! number of threads, so the block is the same however the work was spread.

use crate::tx::SignedTransaction;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Hashes of transactions whose signature this node has already found valid (a node checks
/// a transaction when it enters the mempool), so the block that includes one does not check
/// it again. Node-local and lookup-only: a hash commits to the whole encoding, signature and
/// key included, so a hit gives exactly the verdict a new check would. Replay never uses it.
#[derive(Debug)]
pub struct VerifiedSignatures {
    inner: Mutex<Remembered>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Remembered {
    /// Each remembered hash, with the number it was remembered under.
    hashes: HashMap<[u8; 32], u64>,
    /// (number, hash) in the order remembered, to forget the oldest first. An entry whose
    /// hash was since taken, or remembered again under a later number, only holds a place.
    order: VecDeque<(u64, [u8; 32])>,
    next: u64,
}

impl VerifiedSignatures {
    /// A cache remembering at most `capacity` transactions.
    pub fn new(capacity: usize) -> Self {
        VerifiedSignatures {
            inner: Mutex::new(Remembered::default()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks `tx`'s signature (ed25519 `verify_strict`), remembering it when valid.
    pub fn check(&self, tx: &SignedTransaction) -> bool {
        if !tx.verify_signature() {
            return false;
        }
        let hash = tx.hash().0;
        let mut m = self.lock();
        let n = m.next;
        m.next += 1;
        m.hashes.insert(hash, n);
        m.order.push_back((n, hash));
        while m.order.len() > self.capacity {
            if let Some((old, h)) = m.order.pop_front()
                && m.hashes.get(&h) == Some(&old)
            {
                m.hashes.remove(&h);
            }
        }
        true
    }

    /// Whether any transaction is remembered (a block skips hashing its transactions if not).
    fn is_empty(&self) -> bool {
        self.lock().hashes.is_empty()
    }

    /// Forgets `hash`, answering whether it was remembered (its signature is valid).
    fn take(&self, hash: &[u8; 32]) -> bool {
        self.lock().hashes.remove(hash).is_some()
    }
}

/// Transactions per unit of work: small enough that the executing thread rarely waits behind
/// a chunk, large enough that claiming one costs nothing next to 16 checks (~0.7 ms).
const CHUNK: usize = 16;

/// Below this many transactions no worker is started: spawning costs more than it saves.
const PARALLEL_FROM: usize = 16;

const PENDING: u8 = 0;
const VALID: u8 = 1;
const INVALID: u8 = 2;

/// The shared verdict table of one block.
struct Table<'a> {
    txs: &'a [SignedTransaction],
    verdicts: Vec<AtomicU8>,
    /// The next chunk nobody has claimed.
    next_chunk: AtomicUsize,
    /// Set when the executing thread needs no more verdicts, so workers stop early.
    done: AtomicBool,
}

impl Table<'_> {
    /// Claims the next chunk and checks it. False once every chunk is claimed (or the block
    /// is done).
    fn check_next_chunk(&self) -> bool {
        if self.done.load(Ordering::Relaxed) {
            return false;
        }
        let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        let start = chunk.saturating_mul(CHUNK);
        if start >= self.txs.len() {
            return false;
        }
        let end = (start + CHUNK).min(self.txs.len());
        for i in start..end {
            if self.verdicts[i].load(Ordering::Relaxed) != PENDING {
                continue;
            }
            // A panic inside the check (never expected) marks the transaction unchecked as
            // invalid; the executor then checks it again in order, so the block's content
            // does not depend on it.
            let ok = std::panic::catch_unwind(|| self.txs[i].verify_signature()).unwrap_or(false);
            self.verdicts[i].store(if ok { VALID } else { INVALID }, Ordering::Release);
        }
        true
    }

    /// The verdict for transaction `i`, checking chunks itself while it is not ready.
    fn verdict(&self, i: usize) -> bool {
        let mut spins = 0u32;
        loop {
            match self.verdicts[i].load(Ordering::Acquire) {
                VALID => return true,
                INVALID => return false,
                _ => {
                    if !self.check_next_chunk() {
                        // Another thread holds the chunk: it finishes within ~0.7 ms.
                        spins += 1;
                        if spins < 64 {
                            std::hint::spin_loop();
                        } else {
                            std::thread::yield_now();
                        }
                    }
                }
            }
        }
    }
}

/// Signature verdicts for a block's transactions, handed out in order to the executing thread
/// by [`with_signatures_ahead`].
pub(crate) struct Verdicts<'t, 'a> {
    table: &'t Table<'a>,
    /// Time the executing thread spent checking signatures or waiting for a verdict.
    waited: Duration,
}

impl Verdicts<'_, '_> {
    /// Whether transaction `i`'s signature is valid.
    pub(crate) fn get(&mut self, i: usize) -> bool {
        if let Some(v) = self.ready(i) {
            return v;
        }
        let started = Instant::now();
        let v = self.table.verdict(i);
        self.waited += started.elapsed();
        v
    }

    fn ready(&self, i: usize) -> Option<bool> {
        match self.table.verdicts[i].load(Ordering::Acquire) {
            VALID => Some(true),
            INVALID => Some(false),
            _ => None,
        }
    }
}

/// Runs `execute` with the signature verdicts of `txs`, checked ahead on the machine's other
/// cores. Returns what `execute` returned and the time the executing thread spent on
/// signatures (checking or waiting): the part of the checks that execution did not hide.
///
/// Transactions `known` remembers are valid without a check (and are forgotten there).
pub(crate) fn with_signatures_ahead<R>(
    txs: &[SignedTransaction],
    known: Option<&VerifiedSignatures>,
    execute: impl FnOnce(&mut Verdicts<'_, '_>) -> R,
) -> (R, Duration) {
    let known = known.filter(|k| !k.is_empty());
    let verdicts = txs
        .iter()
        .map(|t| {
            let valid = known.is_some_and(|k| k.take(&t.hash().0));
            AtomicU8::new(if valid { VALID } else { PENDING })
        })
        .collect();
    let table = Table {
        txs,
        verdicts,
        next_chunk: AtomicUsize::new(0),
        done: AtomicBool::new(false),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if txs.len() < PARALLEL_FROM {
        0
    } else {
        (cores - 1).min(txs.len().div_ceil(CHUNK))
    };
    let mut verdicts = Verdicts {
        table: &table,
        waited: Duration::ZERO,
    };
    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            // A thread that cannot be spawned leaves its share to the executing thread.
            let _ = std::thread::Builder::new()
                .name("chainvm-sigs".into())
                .spawn_scoped(s, || while table.check_next_chunk() {});
        }
        let result = execute(&mut verdicts);
        table.done.store(true, Ordering::Relaxed);
        result
    });
    (result, verdicts.waited)
}

/// Checks every transaction's signature and nothing else, on all cores, with the mechanism
/// blocks use (`with_signatures_ahead`, with no execution to hide behind): the all-cores
/// ceiling of the chain's scheme that benchmarks compare blocks with. The answer depends only
/// on the transactions, never on the number of threads.
pub fn verify_signatures(txs: &[SignedTransaction]) -> Vec<bool> {
    with_signatures_ahead(txs, None, |v| (0..txs.len()).map(|i| v.get(i)).collect()).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::tx::{Payload, Transaction};
    use crate::types::{Address, U256};

    fn txs(n: usize) -> Vec<SignedTransaction> {
        let key = Keypair::derive("signatures ahead", 0);
        (0..n)
            .map(|i| {
                let payload = Payload::Transfer {
                    to: Address::zero(),
                    amount: U256::from(i),
                };
                Transaction::new(7, i as u64, payload).sign(&key)
            })
            .collect()
    }

    #[test]
    fn verdicts_match_in_order_checks_whatever_the_order_of_work() {
        let mut all = txs(100);
        // Corrupt a few signatures in different chunks, including the first and the last.
        for i in [0, 17, 18, 63, 99] {
            all[i].signature[5] ^= 1;
        }
        let expected: Vec<bool> = all.iter().map(|t| t.verify_signature()).collect();
        assert_eq!(expected.iter().filter(|ok| !**ok).count(), 5);
        let (got, _) = with_signatures_ahead(&all, None, |v| {
            (0..all.len()).map(|i| v.get(i)).collect::<Vec<_>>()
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn an_execution_that_stops_early_ends_the_workers() {
        let all = txs(200);
        let (first, _) = with_signatures_ahead(&all, None, |v| v.get(0));
        assert!(first);
    }

    #[test]
    fn remembered_transactions_are_not_checked_again_and_are_forgotten_once_used() {
        let all = txs(40);
        let known = VerifiedSignatures::new(100);
        assert!(known.check(&all[3]));
        let mut forged = all[4].clone();
        forged.signature[1] ^= 1;
        assert!(!known.check(&forged), "an invalid signature is refused");
        assert!(!known.take(&forged.hash().0), "and not remembered");
        let (got, _) = with_signatures_ahead(&all, Some(&known), |v| (0..40).all(|i| v.get(i)));
        assert!(got);
        assert!(known.is_empty(), "the block used the remembered verdict");
    }

    #[test]
    fn the_cache_forgets_the_oldest_beyond_its_capacity() {
        let all = txs(3);
        let known = VerifiedSignatures::new(2);
        for t in &all {
            assert!(known.check(t));
        }
        assert!(!known.take(&all[0].hash().0));
        assert!(known.take(&all[1].hash().0) && known.take(&all[2].hash().0));
    }

    #[test]
    fn a_hash_remembered_again_is_not_forgotten_by_its_earlier_place() {
        let all = txs(3);
        let known = VerifiedSignatures::new(2);
        assert!(known.check(&all[0]));
        assert!(known.take(&all[0].hash().0));
        assert!(
            known.check(&all[0]),
            "remembered again, under a later number"
        );
        // Over capacity: the oldest place (all[0]'s first) goes, all[0] itself stays.
        assert!(known.check(&all[1]));
        assert!(known.take(&all[0].hash().0));
        assert!(known.take(&all[1].hash().0));
        assert!(!known.take(&all[2].hash().0));
    }

    #[test]
    fn small_blocks_are_checked_on_the_calling_thread() {
        let mut all = txs(3);
        all[1].signature[0] ^= 1;
        let (got, _) =
            with_signatures_ahead(&all, None, |v| (0..3).map(|i| v.get(i)).collect::<Vec<_>>());
        assert_eq!(got, vec![true, false, true]);
    }
}
