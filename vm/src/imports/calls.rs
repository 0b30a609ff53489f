//! Cross-contract calls and the return data they leave behind.

use super::HostTrap;
use super::env::{HostEnv, bad, check_len, host_result};
use crate::host::{Address, Amount, CallRequest};
use chainvm_abi::{self as abi, limits};

/// `call_contract(address_ptr, method_ptr, method_len, args_ptr, args_len, value_ptr, gas)
/// -> code`: runs another contract's method with attached value, forwarding at most `gas`
/// (0: all that is left); the callee's gas is then charged here. Returns the callee's
/// [`chainvm_abi::error_code`] and keeps its data for `return_data`.
#[allow(
    clippy::too_many_arguments,
    reason = "the ABI signature, one wasm param each"
)]
pub(super) fn do_call_contract(
    env: &mut HostEnv<'_>,
    address_ptr: i32,
    method_ptr: i32,
    method_len: i32,
    args_ptr: i32,
    args_len: i32,
    value_ptr: i32,
    gas: i64,
) -> Result<i32, HostTrap> {
    let flat = env.costs().call_contract;
    env.begin(flat)?;
    let method_len = check_len(method_len, limits::MAX_METHOD_LEN, "method name")?;
    let args_len = check_len(args_len, limits::MAX_DATA_LEN, "call arguments")?;
    let to = env.charged_read(address_ptr, abi::ADDRESS_LEN, 0)?;
    let method = env.charged_read(method_ptr, method_len, 0)?;
    let args = env.charged_read(args_ptr, args_len, 0)?;
    let value = env.charged_read(value_ptr, abi::AMOUNT_LEN, 0)?;
    let (Ok(to), Ok(value)) = (
        Address::try_from(to.as_slice()),
        Amount::try_from(value.as_slice()),
    ) else {
        return bad("malformed address or amount");
    };
    let Ok(method) = String::from_utf8(method) else {
        return bad("method name is not UTF-8");
    };
    let available = env.fuel();
    let requested = gas as u64;
    let gas_limit = if requested == 0 {
        available
    } else {
        requested.min(available)
    };
    let request = CallRequest {
        to,
        method,
        args,
        value,
        gas_limit,
    };
    let result = host_result(env.host.call_contract(request))?;
    env.charge(result.gas_used.min(gas_limit))?;
    env.state.last_call_data = result.data;
    Ok(result.code)
}

/// `return_data(out_ptr, out_cap) -> len`: copies the last `call_contract`'s return data to
/// `out_ptr` if it fits in `out_cap` bytes; always returns its length.
pub(super) fn do_return_data(
    env: &mut HostEnv<'_>,
    out_ptr: i32,
    out_cap: i32,
) -> Result<i32, HostTrap> {
    env.begin(0)?;
    let data = std::mem::take(&mut env.state.last_call_data);
    let written = if data.len() <= out_cap as u32 as usize {
        env.charged_write(out_ptr, &data)
    } else {
        Ok(())
    };
    let len = data.len() as i32;
    env.state.last_call_data = data;
    written.map(|()| len)
}
