//! Proof of stake in the state: registered validators, delegation by shares, the unbonding
//! queue keyed by release height, rewards, slashing, and the supply counters that value
//! conservation is checked against.
//!
//! - **Validators register.** A validator is created only by a registration transaction signed
//!   with the consensus key it registers (the key's account bonds the self-bond), and only if
//!   the chain's [`Registration`] policy allows that key. Every other `stake` is a delegation.
//! - **Delegation is by shares** (Cosmos' model): a validator's pool holds `stake` tokens
//!   against `shares`; delegating `x` mints `x × shares / stake` shares. Rewards and fees
//!   (less the validator's commission) and slashing change `stake` only, so they reach every delegator
//!   pro rata without touching a delegation record.
//! - **Unbonding is O(1) per operation**: each entry is its own state key under its release
//!   height, with a per-height count; releasing a height reads exactly the entries due then.
//!
//! The staking payloads of a transaction (stake, unstake, register, report a double sign or a
//! double vote) are in `staking/payloads.rs`; the begin-block and end-block rules that call
//! into here are in [`crate::executor::BlockExecution`].

pub(crate) mod payloads;

use crate::failure::{ErrorDetail, RegistrationRefusal};
use crate::layout::{self, account, set_account};
use crate::types::{Address, U256, address_of, codec};
use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_state::{Overlay, StateReader, StoreError};
use serde::{Deserialize, Serialize};

/// Basis points in one whole (commission and slashing fractions).
pub const BPS: u32 = 10_000;

/// Who may register a validator: a genesis parameter every node agrees on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Any key may register (public networks).
    Permissionless,
    /// Only the listed validator addresses (addresses of consensus keys) may register; an
    /// empty list closes registration (a dev chain keeps its genesis validator only).
    Permissioned(Vec<Address>),
    /// No registrations at all.
    #[default]
    Closed,
}

impl Registration {
    /// Whether the validator with this address may register.
    pub fn allows(&self, validator: &Address) -> bool {
        match self {
            Registration::Permissionless => true,
            Registration::Permissioned(list) => list.contains(validator),
            Registration::Closed => false,
        }
    }
}

/// A validator: its consensus key, bonded pool and commission.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize,
)]
pub struct Validator {
    /// Tokens bonded to it (self-bond, delegations and compounded rewards, less slashing): its
    /// voting power and proposer weight.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub stake: U256,
    /// Delegation shares outstanding against `stake`.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub shares: U256,
    /// The ed25519 key that signs its blocks; the validator's address is this key's address.
    pub public_key: [u8; 32],
    /// Part of each block reward paid to the validator's own account before the rest is
    /// shared with its delegators, in basis points.
    pub commission_bps: u32,
}

/// A delegator's shares in one validator's pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Delegation {
    /// Shares held.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub shares: U256,
}

/// Stake waiting out its unbonding period.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct UnbondingEntry {
    /// Who gets it back.
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

/// The outcome of a staking operation: refused (with why) or done.
pub type Staked<T = ()> = Result<Result<T, ErrorDetail>, StoreError>;

/// A staking record whose bytes do not decode.
fn undecodable(what: &str, source: std::io::Error) -> StoreError {
    StoreError::Undecodable {
        what: what.to_string(),
        source,
    }
}

/// The validator record of `a`, if it is registered.
pub fn validator<R: StateReader>(state: &R, a: &Address) -> Result<Option<Validator>, StoreError> {
    layout::read(state, &layout::validator_key(a))
}

/// `delegator`'s shares in `validator`'s pool.
pub fn delegation<R: StateReader>(
    state: &R,
    validator: &Address,
    delegator: &Address,
) -> Result<U256, StoreError> {
    Ok(
        layout::read::<Delegation, _>(state, &layout::delegation_key(validator, delegator))?
            .map_or(U256::zero(), |d| d.shares),
    )
}

/// What `delegator`'s shares in `validator` are worth now, in tokens.
pub fn delegated_stake<R: StateReader>(
    state: &R,
    validator: &Address,
    delegator: &Address,
) -> Result<U256, StoreError> {
    let Some(v) = self::validator(state, validator)? else {
        return Ok(U256::zero());
    };
    let shares = delegation(state, validator, delegator)?;
    Ok(tokens_of(&v, shares))
}

