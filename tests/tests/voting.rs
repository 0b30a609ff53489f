//! Every voting path on the real compiled contract.

use chainvm_runtime::{Address, ErrorCode};
use chainvm_tests::{JsonCall, TestChain};
use serde_json::{Value, json};

fn setup() -> (TestChain, Address) {
    let mut c = TestChain::new();
    let (v, _) = c.deploy(0, "voting", json!(null));
    (c, v)
}

fn error(r: &JsonCall) -> &str {
    assert_eq!(
        r.receipt.error.as_ref().unwrap().code,
        ErrorCode::ContractPanic
    );
    r.value
        .as_str()
        .unwrap_or_else(|| panic!("typed error expected, got {:?}", r.value))
}

fn propose(c: &mut TestChain, v: Address, start: u64, end: u64, voters: Value) -> u64 {
    let r = c.call(
        0,
        v,
        "create_proposal",
        json!({"title": "lunch", "options": ["pizza", "sushi", "salad"], "start": start, "end": end, "voters": voters}),
        0,
    );
    assert!(r.ok(), "{:?}", r.receipt.error);
    r.value.as_u64().unwrap()
}

#[test]
fn open_vote_full_round_tally_and_finalize() {
    let (mut c, v) = setup();
    let start = c.height() + 3;
    let id = propose(&mut c, v, start, start + 20, json!(null));
    assert_eq!(
        error(&c.call(1, v, "vote", json!({"id": id, "option": 1}), 0)),
        "NotStarted"
    );
    c.advance_to(start - 1);
    for (voter, option) in [(1, 1), (2, 1), (3, 0), (4, 2)] {
        let r = c.call(voter, v, "vote", json!({"id": id, "option": option}), 0);
        assert!(r.ok(), "{:?}", r.receipt.error);
        assert_eq!(
            r.events,
            vec![(
                "Voted".to_string(),
                json!({"id": id, "voter": c.addr_json(voter), "option": option})
            )]
        );
    }
    assert_eq!(c.view(v, "tally", json!({"id": id})), json!([1, 2, 1]));
    assert_eq!(
        c.view(v, "vote_of", json!({"id": id, "voter": c.addr_json(1)})),
        json!(1)
    );
    assert_eq!(
        c.view(v, "vote_of", json!({"id": id, "voter": c.addr_json(0)})),
        json!(null)
    );
    assert_eq!(
        error(&c.call(1, v, "vote", json!({"id": id, "option": 0}), 0)),
        "AlreadyVoted"
    );
    assert_eq!(
        error(&c.call(0, v, "vote", json!({"id": id, "option": 7}), 0)),
        "BadOption"
    );
    assert_eq!(
        error(&c.call(0, v, "finalize", json!({"id": id}), 0)),
        "NotEnded"
    );
    c.advance_to(start + 20);
    assert_eq!(
        error(&c.call(0, v, "vote", json!({"id": id, "option": 0}), 0)),
        "Ended"
    );
    let r = c.call(0, v, "finalize", json!({"id": id}), 0);
    assert!(r.ok());
    assert_eq!(r.value, json!(1));
    assert_eq!(
        r.events,
        vec![(
            "Finalized".to_string(),
            json!({"id": id, "winner": 1, "tally": [1, 2, 1]})
        )]
    );
    assert_eq!(
        error(&c.call(0, v, "finalize", json!({"id": id}), 0)),
        "AlreadyFinalized"
    );
    let p = c.view(v, "get_proposal", json!({"id": id}));
    assert_eq!(p["finalized"], json!(true));
    assert_eq!(p["winner"], json!(1));
    assert_eq!(p["options"], json!(["pizza", "sushi", "salad"]));
}

#[test]
fn registered_voters_only() {
    let (mut c, v) = setup();
    let start = c.height() + 1;
    let voters = json!([c.addr_json(1), c.addr_json(2)]);
    let id = propose(&mut c, v, start, start + 10, voters);
    assert!(c.call(1, v, "vote", json!({"id": id, "option": 0}), 0).ok());
    assert_eq!(
        error(&c.call(3, v, "vote", json!({"id": id, "option": 0}), 0)),
        "NotEligible"
    );
    assert!(c.call(2, v, "vote", json!({"id": id, "option": 2}), 0).ok());
    assert_eq!(c.view(v, "tally", json!({"id": id})), json!([1, 0, 1]));
}

#[test]
fn bad_proposals_and_unknown_ids_are_rejected() {
    let (mut c, v) = setup();
    let h = c.height();
    let bad = |c: &mut TestChain, options: Value, start: u64, end: u64| {
        let r = c.call(
            0,
            v,
            "create_proposal",
            json!({"title": "t", "options": options, "start": start, "end": end}),
            0,
        );
        error(&r).to_string()
    };
    assert_eq!(bad(&mut c, json!(["only one"]), h + 2, h + 5), "BadOptions");
    assert_eq!(bad(&mut c, json!(["a", "b"]), h + 5, h + 2), "BadWindow");
    assert_eq!(bad(&mut c, json!(["a", "b"]), 0, h + 20), "BadWindow");
    assert_eq!(
        error(&c.call(0, v, "vote", json!({"id": 5, "option": 0}), 0)),
        "NotFound"
    );
    assert_eq!(
        error(&c.call(0, v, "finalize", json!({"id": 5}), 0)),
        "NotFound"
    );
    // A view that returns Result: Err comes back as a failed call with the typed error.
    let r = c.call(0, v, "tally", json!({"id": 5}), 0);
    assert_eq!(error(&r), "NotFound");
}
