//! Stake records in the state: bonded stake per validator, the unbonding queue, and the
//! supply counters that value conservation is checked against.

use crate::layout::{self, account, set_account};
use crate::state::{Overlay, StateReader, StoreError};
use crate::types::{Address, U256, codec};
use borsh::{BorshDeserialize, BorshSerialize};

/// A validator's bonded stake and signing key.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize,
)]
pub struct Validator {
    /// Bonded stake.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub stake: U256,
    /// The ed25519 key that signs its blocks.
    pub public_key: [u8; 32],
}

/// Stake waiting out its unbonding period.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct UnbondingEntry {
    /// Owner.
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub owner: Address,
    /// Amount.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub amount: U256,
    /// Height at which it returns to the owner's balance.
    pub release_height: u64,
}

/// The unbonding queue, ordered by release height.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Unbonding {
    /// Entries, oldest first.
    pub entries: Vec<UnbondingEntry>,
}

/// Chain-wide supply counters.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize,
)]
pub struct Supply {
    /// Everything created at genesis.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub genesis: U256,
    /// Block rewards minted since.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub minted: U256,
    /// Stake destroyed by slashing.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub slashed: U256,
}

/// The validator record of `a`, if it ever bonded.
pub fn validator<R: StateReader>(state: &R, a: &Address) -> Result<Option<Validator>, StoreError> {
    layout::read(state, &layout::validator_key(a))
}

/// The unbonding queue.
pub fn unbonding<R: StateReader>(state: &R) -> Result<Unbonding, StoreError> {
    Ok(layout::read(state, &layout::unbonding_key())?.unwrap_or_default())
}

/// The supply counters.
pub fn supply<R: StateReader>(state: &R) -> Result<Supply, StoreError> {
    Ok(layout::read(state, &layout::supply_key())?.unwrap_or_default())
}

/// Stores the supply counters.
pub fn set_supply<R: StateReader>(state: &mut Overlay<R>, s: &Supply) {
    layout::write(state, &layout::supply_key(), s);
}

/// Moves `amount` from `who`'s balance to its bonded stake, registering it as a validator
/// with `public_key` if new. The caller has checked the balance.
pub fn stake<R: StateReader>(
    state: &mut Overlay<R>,
    who: &Address,
    public_key: [u8; 32],
    amount: U256,
) -> Result<bool, StoreError> {
    let mut acct = account(state, who)?;
    if acct.balance < amount {
        return Ok(false);
    }
    acct.balance -= amount;
    set_account(state, who, &acct);
    let mut v = validator(state, who)?.unwrap_or(Validator {
        stake: U256::zero(),
        public_key,
    });
    v.stake += amount;
    layout::write(state, &layout::validator_key(who), &v);
    Ok(true)
}

/// Moves `amount` of `who`'s stake into the unbonding queue until `release_height`.
/// Returns false (and changes nothing) if the stake is smaller.
pub fn unstake<R: StateReader>(
    state: &mut Overlay<R>,
    who: &Address,
    amount: U256,
    release_height: u64,
) -> Result<bool, StoreError> {
    let Some(mut v) = validator(state, who)? else {
        return Ok(false);
    };
    if v.stake < amount {
        return Ok(false);
    }
    v.stake -= amount;
    layout::write(state, &layout::validator_key(who), &v);
    let mut q = unbonding(state)?;
    q.entries.push(UnbondingEntry {
        owner: *who,
        amount,
        release_height,
    });
    layout::write(state, &layout::unbonding_key(), &q);
    Ok(true)
}

/// Credits every unbonding entry due at or before `height` back to its owner.
pub fn release_unbonded<R: StateReader>(
    state: &mut Overlay<R>,
    height: u64,
) -> Result<(), StoreError> {
    let mut q = unbonding(state)?;
    if !q.entries.iter().any(|e| e.release_height <= height) {
        return Ok(());
    }
    let (due, rest): (Vec<_>, Vec<_>) = q
        .entries
        .drain(..)
        .partition(|e| e.release_height <= height);
    for e in due {
        let mut acct = account(state, &e.owner)?;
        acct.balance += e.amount;
        set_account(state, &e.owner, &acct);
    }
    q.entries = rest;
    layout::write(state, &layout::unbonding_key(), &q);
    Ok(())
}

/// Slashes `offender` for a double sign at `height`: `bps` basis points of its bonded stake
/// are destroyed. Returns the amount, or `None` if that double sign was already punished or
/// the offender has no validator record.
pub fn slash<R: StateReader>(
    state: &mut Overlay<R>,
    offender: &Address,
    height: u64,
    bps: u32,
) -> Result<Option<U256>, StoreError> {
    let marker = layout::slashed_key(offender, height);
    if state.get(&marker)?.is_some() {
        return Ok(None);
    }
    let Some(mut v) = validator(state, offender)? else {
        return Ok(None);
    };
    let amount = v.stake * U256::from(bps) / U256::from(10_000u32);
    v.stake -= amount;
    layout::write(state, &layout::validator_key(offender), &v);
    let mut s = supply(state)?;
    s.slashed += amount;
    set_supply(state, &s);
    state.set(&marker, &[1]);
    Ok(Some(amount))
}

/// All validators with their stake, in address order.
pub fn validators(
    snapshot: &crate::state::Snapshot,
) -> Result<Vec<(Address, Validator)>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in snapshot.scan_prefix(&[layout::VALIDATOR_PREFIX])? {
        let addr = Address::from_slice(&k[1..]);
        let val: Validator = borsh::from_slice(&v).map_err(|e| StoreError::Corrupt {
            path: "state".into(),
            reason: format!("validator record: {e}"),
        })?;
        out.push((addr, val));
    }
    Ok(out)
}