fn tokens_of(v: &Validator, shares: U256) -> U256 {
    if v.shares.is_zero() {
        return U256::zero();
    }
    mul_div(shares, v.stake, v.shares)
}

/// `a × b / c` rounded down, without overflow for the U256 amounts the chain holds.
fn mul_div(a: U256, b: U256, c: U256) -> U256 {
    let (wide, _) = a.full_mul(b).div_mod(c.into());
    U256::try_from(wide).unwrap_or(U256::MAX)
}

/// `a × b / c` rounded up.
fn mul_div_up(a: U256, b: U256, c: U256) -> U256 {
    let (q, r) = a.full_mul(b).div_mod(c.into());
    let q = U256::try_from(q).unwrap_or(U256::MAX);
    if r.is_zero() {
        q
    } else {
        q.saturating_add(1.into())
    }
}

/// The supply counters.
pub fn supply<R: StateReader>(state: &R) -> Result<Supply, StoreError> {
    Ok(layout::read(state, &layout::supply_key())?.unwrap_or_default())
}

/// Stores the supply counters.
pub fn set_supply<R: StateReader>(state: &mut Overlay<R>, s: &Supply) {
    layout::write(state, &layout::supply_key(), s);
}

fn debit<R: StateReader>(state: &mut Overlay<R>, who: &Address, amount: U256) -> Staked {
    let mut acct = account(state, who)?;
    if acct.balance < amount {
        return Ok(Err(ErrorDetail::InsufficientBalance {
            needed: amount,
            available: acct.balance,
        }));
    }
    acct.balance -= amount;
    set_account(state, who, &acct);
    Ok(Ok(()))
}

fn credit<R: StateReader>(
    state: &mut Overlay<R>,
    who: &Address,
    amount: U256,
) -> Result<(), StoreError> {
    let mut acct = account(state, who)?;
    acct.balance = acct.balance.saturating_add(amount);
    set_account(state, who, &acct);
    Ok(())
}

/// Registers `public_key` as a validator with `commission_bps`, bonding `amount` from
/// `sender`'s balance as its self-bond. `sender` must be the key's own account (the
/// registration is signed with the consensus key), and `policy` must admit it.
pub fn register<R: StateReader>(
    state: &mut Overlay<R>,
    sender: &Address,
    public_key: [u8; 32],
    commission_bps: u32,
    amount: U256,
    policy: &Registration,
) -> Staked {
    let address = address_of(&public_key);
    if address != *sender {
        return Ok(Err(ErrorDetail::RegistrationRefused(
            RegistrationRefusal::KeyMismatch,
        )));
    }
    if !policy.allows(&address) {
        return Ok(Err(ErrorDetail::RegistrationRefused(
            RegistrationRefusal::NotPermitted,
        )));
    }
    if commission_bps > BPS {
        return Ok(Err(ErrorDetail::RegistrationRefused(
            RegistrationRefusal::CommissionOutOfRange,
        )));
    }
    if validator(state, &address)?.is_some() {
        return Ok(Err(ErrorDetail::RegistrationRefused(
            RegistrationRefusal::AlreadyRegistered,
        )));
    }
    bond_new(state, &address, public_key, commission_bps, amount)
}

/// Creates a validator record and its self-delegation from the address's balance (registration
/// and genesis share this path).
pub(crate) fn bond_new<R: StateReader>(
    state: &mut Overlay<R>,
    address: &Address,
    public_key: [u8; 32],
    commission_bps: u32,
    amount: U256,
) -> Staked {
    if let Err(e) = debit(state, address, amount)? {
        return Ok(Err(e));
    }
    let v = Validator {
        stake: amount,
        shares: amount,
        public_key,
        commission_bps,
    };
    layout::write(state, &layout::validator_key(address), &v);
    layout::write(
        state,
        &layout::delegation_key(address, address),
        &Delegation { shares: amount },
    );
    Ok(Ok(()))
}

