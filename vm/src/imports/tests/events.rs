//! `emit_event`.

use super::super::events::*;
use super::*;
use crate::testing::MockEvent;
use chainvm_abi::limits;

const TOPIC: i32 = 100;
const DATA: i32 = 1_000;

fn with_event() -> Fixture {
    let mut fx = Fixture::new();
    fx.put(TOPIC as usize, b"Moved")
        .put(DATA as usize, b"payload!");
    fx
}

#[test]
fn emit_event_records_topic_and_data() {
    let c = costs();
    let per = c.read_per_byte + c.event_per_byte;
    let charges = [c.base + c.event, 5 * per, 8 * per];
    let (fx, result) = assert_charges(names::EMIT_EVENT, &charges, with_event, |env| {
        do_emit_event(env, TOPIC, 5, DATA, 8)
    });
    result.unwrap();
    assert_eq!(
        fx.host.events,
        [MockEvent {
            topic: b"Moved".to_vec(),
            data: b"payload!".to_vec()
        }]
    );

    // The largest topic and data are accepted.
    let mut fx = Fixture::new();
    let (topic, data) = (
        limits::MAX_TOPIC_LEN as i32,
        limits::MAX_EVENT_DATA_LEN as i32,
    );
    fx.call(names::EMIT_EVENT, |env| {
        do_emit_event(env, 0, topic, 0, data)
    })
    .unwrap();
    assert_eq!(fx.host.events[0].data.len(), data as usize);
}

#[test]
fn emit_event_refuses_long_topics_and_data_and_out_of_bounds_pointers() {
    let c = costs();
    let flat = c.base + c.event;
    let (topic, data) = (
        limits::MAX_TOPIC_LEN as i32,
        limits::MAX_EVENT_DATA_LEN as i32,
    );
    for (topic_len, data_len) in [(topic + 1, 1), (-1, 1), (1, data + 1), (1, -1)] {
        assert_bad_argument(names::EMIT_EVENT, flat, with_event(), |env| {
            do_emit_event(env, TOPIC, topic_len, DATA, data_len)
        });
    }
    let per = c.read_per_byte + c.event_per_byte;
    let end = (MEMORY_LEN - 4) as i32;
    assert_bad_argument(names::EMIT_EVENT, flat + 5 * per, with_event(), |env| {
        do_emit_event(env, end, 5, DATA, 8)
    });
    assert_bad_argument(names::EMIT_EVENT, flat + 13 * per, with_event(), |env| {
        do_emit_event(env, TOPIC, 5, end, 8)
    });
}

#[test]
fn an_event_the_host_refuses_ends_the_call_after_being_charged() {
    let c = costs();
    let setup = || {
        let mut fx = with_event();
        fx.host.max_event_bytes = Some(12);
        fx
    };
    let per = c.read_per_byte + c.event_per_byte;
    let charges = [c.base + c.event, 5 * per, 8 * per];
    let (fx, result) = assert_charges(names::EMIT_EVENT, &charges, setup, |env| {
        do_emit_event(env, TOPIC, 5, DATA, 8)
    });
    assert!(matches!(result, Err(HostTrap::EventRefused)), "{result:?}");
    assert!(fx.host.events.is_empty());
}
