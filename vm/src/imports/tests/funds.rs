//! `balance` and `transfer`.

use super::super::funds::*;
use super::*;
use crate::testing::MockTransfer;
use chainvm_abi::error_code;

const OUT: i32 = 1_000;
const TO: i32 = 100;
const AMOUNT: i32 = 200;

fn with_balance(balance: u128) -> Fixture {
    let mut fx = Fixture::new();
    fx.host.balance = balance;
    fx
}

#[test]
fn balance_is_priced_as_a_storage_read_and_written_out() {
    let c = costs();
    let charges = [c.base + c.storage_read, 32 * c.write_per_byte];
    let (fx, result) = assert_charges(
        names::BALANCE,
        &charges,
        || with_balance(4_321),
        |env| do_balance(env, OUT),
    );
    result.unwrap();
    assert_eq!(fx.mem(OUT as usize, 32), amount(4_321));

    let out = (MEMORY_LEN - 31) as i32;
    assert_bad_argument(
        names::BALANCE,
        charges.iter().sum(),
        with_balance(1),
        |env| do_balance(env, out),
    );
}

/// A fixture with balance 100 and a transfer of `value` to `[7; 20]` in memory.
fn with_transfer(value: u128) -> Fixture {
    let mut fx = with_balance(100);
    fx.put(TO as usize, &[7; 20])
        .put(AMOUNT as usize, &amount(value));
    fx
}

#[test]
fn transfer_moves_funds_it_has() {
    let c = costs();
    let charges = [
        c.base + c.transfer,
        20 * c.read_per_byte,
        32 * c.read_per_byte,
    ];
    let (fx, code) = assert_charges(
        names::TRANSFER,
        &charges,
        || with_transfer(60),
        |env| do_transfer(env, TO, AMOUNT),
    );
    assert_eq!(code.unwrap(), error_code::OK);
    assert_eq!(fx.host.balance, 40);
    assert_eq!(
        fx.host.transfers,
        [MockTransfer {
            to: [7; 20],
            amount: 60
        }]
    );

    // More than the balance: a status code, not a trap, and nothing moves.
    let (fx, code) = assert_charges(
        names::TRANSFER,
        &charges,
        || with_transfer(101),
        |env| do_transfer(env, TO, AMOUNT),
    );
    assert_eq!(code.unwrap(), error_code::INSUFFICIENT_FUNDS);
    assert_eq!(fx.host.balance, 100);
    assert!(fx.host.transfers.is_empty());
}

#[test]
fn transfer_out_of_bounds_is_a_bad_argument() {
    let c = costs();
    let flat = c.base + c.transfer;
    let end = (MEMORY_LEN - 19) as i32;
    assert_bad_argument(
        names::TRANSFER,
        flat + 20 * c.read_per_byte,
        with_transfer(1),
        |env| do_transfer(env, end, AMOUNT),
    );
    assert_bad_argument(
        names::TRANSFER,
        flat + 52 * c.read_per_byte,
        with_transfer(1),
        |env| do_transfer(env, TO, end),
    );
}
