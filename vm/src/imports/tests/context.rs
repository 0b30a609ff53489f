//! `input`, `set_return`, `caller`, `self_address`, `value`, `block_height`,
//! `block_timestamp` and `abort`.

use super::super::context::*;
use super::*;
use crate::error::Panic;
use chainvm_abi::limits;

const OUT: i32 = 1_000;

#[test]
fn input_is_written_when_it_fits_and_its_length_always_returned() {
    let c = costs();
    let (fx, len) = assert_charges(
        names::INPUT,
        &[c.base, 5 * c.write_per_byte],
        Fixture::new,
        |env| do_input(env, OUT, 5),
    );
    assert_eq!(len.unwrap(), 5);
    assert_eq!(fx.mem(OUT as usize, 5), b"input");

    // Too small a buffer: only the length, nothing written or charged per byte.
    let (fx, len) = assert_charges(names::INPUT, &[c.base], Fixture::new, |env| {
        do_input(env, OUT, 4)
    });
    assert_eq!(len.unwrap(), 5);
    assert_eq!(fx.mem(OUT as usize, 5), [0; 5]);

    // A negative capacity is a huge one.
    let mut fx = Fixture::new();
    assert_eq!(
        fx.call(names::INPUT, |env| do_input(env, OUT, -1)).unwrap(),
        5
    );
    assert_eq!(fx.mem(OUT as usize, 5), b"input");
}

#[test]
fn input_out_of_bounds_is_a_bad_argument_and_keeps_the_input() {
    let c = costs();
    let fx = assert_bad_argument(
        names::INPUT,
        c.base + 5 * c.write_per_byte,
        Fixture::new(),
        |env| do_input(env, (MEMORY_LEN - 4) as i32, 5),
    );
    assert_eq!(fx.state.input, b"input");
    let mut fx = Fixture::new();
    fx.memory = None;
    assert_bad_argument(names::INPUT, c.base + 5 * c.write_per_byte, fx, |env| {
        do_input(env, 0, 5)
    });
}

#[test]
fn set_return_keeps_the_data_read_from_memory() {
    let c = costs();
    let setup = || {
        let mut fx = Fixture::new();
        fx.put(100, b"result");
        fx
    };
    let (fx, result) = assert_charges(
        names::SET_RETURN,
        &[c.base, 6 * c.read_per_byte],
        setup,
        |env| do_set_return(env, 100, 6),
    );
    result.unwrap();
    assert_eq!(fx.state.return_data, b"result");

    // The largest return data is accepted.
    let mut fx = Fixture::new();
    let max = limits::MAX_RETURN_LEN as i32;
    fx.call(names::SET_RETURN, |env| do_set_return(env, 0, max))
        .unwrap();
    assert_eq!(fx.state.return_data.len(), limits::MAX_RETURN_LEN as usize);
}

#[test]
fn set_return_refuses_too_long_or_out_of_bounds_data() {
    let c = costs();
    for len in [limits::MAX_RETURN_LEN as i32 + 1, -1] {
        let fx = assert_bad_argument(names::SET_RETURN, c.base, Fixture::new(), |env| {
            do_set_return(env, 0, len)
        });
        assert!(fx.state.return_data.is_empty());
    }
    let fx = assert_bad_argument(
        names::SET_RETURN,
        c.base + 8 * c.read_per_byte,
        Fixture::new(),
        |env| do_set_return(env, (MEMORY_LEN - 7) as i32, 8),
    );
    assert!(fx.state.return_data.is_empty());
}

#[test]
fn caller_self_address_and_value_write_the_call_context() {
    let c = costs();
    let ctx = context();
    type Write = fn(&mut HostEnv<'_>, i32) -> Result<(), HostTrap>;
    let cases: [(&str, Write, &[u8]); 3] = [
        (names::CALLER, do_caller, &ctx.caller),
        (names::SELF_ADDRESS, do_self_address, &ctx.self_address),
        (names::VALUE, do_value, &ctx.value),
    ];
    for (name, function, want) in cases {
        let len = want.len() as u64;
        let (fx, result) = assert_charges(
            name,
            &[c.base, len * c.write_per_byte],
            Fixture::new,
            |env| function(env, OUT),
        );
        result.unwrap();
        assert_eq!(fx.mem(OUT as usize, want.len()), want, "{name}");

        let out = (MEMORY_LEN - want.len() + 1) as i32;
        assert_bad_argument(
            name,
            c.base + len * c.write_per_byte,
            Fixture::new(),
            |env| function(env, out),
        );
    }
}

#[test]
fn block_height_and_timestamp_cost_the_base_only() {
    let c = costs();
    let (_, height) = assert_charges(
        names::BLOCK_HEIGHT,
        &[c.base],
        Fixture::new,
        do_block_height,
    );
    assert_eq!(height.unwrap(), 1_234);
    let (_, time) = assert_charges(
        names::BLOCK_TIMESTAMP,
        &[c.base],
        Fixture::new,
        do_block_timestamp,
    );
    assert_eq!(time.unwrap(), 1_700_000_000);
}

#[test]
fn abort_panics_with_message_and_location() {
    let c = costs();
    let setup = || {
        let mut fx = Fixture::new();
        fx.put(10, b"boom").put(50, b"src/lib.rs");
        fx
    };
    let charges = [c.base, 4 * c.read_per_byte, 10 * c.read_per_byte];
    let (_, result) = assert_charges(names::ABORT, &charges, setup, |env| {
        do_abort(env, 10, 4, 50, 10, 7, 3)
    });
    let Err(HostTrap::Abort(panic)) = result else {
        panic!("{result:?}");
    };
    assert_eq!(
        panic,
        Panic {
            message: "boom".into(),
            file: Some("src/lib.rs".into()),
            line: 7,
            column: 3,
        }
    );

    // No file: no location file.
    let mut fx = setup();
    let result = fx.call(names::ABORT, |env| do_abort(env, 10, 4, 0, 0, 0, 0));
    assert!(matches!(
        result,
        Err(HostTrap::Abort(Panic { file: None, .. }))
    ));
}

#[test]
fn abort_cuts_long_texts_instead_of_refusing_them() {
    let c = costs();
    let max = limits::MAX_MESSAGE_LEN as usize;
    let mut fx = Fixture::new();
    fx.put(0, &vec![b'a'; max + 1]);
    let result = fx.call(names::ABORT, |env| {
        do_abort(env, 0, -1, 0, max as i32 + 1, 0, 0)
    });
    let Err(HostTrap::Abort(panic)) = result else {
        panic!("{result:?}");
    };
    assert_eq!(panic.message.len(), max);
    assert_eq!(panic.file.map(|f| f.len()), Some(max));
    assert_eq!(
        fx.gas(names::ABORT).gas,
        c.base + 2 * max as u64 * c.read_per_byte
    );

    // Out of bounds is still a bad argument, after the read is charged.
    assert_bad_argument(
        names::ABORT,
        c.base + 4 * c.read_per_byte,
        Fixture::new(),
        |env| do_abort(env, (MEMORY_LEN - 3) as i32, 4, 0, 0, 0, 0),
    );
}
