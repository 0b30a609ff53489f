//! The validator set of each height, committed in the state.
//!
//! Block `h` is certified by `valset[h]`: validators with their voting power (a validator's
//! bonded pool, its self-bond plus its delegations, in whole tokens). The set of a height is
//! fixed `delay` heights ahead: genesis writes `valset[1..=delay]`, and the end of block `h`
//! writes `valset[h + delay]` (moved from `valset[h + delay - 1]` toward the staking records,
//! at most `max_power_change_bps` of the total power per height) and removes `valset[h]`. So
//! the state after block `h` holds, provably, the sets of heights `h + 1 ..= h + delay`: what a
//! light client that trusts header `h` needs to check the next certificates.

use crate::block::select_proposer;
use crate::layout;
use crate::params::ChainParams;
use crate::staking;
use crate::types::{Address, H256, U256, codec};
use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_state::{Overlay, StateReader, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Stake per unit of voting power: 10^9 base units (a billionth of a token).
pub fn power_unit() -> U256 {
    U256::exp10(9)
}

/// Most voting power one validator may hold.
pub const MAX_POWER: u64 = 1 << 55;

/// Most members of a set (those with the most power; ties by address), so that with
/// [`MAX_POWER`] a set's total always fits a `u64`.
pub const MAX_MEMBERS: usize = 256;

/// The voting power `stake` gives: stake in units of [`power_unit`], capped at [`MAX_POWER`].
pub fn power_of(stake: U256) -> u64 {
    let p = stake / power_unit();
    if p > U256::from(MAX_POWER) {
        MAX_POWER
    } else {
        p.as_u64()
    }
}

/// One validator of a height's set.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SetMember {
    /// Its address (the address of `public_key`).
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub address: Address,
    /// Its ed25519 consensus key: it signs proposals and votes.
    pub public_key: [u8; 32],
    /// Its voting power (never 0 in a set).
    pub power: u64,
}

/// The validators of one height, in address order, each with power above zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ValidatorSet {
    /// The members, sorted by address.
    pub members: Vec<SetMember>,
}

impl ValidatorSet {
    /// A set of `members`: sorted by address, those without power left out (a later entry
    /// for an address replaces an earlier one), at most [`MAX_MEMBERS`] of them (the most
    /// powerful), each capped at [`MAX_POWER`].
    pub fn new(members: impl IntoIterator<Item = SetMember>) -> ValidatorSet {
        let by_address: BTreeMap<Address, SetMember> = members
            .into_iter()
            .filter(|m| m.power > 0)
            .map(|m| {
                let power = m.power.min(MAX_POWER);
                (m.address, SetMember { power, ..m })
            })
            .collect();
        let mut members: Vec<SetMember> = by_address.into_values().collect();
        if members.len() > MAX_MEMBERS {
            members.sort_by(|a, b| b.power.cmp(&a.power).then(a.address.cmp(&b.address)));
            members.truncate(MAX_MEMBERS);
            members.sort_by_key(|m| m.address);
        }
        ValidatorSet { members }
    }

    /// Sum of the members' power.
    pub fn total_power(&self) -> u64 {
        self.members.iter().map(|m| m.power).sum()
    }

    /// The member with this address.
    pub fn get(&self, address: &Address) -> Option<&SetMember> {
        self.members
            .binary_search_by_key(address, |m| m.address)
            .ok()
            .map(|i| &self.members[i])
    }

    /// Whether `power` is more than two thirds of the total: what a certificate needs.
    pub fn is_quorum(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total_power()) * 2
    }

    /// The proposer of round `round` of the block after `parent_hash`: a stake-weighted draw
    /// from keccak of the parent hash (and the round, after round 0), the same on every node.
    /// Round 0 is the draw single-validator production has always used.
    pub fn proposer(&self, parent_hash: &H256, round: u32) -> Option<&SetMember> {
        let weights: Vec<(Address, U256)> = self
            .members
            .iter()
            .map(|m| (m.address, U256::from(m.power)))
            .collect();
        let seed = if round == 0 {
            *parent_hash
        } else {
            let mut s = parent_hash.as_bytes().to_vec();
            s.extend_from_slice(&round.to_be_bytes());
            crate::types::keccak(&s)
        };
        let chosen = select_proposer(&weights, &seed)?;
        self.get(&chosen)
    }

    /// Canonical encoding (what the state holds).
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }
}

/// The set that certifies block `height`, as the state `state` records it (`None` if that
/// height is not within the window the state holds).
pub fn read<R: StateReader>(state: &R, height: u64) -> Result<Option<ValidatorSet>, StoreError> {
    match state.get(&layout::valset_key(height))? {
        None => Ok(None),
        Some(bytes) => {
            borsh::from_slice(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Undecodable {
                    what: format!("validator set of height {height}"),
                    source,
                })
        }
    }
}

/// Validators whose power has not yet reached their stake's (a change held back by the cap),
/// so later heights keep moving them even when nothing touches them again.
fn read_pending<R: StateReader>(state: &R) -> Result<Vec<Address>, StoreError> {
    match state.get(&layout::valset_pending_key())? {
        None => Ok(Vec::new()),
        Some(bytes) => {
            let raw: Vec<[u8; 20]> =
                borsh::from_slice(&bytes).map_err(|source| StoreError::Undecodable {
                    what: "pending validator list".into(),
                    source,
                })?;
            Ok(raw.into_iter().map(Address::from).collect())
        }
    }
}

