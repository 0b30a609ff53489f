//! `storage_get`, `storage_set`, `storage_remove` and `storage_has`.

use super::super::storage::*;
use super::*;
use chainvm_abi::limits;

const KEY: i32 = 100;
const VALUE: i32 = 2_000;

/// A fixture with key `k1` in memory at [`KEY`] and, if `stored`, `k1 = hello` in storage.
fn with_key(stored: bool) -> Fixture {
    let mut fx = Fixture::new();
    fx.put(KEY as usize, b"k1");
    if stored {
        fx.host.storage.insert(b"k1".to_vec(), b"hello".to_vec());
    }
    fx
}

#[test]
fn storage_get_copies_a_value_that_fits_and_charges_every_byte() {
    let c = costs();
    let key = 2 * (c.read_per_byte + c.storage_read_per_byte);
    let charges = [
        c.base + c.storage_read,
        key,
        5 * c.storage_read_per_byte,
        5 * c.write_per_byte,
    ];
    let (fx, len) = assert_charges(
        names::STORAGE_GET,
        &charges,
        || with_key(true),
        |env| do_storage_get(env, KEY, 2, VALUE, 5),
    );
    assert_eq!(len.unwrap(), 5);
    assert_eq!(fx.mem(VALUE as usize, 5), b"hello");

    // Too small a buffer: the length, and the value's read cost, but no write.
    let charges = &charges[..3];
    let (fx, len) = assert_charges(
        names::STORAGE_GET,
        charges,
        || with_key(true),
        |env| do_storage_get(env, KEY, 2, VALUE, 4),
    );
    assert_eq!(len.unwrap(), 5);
    assert_eq!(fx.mem(VALUE as usize, 5), [0; 5]);
}

#[test]
fn storage_get_of_an_absent_key_is_minus_one() {
    let c = costs();
    let charges = [
        c.base + c.storage_read,
        2 * (c.read_per_byte + c.storage_read_per_byte),
    ];
    let (fx, len) = assert_charges(
        names::STORAGE_GET,
        &charges,
        || with_key(false),
        |env| do_storage_get(env, KEY, 2, VALUE, 5),
    );
    assert_eq!(len.unwrap(), -1);
    assert_eq!(fx.mem(VALUE as usize, 5), [0; 5]);
}

#[test]
fn storage_get_refuses_long_keys_and_out_of_bounds_pointers() {
    let c = costs();
    let flat = c.base + c.storage_read;
    let max = limits::MAX_KEY_LEN as i32;
    let mut fx = Fixture::new();
    assert_eq!(
        fx.call(names::STORAGE_GET, |env| do_storage_get(env, 0, max, 0, 0))
            .unwrap(),
        -1
    );
    for key_len in [max + 1, -1] {
        assert_bad_argument(names::STORAGE_GET, flat, with_key(true), |env| {
            do_storage_get(env, KEY, key_len, VALUE, 5)
        });
    }
    let key = 2 * (c.read_per_byte + c.storage_read_per_byte);
    assert_bad_argument(names::STORAGE_GET, flat + key, with_key(true), |env| {
        do_storage_get(env, (MEMORY_LEN - 1) as i32, 2, VALUE, 5)
    });
    let value = 5 * (c.storage_read_per_byte + c.write_per_byte);
    assert_bad_argument(
        names::STORAGE_GET,
        flat + key + value,
        with_key(true),
        |env| do_storage_get(env, KEY, 2, (MEMORY_LEN - 4) as i32, 5),
    );
}

