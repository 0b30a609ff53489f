//! The account and contract payloads: a value transfer, a contract call and a deploy. Each
//! runs inside the transaction's checkpoint and returns its [`CallOutcome`]; the executor
//! reverts the checkpoint when the outcome is a failure. (The staking payloads are in
//! [`crate::staking::payloads`].)

use super::{ApplyError, CONSTRUCTOR};
use crate::host::{self, CallOutcome, CallScope, Env, Frame};
use crate::layout::{self, account, set_account};
use crate::receipt::ErrorDetail;
use crate::types::{Address, H256, U256};
use chainvm_state::StateReader;
use chainvm_vm::VmError;

/// Moves `amount` from `sender` to `to`. Admission proved the sender holds the value on top
/// of the maximum fee already taken, so the move cannot fall short.
pub(super) fn transfer<R: StateReader>(
    scope: &mut CallScope<'_, R>,
    sender: &Address,
    to: &Address,
    amount: U256,
) -> Result<CallOutcome, ApplyError> {
    host::move_value(scope.state, sender, to, amount)?;
    Ok(CallOutcome::ok())
}

/// Calls a contract method as the top frame of the transaction.
pub(super) fn call<R: StateReader>(
    env: &Env<'_>,
    scope: &mut CallScope<'_, R>,
    frame: &Frame<'_>,
) -> Result<CallOutcome, ApplyError> {
    Ok(host::call(env, scope, &[], frame)?)
}

/// Validates and stores code at `address`, then runs its constructor if it has one.
pub(super) fn deploy<R: StateReader>(
    env: &Env<'_>,
    scope: &mut CallScope<'_, R>,
    deployer: Address,
    address: Address,
    code: &[u8],
    args: &[u8],
    gas_limit: u64,
) -> Result<CallOutcome, ApplyError> {
    let code_hash = H256(chainvm_vm::code_hash(code));
    let with_hash = |mut o: CallOutcome| {
        o.code_hash = Some(code_hash);
        o
    };
    if account(&*scope.state, &address)?.code_hash.is_some() {
        return Ok(CallOutcome::failed(ErrorDetail::ContractExists { address }));
    }
    let contract = match env.vm.load(&code_hash.0, code) {
        Ok(c) => c,
        Err(VmError::Validation(e)) => {
            // The rule and its numbers only: the validator's (and wasmparser's) message
            // stays out of the receipt.
            return Ok(CallOutcome::failed(ErrorDetail::InvalidCode(
                e.rejection().into(),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    scope.state.set(&layout::code_key(&code_hash), code);
    let mut acct = account(&*scope.state, &address)?;
    acct.code_hash = Some(code_hash);
    set_account(scope.state, &address, &acct);
    if contract.has_entry(CONSTRUCTOR) {
        let frame = Frame {
            caller: deployer,
            target: address,
            method: CONSTRUCTOR,
            input: args,
            value: U256::zero(),
            gas_limit,
        };
        Ok(with_hash(host::execute_frame(
            env,
            scope,
            &[],
            &contract,
            &frame,
        )?))
    } else if !args.is_empty() {
        Ok(with_hash(CallOutcome::failed(ErrorDetail::NoConstructor)))
    } else {
        Ok(with_hash(CallOutcome::ok()))
    }
}
