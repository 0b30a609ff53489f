//! Transactions a block in progress took from the pool.
//!
//! While a block is produced (executed and committed without the pool's lock), admissions go
//! on: they read the sender's account from the latest committed state. Until the block
//! commits, that state does not show what the block spends, so the pool counts the block's
//! transactions against their senders: the nonces they use and their maximum cost. Once the
//! block commits, the state shows it, and the count no longer applies.

use chainvm_runtime::layout::Account;
use chainvm_runtime::{Address, SignedTransaction, U256};
use std::collections::BTreeMap;

/// The block in progress: the height of the state it was built on, and per sender the next
/// nonce after its transactions in the block and their summed maximum cost.
pub(super) struct InFlight {
    parent: u64,
    by_sender: BTreeMap<Address, (u64, U256)>,
}

impl InFlight {
    /// The block built on the state at height `parent` from `txs`.
    pub(super) fn new(parent: u64, txs: &[SignedTransaction]) -> InFlight {
        let mut by_sender: BTreeMap<Address, (u64, U256)> = BTreeMap::new();
        for tx in txs {
            let e = by_sender.entry(tx.sender()).or_insert((0, U256::zero()));
            e.0 = e.0.max(tx.body.nonce.saturating_add(1));
            e.1 = e.1.saturating_add(tx.body.max_cost().unwrap_or(U256::MAX));
        }
        InFlight { parent, by_sender }
    }

    /// `account` (read from the state at `height`) as the block in progress leaves it: on the
    /// block's parent state, its nonces are used and its maximum cost is spent; on any later
    /// state the block is already in the account.
    pub(super) fn apply(&self, sender: &Address, account: Account, height: u64) -> Account {
        match self.by_sender.get(sender) {
            Some((next, cost)) if height == self.parent => Account {
                nonce: account.nonce.max(*next),
                balance: account.balance.saturating_sub(*cost),
                ..account
            },
            _ => account,
        }
    }
}
