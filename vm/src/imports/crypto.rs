//! Hashing done by the host for contracts.

use super::HostTrap;
use super::env::{HostEnv, check_len};
use chainvm_abi::limits;
use sha3::{Digest, Keccak256};

/// `keccak256(data_ptr, data_len, out_ptr)`: writes the 32-byte keccak256 of the data.
pub(super) fn do_keccak256(
    env: &mut HostEnv<'_>,
    data_ptr: i32,
    data_len: i32,
    out_ptr: i32,
) -> Result<(), HostTrap> {
    let (flat, per_byte) = (env.costs().keccak, env.costs().keccak_per_byte);
    env.begin(flat)?;
    let data_len = check_len(data_len, limits::MAX_DATA_LEN, "keccak256 input")?;
    let data = env.charged_read(data_ptr, data_len, per_byte)?;
    let hash: [u8; 32] = Keccak256::digest(&data).into();
    env.charged_write(out_ptr, &hash)
}