/// Delegates `amount` of `delegator`'s balance to `validator`, minting pool shares at the
/// pool's current rate.
pub fn delegate<R: StateReader>(
    state: &mut Overlay<R>,
    delegator: &Address,
    validator_addr: &Address,
    amount: U256,
) -> Staked {
    let Some(mut v) = validator(state, validator_addr)? else {
        return Ok(Err(ErrorDetail::NoSuchValidator {
            address: *validator_addr,
        }));
    };
    let minted = if v.shares.is_zero() {
        amount
    } else if v.stake.is_zero() {
        // Slashed to nothing: its shares are worthless and buy nothing.
        U256::zero()
    } else {
        mul_div(amount, v.shares, v.stake)
    };
    if minted.is_zero() {
        return Ok(Err(ErrorDetail::StakeTooSmall));
    }
    if let Err(e) = debit(state, delegator, amount)? {
        return Ok(Err(e));
    }
    v.stake = v.stake.saturating_add(amount);
    v.shares = v.shares.saturating_add(minted);
    layout::write(state, &layout::validator_key(validator_addr), &v);
    let held = delegation(state, validator_addr, delegator)?;
    layout::write(
        state,
        &layout::delegation_key(validator_addr, delegator),
        &Delegation {
            shares: held.saturating_add(minted),
        },
    );
    Ok(Ok(()))
}

/// Starts unbonding `amount` tokens of `delegator`'s delegation to `validator`: burns the
/// shares they are worth (rounded up, so the remaining shares lose nothing) and queues the
/// tokens for release at `release_height`.
pub fn undelegate<R: StateReader>(
    state: &mut Overlay<R>,
    delegator: &Address,
    validator_addr: &Address,
    amount: U256,
    release_height: u64,
) -> Staked {
    let Some(mut v) = validator(state, validator_addr)? else {
        return Ok(Err(ErrorDetail::NoSuchValidator {
            address: *validator_addr,
        }));
    };
    let held = delegation(state, validator_addr, delegator)?;
    let available = tokens_of(&v, held);
    if v.stake.is_zero() || amount > available {
        return Ok(Err(ErrorDetail::InsufficientStake {
            needed: amount,
            available,
        }));
    }
    let burn = mul_div_up(amount, v.shares, v.stake).min(held);
    v.stake -= amount;
    v.shares -= burn;
    layout::write(state, &layout::validator_key(validator_addr), &v);
    let key = layout::delegation_key(validator_addr, delegator);
    if held == burn {
        state.remove(&key);
    } else {
        layout::write(
            state,
            &key,
            &Delegation {
                shares: held - burn,
            },
        );
    }
    queue_unbonding(state, delegator, amount, release_height)?;
    Ok(Ok(()))
}

/// Appends an unbonding entry under its release height: one count read, two writes.
fn queue_unbonding<R: StateReader>(
    state: &mut Overlay<R>,
    owner: &Address,
    amount: U256,
    release_height: u64,
) -> Result<(), StoreError> {
    let count_key = layout::unbonding_count_key(release_height);
    let n: u64 = layout::read(state, &count_key)?.unwrap_or(0);
    layout::write(
        state,
        &layout::unbonding_entry_key(release_height, n),
        &UnbondingEntry {
            owner: *owner,
            amount,
            release_height,
        },
    );
    layout::write(state, &count_key, &(n + 1));
    Ok(())
}

/// Credits every unbonding entry due at `height` back to its owner and removes it. Called once
/// per block, so each entry is read exactly once, at its own height.
pub fn release_unbonded<R: StateReader>(
    state: &mut Overlay<R>,
    height: u64,
) -> Result<(), StoreError> {
    let count_key = layout::unbonding_count_key(height);
    let Some(n) = layout::read::<u64, _>(state, &count_key)? else {
        return Ok(());
    };
    for i in 0..n {
        let key = layout::unbonding_entry_key(height, i);
        let e: UnbondingEntry =
            layout::read(state, &key)?.ok_or_else(|| StoreError::MissingRecord {
                what: format!("unbonding entry {i} at height {height}"),
            })?;
        credit(state, &e.owner, e.amount)?;
        state.remove(&key);
    }
    state.remove(&count_key);
    Ok(())
}

