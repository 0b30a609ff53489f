//! Transactions through the executor: every admission error, fees and refunds, revert of
//! failed calls, storage isolation, cross-contract calls, receipts and determinism.
//!
//! Over 600 lines on purpose: every test runs through the one `Harness` of `tests/common`
//! against the executor's single set of rules; it splits naturally by rule (admission, fees,
//! calls, staking) when issue 15 splits the executor into phases.

mod common;
use chainvm_abi::error_code;
use chainvm_runtime::executor::ViewCall;
use chainvm_runtime::layout;
use chainvm_runtime::state::Overlay;
use chainvm_runtime::{
    AdmissionError, ApplyError, ErrorCode, ErrorDetail, Executor, Keypair, Payload, Status,
    Transaction, U256,
};
use common::*;

fn admission(r: Result<chainvm_runtime::Receipt, ApplyError>) -> AdmissionError {
    match r {
        Err(ApplyError::Admission(e)) => e,
        other => panic!("expected an admission error, got {other:?}"),
    }
}

fn transfer(to: chainvm_runtime::Address, amount: u128) -> Payload {
    Payload::Transfer {
        to,
        amount: U256::from(amount),
    }
}

#[test]
fn every_admission_error_is_typed_and_changes_nothing() {
    let mut h = Harness::new();
    let to = h.addr(1);
    let root = h.root();
    let base = h.tx(0, transfer(to, 1));
    let exec_params = h.params.clone();
    let resign = |t: Transaction, h: &Harness| t.sign(&h.keys[0]);

    // Bad signature: content changed after signing.
    let mut bad = base.clone();
    bad.body.gas_price = U256::from(2);
    assert_eq!(
        admission(h.block(&[bad]).remove(0)),
        AdmissionError::BadSignature
    );
    // Signed by another key than the one presented.
    let mut bad = base.clone();
    bad.public_key = h.keys[1].public();
    assert_eq!(
        admission(h.block(&[bad]).remove(0)),
        AdmissionError::BadSignature
    );
    // Wrong chain id.
    let mut t = base.body.clone();
    t.chain_id += 1;
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::WrongChainId { .. }
    ));
    // Nonce gap.
    let mut t = base.body.clone();
    t.nonce += 1;
    assert_eq!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::NonceGap {
            expected: 0,
            got: 1
        }
    );
    // Insufficient funds: value + gas limit x price above the balance.
    let mut t = base.body.clone();
    t.payload = transfer(to, FUNDS);
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::InsufficientFunds { .. }
    ));
    let mut t = base.body.clone();
    t.gas_price = U256::MAX;
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::InsufficientFunds { .. }
    ));
    // Gas limit above the block limit, and below the intrinsic cost.
    let mut t = base.body.clone();
    t.gas_limit = exec_params.block_gas_limit + 1;
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::GasLimitTooHigh { .. }
    ));
    let mut t = base.body.clone();
    t.gas_limit = 1000;
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::GasLimitTooLow { .. }
    ));
    // Oversized.
    let mut t = base.body.clone();
    t.payload = Payload::Deploy {
        code: vec![0; exec_params.max_tx_size],
        args: vec![],
    };
    assert!(matches!(
        admission(h.block(&[resign(t, &h)]).remove(0)),
        AdmissionError::TooLarge { .. }
    ));
    // Malformed payloads.
    for payload in [
        Payload::Call {
            contract: to,
            method: String::new(),
            args: vec![],
            value: U256::zero(),
        },
        Payload::Deploy {
            code: vec![],
            args: vec![],
        },
        Payload::Stake {
            validator: to,
            amount: U256::zero(),
        },
    ] {
        let mut t = base.body.clone();
        t.payload = payload;
        assert!(matches!(
            admission(h.block(&[resign(t, &h)]).remove(0)),
            AdmissionError::Malformed(_)
        ));
    }
    // Malformed bytes.
    let exec = Executor::new(&h.vm, &h.params);
    let bytes = base.encode();
    assert!(matches!(
        exec.decode(&bytes[..bytes.len() - 3]),
        Err(AdmissionError::Malformed(_))
    ));
    assert!(matches!(
        exec.decode(&[bytes.clone(), vec![0]].concat()),
        Err(AdmissionError::Malformed(_))
    ));
    assert!(matches!(
        exec.decode(&vec![0; exec_params.max_tx_size + 1]),
        Err(AdmissionError::TooLarge { .. })
    ));
    assert_eq!(exec.decode(&bytes).unwrap(), base);

    // None of that changed the state (the empty blocks wrote nothing).
    assert_eq!(h.root(), root);

    // The valid one goes through once; replaying it is refused.
    assert!(
        h.block(std::slice::from_ref(&base))
            .remove(0)
            .unwrap()
            .is_success()
    );
    assert_eq!(
        admission(h.block(&[base]).remove(0)),
        AdmissionError::NonceTooLow {
            expected: 1,
            got: 0
        }
    );
}

