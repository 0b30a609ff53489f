//! Where everything lives in the state: one key namespace per kind of record, so a contract
//! can only ever reach its own storage.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `0x01` | address | [`Account`] |
//! | `0x02` | contract address ‖ contract key | contract storage value |
//! | `0x03` | code hash | contract code |
//! | `0x04` | address | [`crate::staking::Validator`] |
//! | `0x05` | release height | number of unbonding entries queued for that height (`u64`) |
//! | `0x06` | (none) | chain-wide counters ([`crate::staking::Supply`]) |
//! | `0x07` | address ‖ height | marker: that double sign was already slashed |
//! | `0x08` | validator ‖ delegator | [`crate::staking::Delegation`] (pool shares) |
//! | `0x09` | release height ‖ index | [`crate::staking::UnbondingEntry`] |
//! | `0x0a` | height | [`crate::valset::ValidatorSet`]: the set that certifies that block |
//! | `0x0b` | (none) | validators whose power change the cap held back (`Vec<[u8; 20]>`) |
//!
//! Heights and indices are big-endian, so entries sort by release height.

use crate::types::{Address, H256, U256, codec};
use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_state::{Overlay, StateReader, StoreError};

const ACCOUNT: u8 = 0x01;
const STORAGE: u8 = 0x02;
const CODE: u8 = 0x03;
const VALIDATOR: u8 = 0x04;
const UNBONDING: u8 = 0x05;
const SUPPLY: u8 = 0x06;
const SLASHED: u8 = 0x07;
const DELEGATION: u8 = 0x08;
const UNBONDING_ENTRY: u8 = 0x09;
const VALSET: u8 = 0x0a;
const VALSET_PENDING: u8 = 0x0b;

fn prefixed(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![prefix];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// Key of an account record.
pub fn account_key(a: &Address) -> Vec<u8> {
    prefixed(ACCOUNT, &[a.as_bytes()])
}
/// Key of a contract's storage entry.
pub fn storage_key(contract: &Address, key: &[u8]) -> Vec<u8> {
    prefixed(STORAGE, &[contract.as_bytes(), key])
}
/// Key of code by hash.
pub fn code_key(hash: &H256) -> Vec<u8> {
    prefixed(CODE, &[hash.as_bytes()])
}
/// Key of a validator record.
pub fn validator_key(a: &Address) -> Vec<u8> {
    prefixed(VALIDATOR, &[a.as_bytes()])
}
/// Key of the number of unbonding entries released at `height`.
pub fn unbonding_count_key(height: u64) -> Vec<u8> {
    prefixed(UNBONDING, &[&height.to_be_bytes()])
}
/// Key of the `index`-th unbonding entry released at `height`.
pub fn unbonding_entry_key(height: u64, index: u64) -> Vec<u8> {
    prefixed(
        UNBONDING_ENTRY,
        &[&height.to_be_bytes(), &index.to_be_bytes()],
    )
}
/// Key of `delegator`'s shares in `validator`'s pool.
pub fn delegation_key(validator: &Address, delegator: &Address) -> Vec<u8> {
    prefixed(DELEGATION, &[validator.as_bytes(), delegator.as_bytes()])
}
/// Key of the validator set that certifies block `height`.
pub fn valset_key(height: u64) -> Vec<u8> {
    prefixed(VALSET, &[&height.to_be_bytes()])
}
/// Key of the validators whose power change is still held back by the per-height cap.
pub fn valset_pending_key() -> Vec<u8> {
    vec![VALSET_PENDING]
}
/// Key of the supply counters.
pub fn supply_key() -> Vec<u8> {
    vec![SUPPLY]
}
/// Key of the marker for a slashed double sign.
pub fn slashed_key(a: &Address, height: u64) -> Vec<u8> {
    prefixed(SLASHED, &[a.as_bytes(), &height.to_be_bytes()])
}
/// First byte of validator keys (for scanning the validator set).
pub const VALIDATOR_PREFIX: u8 = VALIDATOR;
/// First byte of account keys (for queries over all accounts).
pub const ACCOUNT_PREFIX: u8 = ACCOUNT;
/// First byte of unbonding entry keys (for queries over the queue).
pub const UNBONDING_ENTRY_PREFIX: u8 = UNBONDING_ENTRY;

/// An account: balance, nonce and, for contracts, the hash of their code.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize,
)]
pub struct Account {
    /// Number of transactions sent.
    pub nonce: u64,
    /// Spendable balance.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub balance: U256,
    /// Code hash, for contracts.
    #[borsh(
        serialize_with = "codec::opt_h256::serialize",
        deserialize_with = "codec::opt_h256::deserialize"
    )]
    pub code_hash: Option<H256>,
}

/// Reads a borsh record; a record that does not decode is corruption.
pub fn read<T: BorshDeserialize, R: StateReader>(
    state: &R,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match state.get(key)? {
        None => Ok(None),
        Some(bytes) => {
            borsh::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Undecodable {
                    what: format!("state record {}", chainvm_state::tree::hex(key)),
                    source,
                })
        }
    }
}

/// Writes a borsh record.
pub fn write<T: BorshSerialize, R: StateReader>(state: &mut Overlay<R>, key: &[u8], value: &T) {
    state.set(key, &borsh::to_vec(value).unwrap_or_default());
}

/// The account at `a` (the default, empty account if none).
pub fn account<R: StateReader>(state: &R, a: &Address) -> Result<Account, StoreError> {
    Ok(read(state, &account_key(a))?.unwrap_or_default())
}

/// Stores the account at `a`.
pub fn set_account<R: StateReader>(state: &mut Overlay<R>, a: &Address, account: &Account) {
    write(state, &account_key(a), account);
}
