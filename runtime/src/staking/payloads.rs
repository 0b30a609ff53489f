//! The staking payloads as the executor runs them: stake (delegate), unstake (undelegate into
//! the unbonding queue), register a validator, and report a double sign or a double vote
//! (slash, once per offender and height whichever form reports it). Each turns a
//! staking operation's refusal into a failed [`CallOutcome`]; a store fault stays an error.

use crate::block::DoubleSign;
use crate::finality::DoubleVote;
use crate::host::CallOutcome;
use crate::params::ChainParams;
use crate::receipt::{ErrorDetail, EvidenceFault};
use crate::types::{Address, U256};
use chainvm_state::{Overlay, StateReader, StoreError};

/// `Payload::Stake`: delegates `amount` of `sender`'s balance to `validator`.
pub(crate) fn stake<R: StateReader>(
    state: &mut Overlay<R>,
    sender: &Address,
    validator: &Address,
    amount: U256,
) -> Result<CallOutcome, StoreError> {
    Ok(outcome(super::delegate(state, sender, validator, amount)?))
}

/// `Payload::Unstake`: starts unbonding `amount` of `sender`'s delegation to `validator`,
/// released `params.unbonding_period` blocks after `height`.
pub(crate) fn unstake<R: StateReader>(
    state: &mut Overlay<R>,
    params: &ChainParams,
    height: u64,
    sender: &Address,
    validator: &Address,
    amount: U256,
) -> Result<CallOutcome, StoreError> {
    let release = height + params.unbonding_period;
    Ok(outcome(super::undelegate(
        state, sender, validator, amount, release,
    )?))
}

/// `Payload::RegisterValidator`: registers `sender`'s consensus key as a validator with its
/// self-bond, if the chain's registration policy admits it.
pub(crate) fn register_validator<R: StateReader>(
    state: &mut Overlay<R>,
    params: &ChainParams,
    sender: &Address,
    public_key: [u8; 32],
    commission_bps: u32,
    amount: U256,
) -> Result<CallOutcome, StoreError> {
    Ok(outcome(super::register(
        state,
        sender,
        public_key,
        commission_bps,
        amount,
        &params.registration,
    )?))
}

/// `Payload::ReportDoubleSign`: checks the evidence against the offender's registered key and
/// slashes it `params.slash_bps`, once per offending height.
pub(crate) fn report_double_sign<R: StateReader>(
    state: &mut Overlay<R>,
    params: &ChainParams,
    evidence: &DoubleSign,
) -> Result<CallOutcome, StoreError> {
    let offender = evidence.a.header.proposer;
    let height = evidence.a.header.height;
    punish(state, params, &offender, height, |key| evidence.check(key))
}

/// `Payload::ReportDoubleVote`: checks the two votes against the offender's registered key and
/// slashes it `params.slash_bps`, under the same once-per-height marker as a header double
/// sign.
pub(crate) fn report_double_vote<R: StateReader>(
    state: &mut Overlay<R>,
    params: &ChainParams,
    evidence: &DoubleVote,
) -> Result<CallOutcome, StoreError> {
    let offender = evidence.offender();
    let height = evidence.height();
    punish(state, params, &offender, height, |key| evidence.check(key))
}

/// Slashes `offender` for a double sign at `height` if it is a validator and `check` accepts
/// the evidence against its registered key; refused if that height was already slashed.
fn punish<R: StateReader>(
    state: &mut Overlay<R>,
    params: &ChainParams,
    offender: &Address,
    height: u64,
    check: impl FnOnce(&[u8; 32]) -> Result<(), EvidenceFault>,
) -> Result<CallOutcome, StoreError> {
    let invalid = |why| CallOutcome::failed(ErrorDetail::InvalidEvidence(why));
    let Some(key) = super::validator(&*state, offender)?.map(|v| v.public_key) else {
        return Ok(invalid(EvidenceFault::NotAValidator));
    };
    if let Err(why) = check(&key) {
        return Ok(invalid(why));
    }
    Ok(
        match super::slash(state, offender, height, params.slash_bps)? {
            Some(_) => CallOutcome::ok(),
            None => invalid(EvidenceFault::AlreadySlashed),
        },
    )
}

/// The outcome of a staking operation: done, or failed with its refusal.
fn outcome(r: Result<(), ErrorDetail>) -> CallOutcome {
    match r {
        Ok(()) => CallOutcome::ok(),
        Err(detail) => CallOutcome::failed(detail),
    }
}