/// Pays a block's reward: the proposer's commission to its account, the rest into its pool
/// (shared by all its delegators through their shares). With no validator record (genesis
/// misconfiguration), all of it goes to the proposer's account.
pub fn distribute_reward<R: StateReader>(
    state: &mut Overlay<R>,
    proposer: &Address,
    reward: U256,
) -> Result<(), StoreError> {
    let Some(mut v) = validator(state, proposer)? else {
        return credit(state, proposer, reward);
    };
    let commission = reward * U256::from(v.commission_bps.min(BPS)) / U256::from(BPS);
    credit(state, proposer, commission)?;
    v.stake = v.stake.saturating_add(reward - commission);
    layout::write(state, &layout::validator_key(proposer), &v);
    Ok(())
}

/// Shares a block's fees, which the executor paid to the proposer's account transaction by
/// transaction: all but the commission move into its pool, like the reward. A proposer that
/// spent fees within the same block shares what is left of them (deterministic either way).
pub fn share_fees<R: StateReader>(
    state: &mut Overlay<R>,
    proposer: &Address,
    fees: U256,
) -> Result<(), StoreError> {
    let Some(mut v) = validator(state, proposer)? else {
        return Ok(());
    };
    let commission = fees * U256::from(v.commission_bps.min(BPS)) / U256::from(BPS);
    let mut acct = account(state, proposer)?;
    let shared = (fees - commission).min(acct.balance);
    if shared.is_zero() {
        return Ok(());
    }
    acct.balance -= shared;
    set_account(state, proposer, &acct);
    v.stake = v.stake.saturating_add(shared);
    layout::write(state, &layout::validator_key(proposer), &v);
    Ok(())
}

/// Slashes `offender` for a double sign at `height`: `bps` basis points of its pool are
/// destroyed, so every delegator loses the same fraction. Returns the amount, or `None` if
/// that double sign was already punished or the offender is not a validator.
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
    let amount = v.stake * U256::from(bps.min(BPS)) / U256::from(BPS);
    v.stake -= amount;
    layout::write(state, &layout::validator_key(offender), &v);
    let mut s = supply(state)?;
    s.slashed += amount;
    set_supply(state, &s);
    state.set(&marker, &[1]);
    Ok(Some(amount))
}

/// All validators with their records, in address order.
pub fn validators(
    snapshot: &chainvm_state::Snapshot,
) -> Result<Vec<(Address, Validator)>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in snapshot.scan_prefix(&[layout::VALIDATOR_PREFIX])? {
        let addr = Address::from_slice(&k[1..]);
        let val: Validator =
            borsh::from_slice(&v).map_err(|e| undecodable("validator record", e))?;
        out.push((addr, val));
    }
    Ok(out)
}

/// Every pending unbonding entry, by release height then order (a query: execution never
/// scans the queue).
pub fn unbonding(snapshot: &chainvm_state::Snapshot) -> Result<Vec<UnbondingEntry>, StoreError> {
    snapshot
        .scan_prefix(&[layout::UNBONDING_ENTRY_PREFIX])?
        .into_iter()
        .map(|(_, v)| borsh::from_slice(&v).map_err(|e| undecodable("unbonding entry", e)))
        .collect()
}

/// All value in the state: balances, bonded stake and unbonding entries. Equals
/// `genesis + minted - slashed` of [`Supply`] on every valid chain.
pub fn total_value(snapshot: &chainvm_state::Snapshot) -> Result<U256, StoreError> {
    let mut total = U256::zero();
    for (_, v) in snapshot.scan_prefix(&[layout::ACCOUNT_PREFIX])? {
        let a: layout::Account = borsh::from_slice(&v).map_err(|e| undecodable("account", e))?;
        total += a.balance;
    }
    for (_, v) in validators(snapshot)? {
        total += v.stake;
    }
    for e in unbonding(snapshot)? {
        total += e.amount;
    }
    Ok(total)
}
