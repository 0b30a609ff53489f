//! The genesis state: funded accounts, validators with stake, and the supply counters.

use crate::layout::{account, set_account};
use crate::staking::{self, Supply};
use crate::state::{Overlay, StateWrites, StoreError};
use crate::types::{Address, U256};
use std::collections::BTreeMap;

/// What the chain starts with.
#[derive(Debug, Clone, Default)]
pub struct Genesis {
    /// Funded accounts.
    pub accounts: Vec<(Address, U256)>,
    /// Validators: (address, public key, bonded stake, commission in basis points). The
    /// address is the key's; their stake is part of the supply.
    pub validators: Vec<(Address, [u8; 32], U256, u32)>,
}

impl Genesis {
    /// The state writes of the genesis block.
    pub fn writes(&self) -> Result<StateWrites, StoreError> {
        let empty: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut o = Overlay::new(&empty);
        let mut total = U256::zero();
        for (a, amount) in &self.accounts {
            let mut acct = account(&o, a)?;
            acct.balance += *amount;
            set_account(&mut o, a, &acct);
            total += *amount;
        }
        for (a, pk, stake, commission_bps) in &self.validators {
            // Credit, then bond, so the stake goes through the same path as a transaction.
            let mut acct = account(&o, a)?;
            acct.balance += *stake;
            set_account(&mut o, a, &acct);
            total += *stake;
            staking::bond_new(&mut o, a, *pk, *commission_bps, *stake)?.map_err(|e| {
                StoreError::Corrupt {
                    path: "genesis".into(),
                    reason: e.to_string(),
                }
            })?;
        }
        staking::set_supply(
            &mut o,
            &Supply {
                genesis: total,
                ..Supply::default()
            },
        );
        Ok(o.into_writes())
    }
}
