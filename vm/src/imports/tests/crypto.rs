//! `keccak256`.

use super::super::crypto::*;
use super::*;
use chainvm_abi::limits;
use sha3::{Digest, Keccak256};

const DATA: i32 = 10;
const OUT: i32 = 1_000;

#[test]
fn keccak256_writes_the_hash_of_the_data() {
    let c = costs();
    let setup = || {
        let mut fx = Fixture::new();
        fx.put(DATA as usize, b"value!");
        fx
    };
    let charges = [
        c.base + c.keccak,
        6 * (c.read_per_byte + c.keccak_per_byte),
        32 * c.write_per_byte,
    ];
    let (fx, result) = assert_charges(names::KECCAK256, &charges, setup, |env| {
        do_keccak256(env, DATA, 6, OUT)
    });
    result.unwrap();
    let want: [u8; 32] = Keccak256::digest(b"value!").into();
    assert_eq!(fx.mem(OUT as usize, 32), want);

    // Empty input hashes too; the largest input is accepted.
    let mut fx = Fixture::new();
    fx.call(names::KECCAK256, |env| do_keccak256(env, DATA, 0, OUT))
        .unwrap();
    let want: [u8; 32] = Keccak256::digest(b"").into();
    assert_eq!(fx.mem(OUT as usize, 32), want);
    let max = limits::MAX_DATA_LEN as i32;
    fx.call(names::KECCAK256, |env| do_keccak256(env, 0, max, 0))
        .unwrap();
}

#[test]
fn keccak256_refuses_long_input_and_out_of_bounds_pointers() {
    let c = costs();
    let flat = c.base + c.keccak;
    for len in [limits::MAX_DATA_LEN as i32 + 1, -1] {
        assert_bad_argument(names::KECCAK256, flat, Fixture::new(), |env| {
            do_keccak256(env, DATA, len, OUT)
        });
    }
    let read = 6 * (c.read_per_byte + c.keccak_per_byte);
    let end = (MEMORY_LEN - 5) as i32;
    assert_bad_argument(names::KECCAK256, flat + read, Fixture::new(), |env| {
        do_keccak256(env, end, 6, OUT)
    });
    assert_bad_argument(
        names::KECCAK256,
        flat + read + 32 * c.write_per_byte,
        Fixture::new(),
        |env| do_keccak256(env, DATA, 6, (MEMORY_LEN - 31) as i32),
    );
}