#[test]
fn storage_set_writes_key_and_value() {
    let c = costs();
    let setup = || {
        let mut fx = with_key(false);
        fx.put(VALUE as usize, b"world!");
        fx
    };
    let per = c.read_per_byte + c.storage_write_per_byte;
    let charges = [c.base + c.storage_write, 2 * per, 6 * per];
    let (fx, result) = assert_charges(names::STORAGE_SET, &charges, setup, |env| {
        do_storage_set(env, KEY, 2, VALUE, 6)
    });
    result.unwrap();
    assert_eq!(fx.host.storage.get(&b"k1"[..]).unwrap(), b"world!");

    // The largest key and value are accepted.
    let mut fx = Fixture::new();
    let (key, value) = (limits::MAX_KEY_LEN as i32, limits::MAX_VALUE_LEN as i32);
    fx.call(names::STORAGE_SET, |env| {
        do_storage_set(env, 0, key, 0, value)
    })
    .unwrap();
    let (stored_key, stored_value) = fx.host.storage.first_key_value().unwrap();
    assert_eq!(
        (stored_key.len(), stored_value.len()),
        (key as usize, value as usize)
    );
}

#[test]
fn storage_set_checks_both_lengths_before_reading_either() {
    let c = costs();
    let flat = c.base + c.storage_write;
    let (key, value) = (limits::MAX_KEY_LEN as i32, limits::MAX_VALUE_LEN as i32);
    for (key_len, value_len) in [(key + 1, 1), (-1, 1), (1, value + 1), (1, -1)] {
        assert_bad_argument(names::STORAGE_SET, flat, Fixture::new(), |env| {
            do_storage_set(env, KEY, key_len, VALUE, value_len)
        });
    }
    let per = c.read_per_byte + c.storage_write_per_byte;
    let end = (MEMORY_LEN - 1) as i32;
    assert_bad_argument(names::STORAGE_SET, flat + 2 * per, Fixture::new(), |env| {
        do_storage_set(env, end, 2, VALUE, 6)
    });
    assert_bad_argument(names::STORAGE_SET, flat + 8 * per, Fixture::new(), |env| {
        do_storage_set(env, KEY, 2, end, 6)
    });
}

#[test]
fn storage_remove_reports_whether_the_key_existed() {
    let c = costs();
    let charges = [c.base + c.storage_remove, 2 * c.read_per_byte];
    for stored in [true, false] {
        let (fx, existed) = assert_charges(
            names::STORAGE_REMOVE,
            &charges,
            || with_key(stored),
            |env| do_storage_remove(env, KEY, 2),
        );
        assert_eq!(existed.unwrap(), i32::from(stored));
        assert!(fx.host.storage.is_empty());
    }
    let flat = c.base + c.storage_remove;
    let too_long = limits::MAX_KEY_LEN as i32 + 1;
    let fx = assert_bad_argument(names::STORAGE_REMOVE, flat, with_key(true), |env| {
        do_storage_remove(env, KEY, too_long)
    });
    assert_eq!(fx.host.storage.len(), 1);
    let end = (MEMORY_LEN - 1) as i32;
    assert_bad_argument(
        names::STORAGE_REMOVE,
        flat + 2 * c.read_per_byte,
        with_key(true),
        |env| do_storage_remove(env, end, 2),
    );
}

#[test]
fn storage_has_reports_presence() {
    let c = costs();
    let charges = [c.base + c.storage_has, 2 * c.read_per_byte];
    for stored in [true, false] {
        let (fx, present) = assert_charges(
            names::STORAGE_HAS,
            &charges,
            || with_key(stored),
            |env| do_storage_has(env, KEY, 2),
        );
        assert_eq!(present.unwrap(), i32::from(stored));
        assert_eq!(fx.host.storage.len(), usize::from(stored));
    }
    let flat = c.base + c.storage_has;
    let too_long = limits::MAX_KEY_LEN as i32 + 1;
    assert_bad_argument(names::STORAGE_HAS, flat, with_key(true), |env| {
        do_storage_has(env, KEY, too_long)
    });
    let end = (MEMORY_LEN - 1) as i32;
    assert_bad_argument(
        names::STORAGE_HAS,
        flat + 2 * c.read_per_byte,
        with_key(true),
        |env| do_storage_has(env, end, 2),
    );
}
