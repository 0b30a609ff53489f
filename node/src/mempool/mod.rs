//! The node's mempool: transactions waiting for a block, per sender by nonce.
//!
//! Bounded so that no one can fill it for free:
//! - a cap on the number of transactions and on their encoded bytes;
//! - a cap on the transactions one sender may have queued, and a window of nonces ahead of
//!   the sender's account nonce;
//! - funds checked against everything the sender has queued: the value plus the maximum fee
//!   (`gas_limit × gas_price`) of each, summed, must fit the account balance, so a key
//!   without funds queues nothing and a funded one only what it can pay for;
//! - when full, the worst queued transaction makes room for a better one: gapped ones (not
//!   executable until a missing nonce arrives) before executable ones, then the lowest gas
//!   price; only a sender's last nonce is ever evicted, so eviction never opens a gap;
//! - gapped transactions expire after a lifetime (wall clock: the pool is node-local and
//!   never reaches consensus); executable ones wait for a block however long it takes.
//!
//! Deploy code is validated by the node before a transaction gets here.

mod in_flight;

use chainvm_runtime::layout::Account;
use chainvm_runtime::types::keccak;
use chainvm_runtime::{Address, H256, SignedTransaction, U256};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// The pool's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Most transactions queued.
    pub count: usize,
    /// Most encoded bytes queued.
    pub bytes: usize,
    /// Most transactions one sender may have queued.
    pub per_sender: usize,
    /// How far past the account nonce a queued nonce may be.
    pub nonce_ahead: u64,
    /// How long a gapped transaction waits for the nonces before it.
    pub gapped_lifetime: Duration,
}

impl Default for PoolLimits {
    /// 50,000 transactions, 256 MiB, 1,000 per sender, nonces up to 1,000 ahead, gapped
    /// transactions kept 10 minutes.
    fn default() -> Self {
        PoolLimits {
            count: 50_000,
            bytes: 256 << 20,
            per_sender: 1_000,
            nonce_ahead: 1_000,
            gapped_lifetime: Duration::from_secs(600),
        }
    }
}

/// A transaction's hash (keccak256 of its encoding) and encoded size, from one encoding.
fn hash_and_size(tx: &SignedTransaction) -> (H256, usize) {
    let encoded = tx.encode();
    (keccak(&encoded), encoded.len())
}

/// One queued transaction.
struct Entry {
    tx: SignedTransaction,
    hash: H256,
    bytes: usize,
    /// Value plus maximum fee.
    cost: U256,
    added: Instant,
}

/// One sender's queue.
#[derive(Default)]
struct Queue {
    /// The account nonce last seen: the next nonce a block can include.
    base: u64,
    txs: BTreeMap<u64, Entry>,
}

impl Queue {
    /// Whether every queued nonce follows the account nonce without a gap.
    fn contiguous(&self) -> bool {
        match (self.txs.first_key_value(), self.txs.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                *first == self.base && last - first + 1 == self.txs.len() as u64
            }
            _ => true,
        }
    }
}

/// A transaction the pool accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// Its hash.
    pub hash: H256,
    /// Whether a block could include it now (no nonce missing before it).
    pub ready: bool,
}

/// Transactions waiting for a block.
#[derive(Default)]
pub struct Mempool {
    limits: PoolLimits,
    by_sender: BTreeMap<Address, Queue>,
    known: HashSet<H256>,
    len: usize,
    bytes: usize,
    /// The block being produced, if any (see [`Mempool::begin_block`]).
    in_flight: Option<in_flight::InFlight>,
}

impl Mempool {
    /// An empty pool with these bounds.
    pub fn new(limits: PoolLimits) -> Mempool {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// Transactions queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Encoded bytes queued.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn remove(&mut self, sender: &Address, nonce: u64) -> Option<Entry> {
        let q = self.by_sender.get_mut(sender)?;
        let e = q.txs.remove(&nonce)?;
        if q.txs.is_empty() {
            self.by_sender.remove(sender);
        }
        self.known.remove(&e.hash);
        self.len -= 1;
        self.bytes -= e.bytes;
        Some(e)
    }

    /// Drops a sender's transactions below its account nonce (included or replaced).
    fn drop_stale(&mut self, sender: &Address, nonce: u64) {
        let Some(q) = self.by_sender.get_mut(sender) else {
            return;
        };
        q.base = q.base.max(nonce);
        let stale: Vec<u64> = q.txs.range(..nonce).map(|(n, _)| *n).collect();
        for n in stale {
            self.remove(sender, n);
        }
    }

