//! The executing contract's storage: get, set, remove, has.

use super::HostTrap;
use super::env::{HostEnv, check_len, host_result};
use chainvm_abi::limits;

/// `storage_get(key_ptr, key_len, value_ptr, value_cap) -> len`: reads a value; -1 if
/// absent, else its length. The value is copied to `value_ptr` only if it fits in
/// `value_cap` bytes, but its per-byte read cost is charged either way.
pub(super) fn do_storage_get(
    env: &mut HostEnv<'_>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_cap: i32,
) -> Result<i64, HostTrap> {
    let (flat, per_byte) = (env.costs().storage_read, env.costs().storage_read_per_byte);
    env.begin(flat)?;
    let key_len = check_len(key_len, limits::MAX_KEY_LEN, "storage key")?;
    let key = env.charged_read(key_ptr, key_len, per_byte)?;
    let Some(value) = host_result(env.host.storage_get(&key))? else {
        return Ok(-1);
    };
    env.charge(per_byte.saturating_mul(value.len() as u64))?;
    if value.len() <= value_cap as u32 as usize {
        env.charged_write(value_ptr, &value)?;
    }
    Ok(value.len() as i64)
}

/// `storage_set(key_ptr, key_len, value_ptr, value_len)`: writes a value.
pub(super) fn do_storage_set(
    env: &mut HostEnv<'_>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
) -> Result<(), HostTrap> {
    let (flat, per_byte) = (
        env.costs().storage_write,
        env.costs().storage_write_per_byte,
    );
    env.begin(flat)?;
    let key_len = check_len(key_len, limits::MAX_KEY_LEN, "storage key")?;
    let value_len = check_len(value_len, limits::MAX_VALUE_LEN, "storage value")?;
    let key = env.charged_read(key_ptr, key_len, per_byte)?;
    let value = env.charged_read(value_ptr, value_len, per_byte)?;
    host_result(env.host.storage_set(&key, &value))
}

/// `storage_remove(key_ptr, key_len) -> existed`: removes a value; 1 if it existed, else 0.
pub(super) fn do_storage_remove(
    env: &mut HostEnv<'_>,
    key_ptr: i32,
    key_len: i32,
) -> Result<i32, HostTrap> {
    let flat = env.costs().storage_remove;
    env.begin(flat)?;
    let key_len = check_len(key_len, limits::MAX_KEY_LEN, "storage key")?;
    let key = env.charged_read(key_ptr, key_len, 0)?;
    host_result(env.host.storage_remove(&key)).map(i32::from)
}

/// `storage_has(key_ptr, key_len) -> present`: 1 if the key has a value, else 0.
pub(super) fn do_storage_has(
    env: &mut HostEnv<'_>,
    key_ptr: i32,
    key_len: i32,
) -> Result<i32, HostTrap> {
    let flat = env.costs().storage_has;
    env.begin(flat)?;
    let key_len = check_len(key_len, limits::MAX_KEY_LEN, "storage key")?;
    let key = env.charged_read(key_ptr, key_len, 0)?;
    host_result(env.host.storage_has(&key)).map(i32::from)
}