#[test]
fn fees_are_charged_for_gas_used_refunded_and_paid_to_the_proposer() {
    let mut h = Harness::new();
    let (a, b, p) = (h.addr(0), h.addr(1), h.validator.address());
    let before = (
        h.account(&a).balance,
        h.account(&b).balance,
        h.account(&p).balance,
    );
    let t = h.unsigned(0, transfer(b, 1234)).with_gas_price(3);
    let r = h.block(&[t.sign(&h.keys[0])]).remove(0).unwrap();
    assert!(r.is_success());
    assert_eq!(r.gas_used, r.gas.intrinsic);
    let fee = U256::from(r.gas_used) * 3;
    assert_eq!(h.account(&a).balance, before.0 - 1234 - fee);
    assert_eq!(h.account(&b).balance, before.1 + 1234);
    assert_eq!(h.account(&p).balance, before.2 + fee);
    assert_eq!(h.account(&a).nonce, 1);
}

#[test]
fn a_failed_call_leaves_state_exactly_as_before_except_nonce_and_fee() {
    let mut h = Harness::new();
    let c = h.deploy(0, fixture("counter.wat"), 5u64.to_le_bytes().to_vec());
    assert!(h.call(1, c, "incr", vec![], 0).is_success());
    let before = h.entries();
    let (sender, proposer) = (h.addr(1), h.validator.address());
    let acct_before = h.account(&sender);
    let prop_before = h.account(&proposer);

    let r = h.call(1, c, "incr_then_panic", vec![], 777);
    assert_eq!(r.status, Status::Failed);
    let err = r.error.clone().unwrap();
    assert_eq!(err.code, ErrorCode::ContractPanic);
    assert_eq!(err.panic_message(), Some("counter overflow is not allowed"));
    assert_eq!(
        err.location().map(|l| l.to_string()).as_deref(),
        Some("counter.rs:12:5")
    );
    // The event was captured, marked reverted.
    assert_eq!(r.events.len(), 1);
    assert!(r.events[0].reverted);

    let after = h.entries();
    let fee = U256::from(r.gas_used);
    let changed: Vec<_> = after
        .iter()
        .filter(|kv| !before.contains(kv))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        changed,
        {
            let mut keys = vec![layout::account_key(&sender), layout::account_key(&proposer)];
            keys.sort();
            keys
        },
        "only the sender's and proposer's accounts change"
    );
    assert_eq!(after.len(), before.len());
    let acct = h.account(&sender);
    assert_eq!(acct.nonce, acct_before.nonce + 1);
    assert_eq!(
        acct.balance,
        acct_before.balance - fee,
        "value 777 came back, the fee did not"
    );
    assert_eq!(h.account(&proposer).balance, prop_before.balance + fee);

    // Out of gas: the whole limit is paid.
    let r = h.call(1, c, "spin", vec![], 0);
    assert_eq!(r.error.unwrap().code, ErrorCode::OutOfGas);
    assert_eq!(r.gas_used, GAS);
}

#[test]
fn contracts_cannot_reach_each_others_storage() {
    let mut h = Harness::new();
    let a = h.deploy(0, fixture("counter.wat"), 41u64.to_le_bytes().to_vec());
    let b = h.deploy(0, fixture("counter.wat"), 7u64.to_le_bytes().to_vec());
    assert!(h.call(0, a, "incr", vec![], 0).is_success());
    let get = |h: &mut Harness, c| h.call(0, c, "get", vec![], 0).return_data;
    assert_eq!(get(&mut h, a), 42u64.to_le_bytes());
    assert_eq!(get(&mut h, b), 7u64.to_le_bytes());
    // B asking for A's key, or for the full state key of A's counter, finds nothing: every
    // key is prefixed with B's own address.
    assert_eq!(
        h.call(0, b, "read_key", b"n".to_vec(), 0).return_data,
        7u64.to_le_bytes()
    );
    let a_key = layout::storage_key(&a, b"n");
    assert!(
        h.call(0, b, "read_key", a_key.clone(), 0)
            .return_data
            .is_empty()
    );
    assert_eq!(h.get(&a_key), Some(42u64.to_le_bytes().to_vec()));
    // And the account/code records are out of reach too.
    assert!(
        h.call(0, b, "read_key", layout::account_key(&a), 0)
            .return_data
            .is_empty()
    );
}