    /// Admits `tx` from a sender whose account is `account`, at time `now`, evicting worse
    /// transactions if the pool is full; the reason if refused.
    pub fn insert(
        &mut self,
        tx: SignedTransaction,
        account: &Account,
        now: Instant,
    ) -> Result<Admitted, String> {
        let (hash, bytes) = hash_and_size(&tx);
        if self.known.contains(&hash) {
            return Err("transaction already known".into());
        }
        let (n, base) = (tx.body.nonce, account.nonce);
        if n < base {
            return Err(format!("nonce {n} already used (next nonce is {base})"));
        }
        if n > base.saturating_add(self.limits.nonce_ahead) {
            return Err(format!(
                "nonce {n} is too far ahead of the next nonce {base}"
            ));
        }
        let sender = tx.sender();
        self.drop_stale(&sender, base);
        let Some(cost) = tx.body.max_cost() else {
            return Err("insufficient funds: value + gas limit x gas price overflows".into());
        };
        let empty = BTreeMap::new();
        let queued = self.by_sender.get(&sender).map_or(&empty, |q| &q.txs);
        let replaced = queued.get(&n).map(|e| (e.tx.body.gas_price, e.bytes));
        if let Some((price, _)) = replaced
            && price >= tx.body.gas_price
        {
            return Err(format!(
                "a transaction with nonce {n} is already pending at a higher or equal gas price"
            ));
        }
        if replaced.is_none() && queued.len() >= self.limits.per_sender {
            return Err(format!(
                "sender already has {} transactions queued (the most one sender may have)",
                queued.len()
            ));
        }
        let needed = queued
            .iter()
            .filter(|(k, _)| **k != n)
            .try_fold(cost, |sum, (_, e)| sum.checked_add(e.cost));
        match needed {
            Some(needed) if needed <= account.balance => {}
            needed => {
                return Err(format!(
                    "insufficient funds: need {} (value + gas limit x gas price of this and every \
                     queued transaction of the sender), have {}",
                    needed.map_or_else(|| "more than 2^256".into(), |n| n.to_string()),
                    account.balance
                ));
            }
        }
        let ready = queued.range(base..n).count() as u64 == n - base;
        let (freed_count, freed_bytes) = replaced.map_or((0, 0), |(_, b)| (1, b));
        let full = |p: &Mempool| {
            p.len.saturating_sub(freed_count) >= p.limits.count
                || p.bytes.saturating_sub(freed_bytes) + bytes > p.limits.bytes
        };
        if full(self) {
            self.expire(now);
        }
        // Evict worse transactions until it fits; if it cannot, put them back.
        let mut evicted = Vec::new();
        while full(self) {
            let victim = match self.worst(&sender) {
                Some((victim, key)) if key < (ready, tx.body.gas_price) => self
                    .by_sender
                    .get(&victim)
                    .and_then(|q| Some((q.base, *q.txs.keys().next_back()?)))
                    .and_then(|(b, last)| Some((victim, b, last, self.remove(&victim, last)?))),
                _ => None,
            };
            match victim {
                Some(v) => evicted.push(v),
                None => {
                    for (a, b, n, e) in evicted.into_iter().rev() {
                        self.restore(a, b, n, e);
                    }
                    return Err(
                        "mempool full (of transactions that pay at least as much)".to_string()
                    );
                }
            }
        }
        if replaced.is_some() {
            self.remove(&sender, n);
        }
        self.by_sender.entry(sender).or_default().base = base;
        self.put(
            sender,
            Entry {
                tx,
                hash,
                bytes,
                cost,
                added: now,
            },
        );
        Ok(Admitted { hash, ready })
    }

    /// Puts back an entry evicted from `sender`'s queue (whose base was `base`).
    fn restore(&mut self, sender: Address, base: u64, nonce: u64, e: Entry) {
        let q = self.by_sender.entry(sender).or_default();
        q.base = q.base.max(base);
        self.known.insert(e.hash);
        self.len += 1;
        self.bytes += e.bytes;
        q.txs.insert(nonce, e);
    }

    /// The sender (other than `except`) whose last queued transaction is the worst: gapped
    /// before executable, then the lowest gas price. Returns it with that transaction's key.
    fn worst(&self, except: &Address) -> Option<(Address, (bool, U256))> {
        self.by_sender
            .iter()
            .filter(|(a, _)| *a != except)
            .filter_map(|(a, q)| {
                let (_, last) = q.txs.last_key_value()?;
                Some((*a, (q.contiguous(), last.tx.body.gas_price)))
            })
            .min_by(|x, y| x.1.cmp(&y.1))
    }

    /// Drops gapped transactions older than the lifetime.
    pub fn expire(&mut self, now: Instant) {
        let lifetime = self.limits.gapped_lifetime;
        let mut old = Vec::new();
        for (sender, q) in &self.by_sender {
            let mut expected = q.base;
            for (n, e) in &q.txs {
                if *n == expected {
                    expected += 1;
                } else if now.saturating_duration_since(e.added) > lifetime {
                    old.push((*sender, *n));
                }
            }
        }
        for (sender, n) in old {
            self.remove(&sender, n);
        }
    }

