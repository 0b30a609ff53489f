//! The call itself: its input, its result, its facts (caller, address, value, block) and its
//! abort.

use super::HostTrap;
use super::env::{HostEnv, check_len};
use crate::error::Panic;
use chainvm_abi::limits;

/// `input(out_ptr, out_cap) -> len`: copies the call's input to `out_ptr` if it fits in
/// `out_cap` bytes; always returns the input length.
pub(super) fn do_input(env: &mut HostEnv<'_>, out_ptr: i32, out_cap: i32) -> Result<i32, HostTrap> {
    env.begin(0)?;
    let input = std::mem::take(&mut env.state.input);
    let written = if input.len() <= out_cap as u32 as usize {
        env.charged_write(out_ptr, &input)
    } else {
        Ok(())
    };
    let len = input.len() as i32;
    env.state.input = input;
    written.map(|()| len)
}

/// `set_return(value_ptr, value_len)`: sets the call's return data (the last call wins).
pub(super) fn do_set_return(
    env: &mut HostEnv<'_>,
    value_ptr: i32,
    value_len: i32,
) -> Result<(), HostTrap> {
    env.begin(0)?;
    let value_len = check_len(value_len, limits::MAX_RETURN_LEN, "return data")?;
    let value = env.charged_read(value_ptr, value_len, 0)?;
    env.state.return_data = value;
    Ok(())
}

/// `caller(out_ptr)`: writes the 20-byte address of the immediate caller.
pub(super) fn do_caller(env: &mut HostEnv<'_>, out_ptr: i32) -> Result<(), HostTrap> {
    env.begin(0)?;
    let caller = env.state.ctx.caller;
    env.charged_write(out_ptr, &caller)
}

/// `self_address(out_ptr)`: writes the 20-byte address of the executing contract.
pub(super) fn do_self_address(env: &mut HostEnv<'_>, out_ptr: i32) -> Result<(), HostTrap> {
    env.begin(0)?;
    let address = env.state.ctx.self_address;
    env.charged_write(out_ptr, &address)
}

/// `value(out_ptr)`: writes the 32-byte value attached to this call.
pub(super) fn do_value(env: &mut HostEnv<'_>, out_ptr: i32) -> Result<(), HostTrap> {
    env.begin(0)?;
    let value = env.state.ctx.value;
    env.charged_write(out_ptr, &value)
}

/// `block_height() -> height`: the height of the block being built.
pub(super) fn do_block_height(env: &mut HostEnv<'_>) -> Result<i64, HostTrap> {
    env.begin(0)?;
    Ok(env.state.ctx.block_height as i64)
}

/// `block_timestamp() -> seconds`: the timestamp of the block being built.
pub(super) fn do_block_timestamp(env: &mut HostEnv<'_>) -> Result<i64, HostTrap> {
    env.begin(0)?;
    Ok(env.state.ctx.block_timestamp as i64)
}

/// `abort(message_ptr, message_len, file_ptr, file_len, line, column)`: ends the call as a
/// contract panic. Message and file are cut to [`limits::MAX_MESSAGE_LEN`] bytes, not
/// refused, so a panic always reports something.
pub(super) fn do_abort(
    env: &mut HostEnv<'_>,
    message_ptr: i32,
    message_len: i32,
    file_ptr: i32,
    file_len: i32,
    line: i32,
    column: i32,
) -> Result<(), HostTrap> {
    env.begin(0)?;
    let message_len = (message_len as u32).min(limits::MAX_MESSAGE_LEN) as usize;
    let file_len = (file_len as u32).min(limits::MAX_MESSAGE_LEN) as usize;
    let message = env.charged_read(message_ptr, message_len, 0)?;
    let file = env.charged_read(file_ptr, file_len, 0)?;
    Err(HostTrap::Abort(Panic {
        message: String::from_utf8_lossy(&message).into_owned(),
        file: (!file.is_empty()).then(|| String::from_utf8_lossy(&file).into_owned()),
        line: line as u32,
        column: column as u32,
    }))
}