#[test]
fn deploy_runs_the_constructor_and_rejects_invalid_code() {
    let mut h = Harness::new();
    let r = h
        .send(
            0,
            Payload::Deploy {
                code: fixture("counter.wat"),
                args: 9u64.to_le_bytes().to_vec(),
            },
        )
        .unwrap();
    assert!(r.is_success());
    let c = r.contract_address.unwrap();
    assert_eq!(c, chainvm_runtime::types::contract_address(&h.addr(0), 0));
    assert_eq!(r.events[0].topic, b"init");
    assert!(
        r.gas.intrinsic
            >= h.params.intrinsic.deploy_per_code_byte * fixture("counter.wat").len() as u64
    );
    assert_eq!(
        h.call(0, c, "get", vec![], 0).return_data,
        9u64.to_le_bytes()
    );

    let r = h
        .send(
            0,
            Payload::Deploy {
                code: b"\0asm\x01\0\0\0junk".to_vec(),
                args: vec![],
            },
        )
        .unwrap();
    assert_eq!(r.error.as_ref().unwrap().code, ErrorCode::InvalidCode);
    assert!(r.contract_address.is_none());
    let wasm =
        wat::parse_str(r#"(module (import "env" "system" (func)) (memory (export "memory") 1))"#)
            .unwrap();
    let r = h
        .send(
            0,
            Payload::Deploy {
                code: wasm,
                args: vec![],
            },
        )
        .unwrap();
    let err = r.error.unwrap();
    assert_eq!(err.code, ErrorCode::InvalidCode);
    match &err.detail {
        ErrorDetail::InvalidCode(rej) => {
            assert_eq!(rej.rule, chainvm_runtime::vm::ValidationRule::UnknownImport);
            assert_eq!(rej.name.as_deref(), Some("env.system"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("unknown import `env.system`"),
        "{err}"
    );
    // Calling an address without code, or a missing method.
    let r = h.call(0, h.addr(3), "get", vec![], 0);
    assert_eq!(r.error.unwrap().code, ErrorCode::NoContract);
    let r = h.call(0, c, "nope", vec![], 0);
    let err = r.error.unwrap();
    assert_eq!(
        err.detail,
        ErrorDetail::NoSuchMethod {
            method: "nope".into()
        }
    );
    // The method list is rendered at display time from the contract, not stored.
    let methods = vec!["get".to_string(), "incr".to_string()];
    let shown = err.describe_with_methods(&methods);
    assert!(
        shown.contains("`nope`") && shown.contains("incr"),
        "{shown}"
    );
}

fn forward_input(target: chainvm_runtime::Address, gas: u64, method: &str, args: &[u8]) -> Vec<u8> {
    let mut v = target.as_bytes().to_vec();
    v.extend(gas.to_le_bytes());
    v.extend((method.len() as u32).to_le_bytes());
    v.extend(method.as_bytes());
    v.extend(args);
    v
}

fn status(r: &chainvm_runtime::Receipt) -> i32 {
    i32::from_le_bytes(r.return_data[..4].try_into().unwrap())
}

#[test]
fn cross_contract_calls_forward_gas_and_revert_failed_callees() {
    let mut h = Harness::new();
    let counter = h.deploy(0, fixture("counter.wat"), vec![]);
    let caller = h.deploy(0, fixture("caller.wat"), vec![]);

    // Success: the callee's write lands, its return data comes back.
    let r = h.call(
        0,
        caller,
        "forward",
        forward_input(counter, 0, "incr", &[]),
        0,
    );
    assert!(r.is_success(), "{:?}", r.error);
    assert_eq!(status(&r), error_code::OK);
    assert_eq!(
        h.call(0, counter, "get", vec![], 0).return_data,
        1u64.to_le_bytes()
    );
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].contract, counter);
    let call_gas = r.gas.host["call_contract"].gas;
    assert!(call_gas > h.params.vm_config().schedule.host.call_contract);

    // A failing callee: its write and event are reverted, the caller's own write stays.
    let r = h.call(
        0,
        caller,
        "forward",
        forward_input(counter, 0, "incr_then_panic", &[]),
        0,
    );
    assert!(r.is_success());
    assert_eq!(status(&r), error_code::CALLEE_FAILED);
    // Codes only: the callee set no typed error, so the caller gets no bytes (no message).
    assert!(r.return_data[4..].is_empty(), "{:?}", &r.return_data[4..]);
    assert!(r.events[0].reverted);
    assert_eq!(
        h.call(0, counter, "get", vec![], 0).return_data,
        1u64.to_le_bytes()
    );
    assert_eq!(
        h.get(&layout::storage_key(&caller, b"mine")),
        Some(b"mine".to_vec())
    );

    // Gas forwarded is capped by the request; running the callee out of it is reported.
    let r = h.call(
        0,
        caller,
        "forward",
        forward_input(counter, 500_000, "spin", &[]),
        0,
    );
    assert_eq!(status(&r), error_code::CALLEE_OUT_OF_GAS);
    let callee_gas =
        r.gas.host["call_contract"].gas - h.params.vm_config().schedule.host.call_contract;
    assert!((500_000..510_000).contains(&callee_gas), "{callee_gas}");

    // Missing contract and method.
    let r = h.call(
        0,
        caller,
        "forward",
        forward_input(h.addr(2), 0, "get", &[]),
        0,
    );
    assert_eq!(status(&r), error_code::NO_CONTRACT);
    let r = h.call(
        0,
        caller,
        "forward",
        forward_input(counter, 0, "nope", &[]),
        0,
    );
    assert_eq!(status(&r), error_code::NO_METHOD);

    // Reentrancy into a contract already on the stack is rejected.
    let r = h.call(0, caller, "reenter", vec![], 0);
    assert_eq!(status(&r), error_code::REENTRANCY);

    // Value travels with the call and comes back with a failure.
    let before = h.account(&counter).balance;
    let r = h.call(
        0,
        caller,
        "forward_value",
        forward_input(counter, 0, "incr", &[]),
        50,
    );
    assert_eq!(status(&r), error_code::OK);
    assert_eq!(h.account(&counter).balance, before + 50);
    let r = h.call(
        0,
        caller,
        "forward_value",
        forward_input(counter, 0, "incr_then_panic", &[]),
        70,
    );
    assert_eq!(status(&r), error_code::CALLEE_FAILED);
    assert_eq!(h.account(&counter).balance, before + 50);
    assert_eq!(
        h.account(&caller).balance,
        U256::from(70),
        "the value returned to the caller"
    );
}

#[test]
fn call_depth_is_limited() {
    // A chain of callers: caller_0 -> caller_1 -> ... -> counter.
    let mut h = Harness::new();
    let counter = h.deploy(0, fixture("counter.wat"), vec![]);
    let depth = h.params.max_call_depth as usize;
    let callers: Vec<_> = (0..depth)
        .map(|_| h.deploy(0, fixture("caller.wat"), vec![]))
        .collect();
    let nest = |n: usize| {
        // Input for callers[0] that makes the chain n callers deep, ending at counter.incr.
        let mut input = forward_input(counter, 0, "incr", &[]);
        for c in callers[1..n].iter().rev() {
            input = forward_input(*c, 0, "forward", &input);
        }
        input
    };
    // depth - 1 callers + the counter = depth frames: allowed.
    let r = h.call(0, callers[0], "forward", nest(depth - 1), 0);
    let mut data = r.return_data.as_slice();
    for _ in 0..depth - 1 {
        assert_eq!(
            i32::from_le_bytes(data[..4].try_into().unwrap()),
            error_code::OK
        );
        data = &data[4..];
    }
    // One more caller: the innermost call is refused.
    let r = h.call(0, callers[0], "forward", nest(depth), 0);
    let mut data = r.return_data.as_slice();
    for _ in 0..depth - 1 {
        assert_eq!(
            i32::from_le_bytes(data[..4].try_into().unwrap()),
            error_code::OK
        );
        data = &data[4..];
    }
    assert_eq!(
        i32::from_le_bytes(data[..4].try_into().unwrap()),
        error_code::DEPTH_EXCEEDED
    );
}

#[test]
fn receipts_carry_gas_breakdown_events_and_return_data() {
    let mut h = Harness::new();
    let c = h.deploy(0, fixture("counter.wat"), vec![]);
    let r = h.call(0, c, "incr", vec![], 0);
    assert!(r.is_success());
    let g = &r.gas;
    let host: u64 = g.host.values().map(|x| x.gas).sum();
    assert_eq!(g.total, r.gas_used);
    assert_eq!(g.total, g.intrinsic + g.loading + g.memory + g.wasm + host);
    assert_eq!(g.host["storage_get"].calls, 2);
    assert_eq!(g.host["storage_set"].calls, 1);
    assert_eq!(g.storage_bytes_written, 1 + 8);
    assert_eq!(g.storage_bytes_read, 1 + 1 + 8);
    assert_eq!(r.events[0].topic, b"incremented");
    assert_eq!(r.events[0].data, 1u64.to_le_bytes());
    assert!(!r.events[0].reverted);
    let bytes = r.encode();
    assert_eq!(chainvm_runtime::Receipt::decode(&bytes).unwrap(), r);
    // A view runs the same code, changes nothing and needs no transaction.
    let root = h.root();
    let exec = Executor::new(&h.vm, &h.params);
    let snap = h.store.snapshot().unwrap();
    let view = |method| ViewCall {
        caller: h.addr(0),
        contract: c,
        method,
        args: &[],
        gas_limit: GAS,
    };
    let out = exec.view(&snap, &h.block_ctx(), &view("incr")).unwrap();
    assert!(out.result.is_ok());
    assert!(out.gas.total > 0);
    let out = exec.view(&snap, &h.block_ctx(), &view("get")).unwrap();
    assert_eq!(out.result.unwrap(), 1u64.to_le_bytes());
    drop(snap);
    assert_eq!(h.root(), root);
}

#[test]
fn delegation_and_unbonding_move_value_between_balance_pool_and_queue() {
    let mut h = Harness::new();
    let a = h.addr(0);
    let v = h.validator.address();
    let pool = |h: &Harness| {
        chainvm_runtime::staking::validator(&h.store.snapshot().unwrap(), &v)
            .unwrap()
            .unwrap()
    };
    let before = pool(&h);
    let r = h
        .send(
            0,
            Payload::Stake {
                validator: v,
                amount: U256::from(1000),
            },
        )
        .unwrap();
    assert!(r.is_success(), "{:?}", r.error);
    assert_eq!(pool(&h).stake, before.stake + 1000);
    let snap = h.store.snapshot().unwrap();
    assert_eq!(
        chainvm_runtime::staking::delegated_stake(&snap, &v, &a).unwrap(),
        U256::from(1000)
    );
    // Staking makes no validator: only registration does.
    assert!(
        chainvm_runtime::staking::validator(&snap, &a)
            .unwrap()
            .is_none()
    );
    drop(snap);
    // Delegating to an address that is not a validator is refused.
    let r = h
        .send(
            0,
            Payload::Stake {
                validator: h.addr(3),
                amount: U256::from(1000),
            },
        )
        .unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::NoSuchValidator);
    let r = h
        .send(
            0,
            Payload::Unstake {
                validator: v,
                amount: U256::from(2000),
            },
        )
        .unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::InsufficientFunds);
    let r = h
        .send(
            0,
            Payload::Unstake {
                validator: v,
                amount: U256::from(400),
            },
        )
        .unwrap();
    assert!(r.is_success());
    let snap = h.store.snapshot().unwrap();
    let q = chainvm_runtime::staking::unbonding(&snap).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].release_height, h.height + h.params.unbonding_period);
    assert_eq!(q[0].amount, U256::from(400));
    assert_eq!(
        chainvm_runtime::staking::delegated_stake(&snap, &v, &a).unwrap(),
        U256::from(600)
    );
    drop(snap);
    assert_eq!(h.total_value(), h.supply().genesis);
}