    /// Takes up to `max` transactions for a block: each sender's in nonce order starting at
    /// its account nonce, highest gas price first across senders (ties by address).
    pub fn select(
        &mut self,
        nonce_of: impl Fn(&Address) -> u64,
        max: usize,
    ) -> Vec<SignedTransaction> {
        self.pick(nonce_of, max, true)
    }

    /// The transactions [`Mempool::select`] would take, left in the pool (a network's
    /// proposal: they leave only when a block holding them commits).
    pub fn peek(
        &mut self,
        nonce_of: impl Fn(&Address) -> u64,
        max: usize,
    ) -> Vec<SignedTransaction> {
        self.pick(nonce_of, max, false)
    }

    /// [`Mempool::select`]'s choice, removing what it picks when `take`. Stale entries (below
    /// a sender's account nonce) are dropped either way.
    fn pick(
        &mut self,
        nonce_of: impl Fn(&Address) -> u64,
        max: usize,
        take: bool,
    ) -> Vec<SignedTransaction> {
        let senders: Vec<Address> = self.by_sender.keys().copied().collect();
        let mut next: BTreeMap<Address, u64> = BTreeMap::new();
        for sender in senders {
            let nonce = nonce_of(&sender);
            self.drop_stale(&sender, nonce);
            next.insert(sender, nonce);
        }
        let mut out = Vec::new();
        while out.len() < max {
            let best = next
                .iter()
                .filter_map(|(s, n)| {
                    self.by_sender
                        .get(s)
                        .and_then(|q| q.txs.get(n))
                        .map(|e| (e.tx.body.gas_price, *s))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            let Some((_, sender)) = best else { break };
            let n = next[&sender];
            let picked = if take {
                self.remove(&sender, n).map(|e| e.tx)
            } else {
                self.by_sender
                    .get(&sender)
                    .and_then(|q| q.txs.get(&n))
                    .map(|e| e.tx.clone())
            };
            out.extend(picked);
            next.insert(sender, n + 1);
        }
        out
    }

    /// Records that a block is being produced on the state at height `parent` from `txs`
    /// (taken with [`Mempool::select`]): until [`Mempool::end_block`], admissions that read
    /// that state see the block's nonces used and its maximum cost spent
    /// ([`Mempool::account_for_admission`]).
    pub fn begin_block(&mut self, parent: u64, txs: &[SignedTransaction]) {
        self.in_flight = Some(in_flight::InFlight::new(parent, txs));
    }

    /// The block in progress is committed (its effects are in the state) or abandoned.
    pub fn end_block(&mut self) {
        self.in_flight = None;
    }

    /// The account to admit `sender`'s transaction against, given its `account` in the
    /// committed state at `height`: with the block in progress counted when that state does
    /// not show it yet.
    pub fn account_for_admission(
        &self,
        sender: &Address,
        account: Account,
        height: u64,
    ) -> Account {
        match &self.in_flight {
            Some(f) => f.apply(sender, account, height),
            None => account,
        }
    }

    /// The nonce a new transaction of `sender` takes, given its `account_nonce`: the first
    /// nonce from there on that none of the sender's queued transactions holds (the node
    /// signs its own evidence reports at this nonce).
    pub fn next_nonce(&self, sender: &Address, account_nonce: u64) -> u64 {
        let Some(q) = self.by_sender.get(sender) else {
            return account_nonce;
        };
        let mut n = account_nonce;
        while q.txs.contains_key(&n) {
            n += 1;
        }
        n
    }

    /// Records that a block included `tx`: its sender's next nonce follows it.
    pub fn included(&mut self, tx: &SignedTransaction) {
        if let Some(q) = self.by_sender.get_mut(&tx.sender()) {
            q.base = q.base.max(tx.body.nonce + 1);
        }
    }

    /// Puts back a transaction [`Mempool::select`] took that the block could not hold (its
    /// gas was used up), for the next block. It was admitted once, so only the bounds apply
    /// again: it fits, since the block took it from this pool.
    pub fn requeue(&mut self, tx: SignedTransaction, now: Instant) {
        let (hash, bytes) = hash_and_size(&tx);
        if self.known.contains(&hash) {
            return;
        }
        let cost = tx.body.max_cost().unwrap_or(U256::MAX);
        let sender = tx.sender();
        if self
            .by_sender
            .get(&sender)
            .is_some_and(|q| q.txs.contains_key(&tx.body.nonce))
        {
            return;
        }
        self.put(
            sender,
            Entry {
                tx,
                hash,
                bytes,
                cost,
                added: now,
            },
        );
    }

    /// Adds an entry under its sender and nonce, and counts it.
    fn put(&mut self, sender: Address, entry: Entry) {
        self.known.insert(entry.hash);
        self.len += 1;
        self.bytes += entry.bytes;
        self.by_sender
            .entry(sender)
            .or_default()
            .txs
            .insert(entry.tx.body.nonce, entry);
    }
}

#[cfg(test)]
mod tests;
