//! The executing contract's funds: its balance and transfers out of it.

use super::HostTrap;
use super::env::{HostEnv, bad, host_result};
use crate::host::{Address, Amount, TransferError};
use chainvm_abi::{self as abi, error_code};

/// `balance(out_ptr)`: writes the executing contract's 32-byte balance.
pub(super) fn do_balance(env: &mut HostEnv<'_>, out_ptr: i32) -> Result<(), HostTrap> {
    // Reading the balance reads an account record from state: priced as a storage read
    // (calibration measured it ~9x under-priced at the bare host-call base).
    let read = env.costs().storage_read;
    env.begin(read)?;
    let per = env.costs().write_per_byte;
    env.charge(per * abi::AMOUNT_LEN as u64)?;
    let balance = host_result(env.host.balance())?;
    env.write(out_ptr, &balance)
}

/// `transfer(to_ptr, amount_ptr) -> code`: moves an amount out of the executing contract;
/// [`error_code::OK`] or [`error_code::INSUFFICIENT_FUNDS`].
pub(super) fn do_transfer(
    env: &mut HostEnv<'_>,
    to_ptr: i32,
    amount_ptr: i32,
) -> Result<i32, HostTrap> {
    let flat = env.costs().transfer;
    env.begin(flat)?;
    let to = env.charged_read(to_ptr, abi::ADDRESS_LEN, 0)?;
    let amount = env.charged_read(amount_ptr, abi::AMOUNT_LEN, 0)?;
    let (Ok(to), Ok(amount)) = (
        Address::try_from(to.as_slice()),
        Amount::try_from(amount.as_slice()),
    ) else {
        return bad("malformed address or amount");
    };
    Ok(match host_result(env.host.transfer(&to, &amount))? {
        Ok(()) => error_code::OK,
        Err(TransferError::InsufficientFunds) => error_code::INSUFFICIENT_FUNDS,
    })
}
