//! Profiled dry runs through the executor: the profile adds up to the receipt's gas, the
//! receipt is the unprofiled one, the same transaction in a block uses the same gas, and a
//! nested call's gas stays under the caller's `call_contract` frame. (The sample contracts'
//! calls are profiled in the `chainvm-tests` crate, `tests/tests/profile.rs`.)

mod common;
use chainvm_runtime::state::Overlay;
use chainvm_runtime::vm::Frame;
use chainvm_runtime::{Address, Executor, GasProfile, Payload, Receipt, SignedTransaction, U256};
use common::*;

fn forward_input(target: Address, gas: u64, method: &str, args: &[u8]) -> Vec<u8> {
    let mut v = target.as_bytes().to_vec();
    v.extend(gas.to_le_bytes());
    v.extend((method.len() as u32).to_le_bytes());
    v.extend(method.as_bytes());
    v.extend(args);
    v
}

/// Dry-runs `tx` profiled and unprofiled on the latest state; checks they agree and the
/// profile adds up; then executes it in a block and checks the gas.
fn profile_then_execute(h: &mut Harness, tx: &SignedTransaction) -> (Receipt, GasProfile) {
    let snap = h.store.snapshot().unwrap();
    let ctx = h.block_ctx();
    let exec = Executor::new(&h.vm, &h.params);
    let (receipt, profile) = exec
        .apply_profiled(&mut Overlay::new(&snap), &ctx, tx)
        .unwrap();
    let plain = exec.apply(&mut Overlay::new(&snap), &ctx, tx).unwrap();
    drop(snap);
    assert_eq!(receipt, plain);
    let profile = profile.expect("a call has a profile");
    assert_eq!(profile.total(), receipt.gas.total, "{profile:?}");
    assert_eq!(
        profile.stacks[&vec![Frame::Intrinsic]],
        receipt.gas.intrinsic
    );
    let executed = h.block(std::slice::from_ref(tx)).remove(0).unwrap();
    assert_eq!(executed, receipt);
    (executed, profile)
}

#[test]
fn a_nested_call_is_profiled_under_the_callers_call_contract_frame() {
    let mut h = Harness::new();
    let counter = h.deploy(0, fixture("counter.wat"), vec![]);
    let caller = h.deploy(0, fixture("caller.wat"), vec![]);
    let tx = h.tx(
        0,
        Payload::Call {
            contract: caller,
            method: "forward".into(),
            args: forward_input(counter, 0, "incr", &[]),
            value: U256::zero(),
        },
    );
    let (r, p) = profile_then_execute(&mut h, &tx);
    assert!(r.is_success(), "{:?}", r.error);
    let call_gas = r.gas.host["call_contract"].gas;
    let under: Vec<_> = p
        .stacks
        .iter()
        .filter(|(s, _)| s.last() == Some(&Frame::Host("call_contract".into())))
        .collect();
    assert_eq!(under.len(), 1, "{p:?}");
    assert_eq!(*under[0].1, call_gas);
    // `forward` (export) -> $forward_with_value -> call_contract: two function frames.
    assert_eq!(under[0].0.len(), 3, "{:?}", under[0].0);
    // The callee's loading is inside that frame, not a root `Loading` of its own: the only
    // root loading is the caller's.
    assert_eq!(p.stacks[&vec![Frame::Loading]], r.gas.loading);
    assert!(call_gas > callee_loading(&h, counter));
}

/// The loading gas of the contract at `a` (what one call of it is charged to load).
fn callee_loading(h: &Harness, a: Address) -> u64 {
    let snap = h.store.snapshot().unwrap();
    let hash = chainvm_runtime::layout::account(&snap, &a)
        .unwrap()
        .code_hash
        .unwrap();
    let code =
        chainvm_runtime::state::StateReader::get(&snap, &chainvm_runtime::layout::code_key(&hash))
            .unwrap()
            .unwrap();
    let c = h.vm.load(&hash.0, &code).unwrap();
    h.vm.load_gas(&c)
}

#[test]
fn failed_and_out_of_gas_calls_add_up_too() {
    let mut h = Harness::new();
    let counter = h.deploy(0, fixture("counter.wat"), vec![]);
    for (method, gas) in [
        ("incr_then_panic", None),
        ("spin", Some(2_000_000)),
        ("nope", None),
    ] {
        let mut t = h.unsigned(
            0,
            Payload::Call {
                contract: counter,
                method: method.into(),
                args: vec![],
                value: U256::zero(),
            },
        );
        if let Some(g) = gas {
            t = t.with_gas_limit(g);
        }
        let tx = t.sign(&h.keys[0]);
        let (r, _) = profile_then_execute(&mut h, &tx);
        assert!(!r.is_success(), "{method}");
    }
}

#[test]
fn a_deploy_profiles_its_constructor() {
    let mut h = Harness::new();
    let tx = h.tx(
        0,
        Payload::Deploy {
            code: fixture("counter.wat"),
            args: vec![],
        },
    );
    let (r, p) = profile_then_execute(&mut h, &tx);
    assert!(r.is_success(), "{:?}", r.error);
    assert!(
        p.stacks
            .keys()
            .any(|s| matches!(s.first(), Some(Frame::Func(_))))
    );
    assert_eq!(p.stacks[&vec![Frame::Loading]], r.gas.loading);
}
