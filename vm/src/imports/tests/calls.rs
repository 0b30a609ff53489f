//! `call_contract` and `return_data`.

use super::super::calls::*;
use super::*;
use crate::host::{CallRequest, CallResult};
use chainvm_abi::{error_code, limits};

const ADDRESS: i32 = 100;
const METHOD: i32 = 200;
const ARGS: i32 = 300;
const VALUE: i32 = 400;
const OUT: i32 = 1_000;

/// A fixture set up for a call of `ping(xyz)` on `[9; 20]` with value 5, whose callee
/// answers `code` after using `gas_used` and returning `pong`.
fn with_call(code: i32, gas_used: u64) -> Fixture {
    let mut fx = Fixture::new();
    fx.put(ADDRESS as usize, &[9; 20])
        .put(METHOD as usize, b"ping")
        .put(ARGS as usize, b"xyz")
        .put(VALUE as usize, &amount(5));
    fx.host.call_result = Some(CallResult {
        code,
        gas_used,
        data: b"pong".to_vec(),
    });
    fx
}

/// What is charged before the callee runs, in order.
fn charges_before_the_callee() -> [u64; 5] {
    let c = costs();
    let r = c.read_per_byte;
    [c.base + c.call_contract, 20 * r, 4 * r, 3 * r, 32 * r]
}

fn call(env: &mut HostEnv<'_>, gas: i64) -> Result<i32, HostTrap> {
    do_call_contract(env, ADDRESS, METHOD, 4, ARGS, 3, VALUE, gas)
}

#[test]
fn call_contract_reads_its_arguments_then_charges_what_the_callee_used() {
    let before: u64 = charges_before_the_callee().iter().sum();
    // Reads are charged in order, and at most the gas left goes to the callee: with none
    // left the callee gets a zero limit and nothing more is charged.
    let (fx, code) = assert_charges(
        names::CALL_CONTRACT,
        &charges_before_the_callee(),
        || with_call(error_code::OK, 300),
        |env| call(env, 1_000),
    );
    assert_eq!(code.unwrap(), error_code::OK);
    assert_eq!(fx.host.calls[0].gas_limit, 0);

    let mut fx = with_call(error_code::OK, 300);
    let code = fx.call(names::CALL_CONTRACT, |env| call(env, 1_000));
    assert_eq!(code.unwrap(), error_code::OK);
    assert_eq!(
        fx.host.calls,
        [CallRequest {
            to: [9; 20],
            method: "ping".into(),
            args: b"xyz".to_vec(),
            value: amount(5),
            gas_limit: 1_000,
        }]
    );
    assert_eq!(fx.gas(names::CALL_CONTRACT).gas, before + 300);
    assert_eq!(fx.fuel, PLENTY - before - 300);
    assert_eq!(fx.state.last_call_data, b"pong");
}

#[test]
fn call_contract_forwards_at_most_the_gas_left() {
    let before: u64 = charges_before_the_callee().iter().sum();
    // (requested, fuel after the reads) -> limit the callee gets.
    for (requested, left, limit) in [
        (0, 5_000, 5_000),
        (1_000, 5_000, 1_000),
        (9_000, 5_000, 5_000),
        (-1, 5_000, 5_000),
    ] {
        // A callee reporting more than its limit is charged its limit.
        let mut fx = with_call(error_code::CALLEE_OUT_OF_GAS, u64::MAX);
        fx.fuel = before + left;
        let code = fx.call(names::CALL_CONTRACT, |env| call(env, requested));
        assert_eq!(code.unwrap(), error_code::CALLEE_OUT_OF_GAS);
        assert_eq!(fx.host.calls[0].gas_limit, limit, "{requested}");
        assert_eq!(fx.fuel, left - limit, "{requested}");
        assert_eq!(fx.gas(names::CALL_CONTRACT).gas, before + limit);
    }
}

#[test]
fn a_failed_callee_is_a_status_code_with_its_return_data() {
    let mut fx = with_call(error_code::CALLEE_FAILED, 10);
    let code = fx.call(names::CALL_CONTRACT, |env| call(env, 0));
    assert_eq!(code.unwrap(), error_code::CALLEE_FAILED);
    assert_eq!(fx.state.last_call_data, b"pong");
}

#[test]
fn call_contract_refuses_bad_arguments_before_calling() {
    let flat = charges_before_the_callee()[0];
    let (method, args) = (limits::MAX_METHOD_LEN as i32, limits::MAX_DATA_LEN as i32);
    for (method_len, args_len) in [(method + 1, 0), (-1, 0), (1, args + 1), (1, -1)] {
        assert_bad_argument(names::CALL_CONTRACT, flat, with_call(0, 0), |env| {
            do_call_contract(env, ADDRESS, METHOD, method_len, ARGS, args_len, VALUE, 0)
        });
    }
    let all: u64 = charges_before_the_callee().iter().sum();
    let mut fx = with_call(0, 0);
    fx.put(METHOD as usize, &[0xFF, 0xFE, 0, 0]);
    assert_bad_argument(names::CALL_CONTRACT, all, fx, |env| call(env, 0));

    let end = (MEMORY_LEN - 19) as i32;
    let r = costs().read_per_byte;
    assert_bad_argument(
        names::CALL_CONTRACT,
        flat + 20 * r,
        with_call(0, 0),
        |env| do_call_contract(env, end, METHOD, 4, ARGS, 3, VALUE, 0),
    );
    assert_bad_argument(names::CALL_CONTRACT, all, with_call(0, 0), |env| {
        do_call_contract(env, ADDRESS, METHOD, 4, ARGS, 3, end, 0)
    });
}

#[test]
fn return_data_copies_the_last_call_data_when_it_fits() {
    let c = costs();
    let setup = || {
        let mut fx = Fixture::new();
        fx.state.last_call_data = b"pong".to_vec();
        fx
    };
    let (fx, len) = assert_charges(
        names::RETURN_DATA,
        &[c.base, 4 * c.write_per_byte],
        setup,
        |env| do_return_data(env, OUT, 4),
    );
    assert_eq!(len.unwrap(), 4);
    assert_eq!(fx.mem(OUT as usize, 4), b"pong");
    assert_eq!(fx.state.last_call_data, b"pong", "it can be read again");

    let (fx, len) = assert_charges(names::RETURN_DATA, &[c.base], setup, |env| {
        do_return_data(env, OUT, 3)
    });
    assert_eq!(len.unwrap(), 4);
    assert_eq!(fx.mem(OUT as usize, 4), [0; 4]);

    let fx = assert_bad_argument(
        names::RETURN_DATA,
        c.base + 4 * c.write_per_byte,
        setup(),
        |env| do_return_data(env, (MEMORY_LEN - 3) as i32, 4),
    );
    assert_eq!(fx.state.last_call_data, b"pong");
}