/// The genesis writes of the sets: `set` for heights `1..=delay`.
pub(crate) fn write_genesis<R: StateReader>(
    state: &mut Overlay<R>,
    set: &ValidatorSet,
    params: &ChainParams,
) {
    for h in 1..=params.validator_set_delay.max(1) {
        state.set(&layout::valset_key(h), &set.encode());
    }
}

/// The power `address` should have by its staking record now (0 when it has none).
fn target<R: StateReader>(state: &Overlay<R>, address: &Address) -> Result<u64, StoreError> {
    Ok(staking::validator(state, address)?.map_or(0, |v| power_of(v.stake)))
}

/// End of block `height`: writes `valset[height + delay]`, moved from the set before it toward
/// the staking records within the per-height cap, and removes `valset[height]` (used).
///
/// The validators considered are the previous set's members, those whose record this block
/// wrote, and those still pending from an earlier capped change. When the total change
/// exceeds `max_power_change_bps` of the previous total, every change is scaled down by the
/// same factor (rounded toward the old power), and what is left is carried to later heights.
pub(crate) fn advance<R: StateReader>(
    state: &mut Overlay<R>,
    height: u64,
    params: &ChainParams,
) -> Result<(), StoreError> {
    let delay = params.validator_set_delay.max(1);
    let previous = read(&*state, height + delay - 1)?.unwrap_or_default();
    let mut candidates: Vec<Address> = previous.members.iter().map(|m| m.address).collect();
    candidates.extend(read_pending(&*state)?);
    let touched: Vec<Address> = state
        .writes()
        .range(vec![layout::VALIDATOR_PREFIX]..vec![layout::VALIDATOR_PREFIX + 1])
        .map(|(k, _)| Address::from_slice(&k[1..]))
        .collect();
    candidates.extend(touched);
    candidates.sort();
    candidates.dedup();

    let mut moves = Vec::with_capacity(candidates.len());
    let mut total_change: u128 = 0;
    for a in &candidates {
        let old = previous.get(a).map_or(0, |m| m.power);
        let new = target(state, a)?;
        total_change += u128::from(old.abs_diff(new));
        moves.push((*a, old, new));
    }
    let cap = (u128::from(previous.total_power()) * u128::from(params.max_power_change_bps)
        / 10_000)
        .max(1);
    let mut members = Vec::with_capacity(moves.len());
    let mut pending = Vec::new();
    for (a, old, new) in moves {
        let power = if total_change <= cap {
            new
        } else {
            // |step| = |new - old| * cap / total_change, rounded toward `old`.
            let step = (u128::from(old.abs_diff(new)) * cap / total_change) as u64;
            if new > old { old + step } else { old - step }
        };
        if power != new {
            pending.push(a.0);
        }
        if power == 0 {
            continue;
        }
        let public_key = match previous.get(&a) {
            Some(m) => m.public_key,
            None => match staking::validator(&*state, &a)? {
                Some(v) => v.public_key,
                None => continue,
            },
        };
        members.push(SetMember {
            address: a,
            public_key,
            power,
        });
    }
    let next = ValidatorSet::new(members);
    state.set(&layout::valset_key(height + delay), &next.encode());
    state.remove(&layout::valset_key(height));
    if pending.is_empty() {
        state.remove(&layout::valset_pending_key());
    } else {
        state.set(
            &layout::valset_pending_key(),
            &borsh::to_vec(&pending).unwrap_or_default(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u8, power: u64) -> SetMember {
        SetMember {
            address: Address::repeat_byte(n),
            public_key: [n; 32],
            power,
        }
    }

    #[test]
    fn sets_are_sorted_and_count_quorum_strictly_above_two_thirds() {
        let set = ValidatorSet::new([m(3, 30), m(1, 10), m(2, 20), m(4, 0)]);
        let order: Vec<u8> = set.members.iter().map(|x| x.address.0[0]).collect();
        assert_eq!(order, [1, 2, 3]);
        assert_eq!(set.total_power(), 60);
        assert!(!set.is_quorum(40), "exactly 2/3 is not a quorum");
        assert!(set.is_quorum(41));
        assert_eq!(set.get(&Address::repeat_byte(2)).map(|x| x.power), Some(20));
        assert!(set.get(&Address::repeat_byte(4)).is_none());
    }

    #[test]
    fn proposer_rotates_by_round_and_is_weighted() {
        let set = ValidatorSet::new([m(1, 10), m(2, 10), m(3, 10), m(4, 10)]);
        let parent = crate::types::keccak(b"parent");
        let chosen: Vec<Address> = (0..40)
            .map(|r| set.proposer(&parent, r).unwrap().address)
            .collect();
        let distinct: std::collections::BTreeSet<_> = chosen.iter().collect();
        assert_eq!(distinct.len(), 4, "every validator proposes some round");
        // Round 0 is exactly the single-validator draw.
        let weights: Vec<_> = set
            .members
            .iter()
            .map(|x| (x.address, U256::from(x.power)))
            .collect();
        assert_eq!(
            Some(chosen[0]),
            crate::block::select_proposer(&weights, &parent)
        );
    }

    #[test]
    fn power_is_whole_tokens_capped() {
        assert_eq!(power_of(U256::exp10(9) * 7 + 5), 7);
        assert_eq!(power_of(U256::MAX), MAX_POWER);
        assert_eq!(power_of(U256::from(5)), 0);
    }
}