/// A deterministic pseudo-random sequence of transactions of every kind, including failures.
fn random_block(
    h: &Harness,
    seed: &mut u64,
    contracts: &[chainvm_runtime::Address],
    nonces: &mut [u64],
) -> Vec<chainvm_runtime::SignedTransaction> {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    let mut txs = Vec::new();
    for _ in 0..6 {
        let from = (next() % 5) as usize;
        let c = contracts[(next() % contracts.len() as u64) as usize];
        let payload = match next() % 8 {
            0 => transfer(h.addr((next() % 5) as usize), (next() % 1_000_000) as u128),
            1 => Payload::Call {
                contract: c,
                method: "incr".into(),
                args: vec![],
                value: U256::from(next() % 1000),
            },
            2 => Payload::Call {
                contract: c,
                method: "incr_then_panic".into(),
                args: vec![],
                value: U256::from(next() % 1000),
            },
            3 => Payload::Call {
                contract: c,
                method: "refund".into(),
                args: U256::from(next() % 2000).to_big_endian().to_vec(),
                value: U256::zero(),
            },
            4 => Payload::Stake {
                validator: h.validator.address(),
                amount: U256::from(next() % 10_000 + 1),
            },
            5 => Payload::Unstake {
                validator: h.validator.address(),
                amount: U256::from(next() % 5_000 + 1),
            },
            6 => Payload::Call {
                contract: c,
                method: "spin".into(),
                args: vec![],
                value: U256::from(5),
            },
            _ => Payload::Call {
                contract: c,
                method: "nope".into(),
                args: vec![],
                value: U256::from(9),
            },
        };
        // Small limits now and then, and always for the infinite loop.
        let gas_limit = if matches!(payload, Payload::Call { ref method, .. } if method == "spin")
            || next() % 4 == 0
        {
            300_000_000
        } else {
            GAS
        };
        let gas_price = next() % 3 + 1;
        let tx = Transaction::new(h.params.chain_id, nonces[from], payload)
            .with_gas_limit(gas_limit)
            .with_gas_price(gas_price);
        nonces[from] += 1;
        txs.push(tx.sign(&h.keys[from]));
    }
    txs
}

fn run_random_chain(seed: u64) -> (Vec<[u8; 32]>, Vec<chainvm_runtime::Receipt>, Harness) {
    let mut h = Harness::new();
    let contracts = vec![
        h.deploy(0, fixture("counter.wat"), vec![]),
        h.deploy(1, fixture("counter.wat"), 3u64.to_le_bytes().to_vec()),
    ];
    let mut nonces: Vec<u64> = (0..5).map(|i| h.nonce(i)).collect();
    let mut seed = seed | 1;
    let (mut roots, mut receipts) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let txs = random_block(&h, &mut seed, &contracts, &mut nonces);
        for r in h.block(&txs) {
            receipts.push(r.expect("every generated transaction is admissible"));
        }
        roots.push(h.root());
        assert_eq!(
            h.total_value(),
            h.supply().genesis,
            "value is conserved after every block"
        );
    }
    (roots, receipts, h)
}

#[test]
fn value_is_conserved_over_random_transaction_sequences() {
    for seed in [1u64, 42, 0xdead_beef, 7_777_777] {
        let (_, receipts, _) = run_random_chain(seed);
        assert!(receipts.iter().any(|r| r.is_success()));
        assert!(receipts.iter().any(|r| !r.is_success()));
    }
}

#[test]
fn the_same_transactions_from_the_same_genesis_give_identical_roots_and_receipts() {
    let (roots_a, receipts_a, _) = run_random_chain(99);
    let (roots_b, receipts_b, _) = run_random_chain(99);
    assert_eq!(roots_a, roots_b);
    assert_eq!(receipts_a, receipts_b);
    let (roots_c, _, _) = run_random_chain(100);
    assert_ne!(roots_a, roots_c);
}

#[test]
fn a_refused_transaction_in_a_block_leaves_the_overlay_untouched() {
    let h = Harness::new();
    let snap = h.store.snapshot().unwrap();
    let mut overlay = Overlay::new(&snap);
    let exec = Executor::new(&h.vm, &h.params);
    let mut t = h.unsigned(0, transfer(h.addr(1), 5));
    t.nonce = 3;
    assert!(
        exec.apply(&mut overlay, &h.block_ctx(), &t.sign(&h.keys[0]))
            .is_err()
    );
    assert!(overlay.writes().is_empty());
    let stranger = Keypair::derive("stranger", 0);
    let t = Transaction::new(h.params.chain_id, 0, transfer(h.addr(1), 5));
    assert!(matches!(
        exec.apply(&mut overlay, &h.block_ctx(), &t.sign(&stranger)),
        Err(ApplyError::Admission(
            AdmissionError::InsufficientFunds { .. }
        ))
    ));
    assert!(overlay.writes().is_empty());
}
