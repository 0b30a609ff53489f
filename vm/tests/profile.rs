//! Profiled execution: the profile adds up to the gas used for every kind of ending, the
//! profiled run's gas and outcome are the normal run's exactly, and gas lands on the right
//! stacks (hot functions, host calls, memory, `call_indirect`, recursion).

mod common;
use chainvm_vm::testing::MockHost;
use chainvm_vm::{
    CallContext, CallResult, Contract, Execution, Frame, GasProfile, Outcome, TrapKind, Vm,
    code_hash,
};
use common::*;
use std::sync::Arc;

/// Function indices (imports first): keccak256 0, input 1, abort 2, set_return 3,
/// call_contract 4; then hot 5, cold 6, main 7, rec 8, recurse 9, div 10, fail 11, grow 12,
/// grow_then_trap 13, indirect 14, spin 15, deep 16, nested 17, err 18, twice 19.
const WAT: &str = r#"(module
  (import "env" "keccak256" (func $keccak (param i32 i32 i32)))
  (import "env" "input" (func $input (param i32 i32) (result i32)))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32 i32 i32)))
  (import "env" "set_return" (func $ret (param i32 i32)))
  (import "env" "call_contract"
    (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $hot $cold)
  (data (i32.const 100) "boom")

  ;; n iterations of a small loop
  (func $hot (param $n i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  ;; one host call
  (func $cold (param $n i32)
    (call $keccak (i32.const 0) (i32.const 32) (i32.const 64)))
  (func $main (export "main")
    (call $hot (i32.const 1000))
    (call $cold (i32.const 0)))
  ;; depth-n recursion, one keccak at the bottom
  (func $rec (param $n i32)
    (if (local.get $n)
      (then (call $rec (i32.sub (local.get $n) (i32.const 1))))
      (else (call $cold (i32.const 0)))))
  (func (export "recurse") (call $rec (i32.const 4)))
  (func (export "div") (drop (i32.div_u (i32.const 1) (i32.const 0))))
  ;; a panic with a message, after some work in hot
  (func (export "fail")
    (call $hot (i32.const 50))
    (call $abort (i32.const 100) (i32.const 4) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0)))
  ;; one grown page in $grow; unreachable before anything settles it
  (func $grow (drop (memory.grow (i32.const 1))))
  (func (export "grow_then_trap") (call $grow) (unreachable))
  ;; both table entries through call_indirect
  (func (export "indirect")
    (call_indirect (param i32) (i32.const 300) (i32.const 0))
    (call_indirect (param i32) (i32.const 0) (i32.const 1)))
  ;; never returns
  (func (export "spin") (loop $l (call $hot (i32.const 10)) (br $l)))
  ;; unbounded recursion: the instrumented stack limit traps
  (func $deep (call $deep))
  (func (export "nested")
    (drop (call $call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i64.const 0))))
  ;; a typed error: return data, then a panic (what the SDK does for Err)
  (func (export "err")
    (call $grow)
    (call $ret (i32.const 100) (i32.const 4))
    (call $abort (i32.const 100) (i32.const 4) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0)))
  (func (export "twice") (call $grow) (call $grow) (call $cold (i32.const 0)))
  (export "deep" (func $deep))
)"#;

const HOT: u32 = 5;
const COLD: u32 = 6;
const MAIN: u32 = 7;
const REC: u32 = 8;
const GROW: u32 = 12;

struct Fixture {
    vm: Vm,
    normal: Arc<Contract>,
    profiling: Arc<Contract>,
}

fn fixture_vm() -> Fixture {
    let vm = vm();
    let code = wasm(WAT);
    let normal = load(&vm, &code);
    let profiling = vm.load_profiling(&code_hash(&code), &code).unwrap();
    Fixture {
        vm,
        normal,
        profiling,
    }
}

fn host() -> MockHost {
    MockHost {
        call_result: Some(CallResult {
            code: 0,
            gas_used: 12_345,
            data: Vec::new(),
        }),
        ..MockHost::default()
    }
}

/// Runs `entry` both ways under `gas`; asserts everything but the profile is equal and the
/// profile adds up to the gas used. Returns the profiled execution.
fn both(f: &Fixture, entry: &str, gas: u64) -> Execution {
    let ctx = CallContext::default();
    let (mut h1, mut h2) = (host(), host());
    let normal =
        f.vm.execute(&f.normal, entry, &[], &ctx, gas, &mut h1)
            .unwrap();
    let profiled =
        f.vm.execute_profiled(&f.profiling, entry, &[], &ctx, gas, &mut h2)
            .unwrap();
    assert!(normal.profile.is_none());
    let profile = profiled
        .profile
        .clone()
        .expect("a profiled run has a profile");
    assert_eq!(
        profile.total(),
        profiled.gas_used,
        "{entry} at {gas}: {profile:?}"
    );
    let mut stripped = profiled.clone();
    stripped.profile = None;
    assert_eq!(stripped, normal, "{entry} at {gas}");
    assert_eq!(h1.storage, h2.storage);
    assert_eq!(h1.calls.len(), h2.calls.len());
    profiled
}

fn stack(frames: &[Frame]) -> Vec<Frame> {
    frames.to_vec()
}

fn host_frame(name: &str) -> Frame {
    Frame::Host(name.to_string())
}

fn get(p: &GasProfile, frames: &[Frame]) -> u64 {
    p.stacks.get(frames).copied().unwrap_or(0)
}

#[test]
fn the_hot_function_is_the_heaviest_stack_and_host_gas_is_under_its_caller() {
    let f = fixture_vm();
    let e = both(&f, "main", PLENTY);
    assert_eq!(e.outcome, Outcome::Success);
    let p = e.profile.unwrap();
    // The initial page (131,072) and loading (100,000 + code bytes) outweigh 1,000
    // iterations; the heaviest function stack is checked below.
    let (_, gas) = p.heaviest().unwrap();
    assert_eq!(gas, e.gas.loading.max(e.gas.memory));
    let hot = get(&p, &[Frame::Func(MAIN), Frame::Func(HOT)]);
    let cold = get(&p, &[Frame::Func(MAIN), Frame::Func(COLD)]);
    let main = get(&p, &[Frame::Func(MAIN)]);
    assert!(hot > 10 * cold && hot > 10 * main, "{p:?}");
    let by_func = p
        .stacks
        .iter()
        .filter(|(s, _)| matches!(s.last(), Some(Frame::Func(_))))
        .max_by_key(|(_, g)| **g)
        .unwrap();
    assert_eq!(by_func.0, &stack(&[Frame::Func(MAIN), Frame::Func(HOT)]));
    // The whole host gas of keccak256, under the function that called it.
    let keccak = e.gas.host["keccak256"].gas;
    assert!(keccak > 0);
    assert_eq!(
        get(
            &p,
            &[
                Frame::Func(MAIN),
                Frame::Func(COLD),
                host_frame("keccak256")
            ]
        ),
        keccak
    );
    // Initial memory at the root, loading on its own.
    assert_eq!(get(&p, &[Frame::Memory]), e.gas.memory);
    assert_eq!(get(&p, &[Frame::Loading]), e.gas.loading);
    // Wasm gas is everything on function frames.
    let wasm: u64 = p
        .stacks
        .iter()
        .filter(|(s, _)| matches!(s.last(), Some(Frame::Func(_))))
        .map(|(_, g)| *g)
        .sum();
    assert_eq!(wasm, e.gas.wasm);
}

#[test]
fn the_hot_loop_costs_what_the_schedule_says_per_iteration() {
    // hot(n) self gas is linear in n; its slope is one iteration of the loop body.
    let f = fixture_vm();
    let s = f.vm.config().schedule.ops.clone();
    let (l, a, b) = (s.local as u64, s.alu as u64, s.branch as u64);
    // local.get x2, add, local.set; local.get, const, sub, local.set; local.get, br_if. The
    // `loop` operator itself is charged once, on entry (wasmtime adds an operator's cost
    // before translating it, so the back edge does not pay it again).
    let per_iteration = (l + l + a + l) + (l + l + a + l) + l + b;
    let e = both(&f, "main", PLENTY);
    let hot = get(&e.profile.unwrap(), &[Frame::Func(MAIN), Frame::Func(HOT)]);
    assert!(
        hot >= 1000 * per_iteration,
        "{hot} < 1000 x {per_iteration}"
    );
    assert!(hot < 1000 * per_iteration + 200, "{hot}");
}

#[test]
fn every_kind_of_ending_adds_up_to_the_gas_used() {
    let f = fixture_vm();
    type Case = (&'static str, u64, fn(&Outcome) -> bool);
    let cases: &[Case] = &[
        ("main", PLENTY, |o| *o == Outcome::Success),
        ("fail", PLENTY, |o| matches!(o, Outcome::Panic(_))),
        ("err", PLENTY, |o| matches!(o, Outcome::Panic(_))),
        ("div", PLENTY, |o| {
            *o == Outcome::Trap {
                kind: TrapKind::DivisionByZero,
            }
        }),
        ("grow_then_trap", PLENTY, |o| *o == Outcome::Unreachable),
        ("spin", 3_000_000, |o| *o == Outcome::OutOfGas),
        ("deep", PLENTY, |o| {
            *o == Outcome::Trap {
                kind: TrapKind::StackOverflow,
            }
        }),
        ("nested", PLENTY, |o| *o == Outcome::Success),
        ("missing", PLENTY, |o| matches!(o, Outcome::NoSuchEntry(_))),
        // Out of gas while loading.
        ("main", 1_000, |o| *o == Outcome::OutOfGas),
    ];
    for (entry, gas, want) in cases {
        let e = both(&f, entry, *gas);
        assert!(want(&e.outcome), "{entry}: {:?}", e.outcome);
    }
}

#[test]
fn a_typed_error_keeps_its_return_data_and_its_memory_under_the_grower() {
    let f = fixture_vm();
    let e = both(&f, "err", PLENTY);
    assert_eq!(e.return_data, b"boom");
    let p = e.profile.unwrap();
    let page = f.vm.config().schedule.memory.per_page;
    assert_eq!(
        get(&p, &[Frame::Func(18), Frame::Func(GROW), Frame::Memory]),
        page
    );
    assert!(get(&p, &[Frame::Func(18), host_frame("abort")]) > 0);
}

#[test]
fn memory_charged_but_never_settled_is_not_in_the_profile() {
    // `unreachable` right after a grow: the page's gas was charged by the limiter but never
    // taken from fuel, so it is not in gas_used and must not be in the profile.
    let f = fixture_vm();
    let e = both(&f, "grow_then_trap", PLENTY);
    let p = e.profile.unwrap();
    assert_eq!(
        get(&p, &[Frame::Func(13), Frame::Func(GROW), Frame::Memory]),
        0
    );
    // Two grows, then a host call settles both: both pages under $grow.
    let e = both(&f, "twice", PLENTY);
    let page = f.vm.config().schedule.memory.per_page;
    assert_eq!(e.gas.memory, 3 * page);
    let p = e.profile.unwrap();
    assert_eq!(
        get(&p, &[Frame::Func(19), Frame::Func(GROW), Frame::Memory]),
        2 * page
    );
}

#[test]
fn profiled_gas_equals_normal_gas_at_every_limit_around_the_edge() {
    // Every limit from well below to just above what `main` needs: each ending (out of gas
    // in the loop, in the host call, in the last instructions, finished overdrawn, success)
    // is the same both ways, to the unit.
    let f = fixture_vm();
    let need = both(&f, "main", PLENTY).gas_used;
    let mut outcomes = std::collections::BTreeSet::new();
    for gas in (need - 700..=need + 3).chain((need - 20_000..need).step_by(997)) {
        let e = both(&f, "main", gas);
        outcomes.insert(format!("{:?}", e.outcome));
        if gas > need {
            assert_eq!(e.outcome, Outcome::Success, "at {gas}");
        }
    }
    assert!(outcomes.len() >= 2, "{outcomes:?}");
    // Same for the loop that never ends, across a range of limits.
    for gas in (200_000..260_000).step_by(1_013) {
        both(&f, "spin", gas);
    }
}

#[test]
fn call_indirect_is_attributed_to_the_callee() {
    let f = fixture_vm();
    let e = both(&f, "indirect", PLENTY);
    let p = e.profile.unwrap();
    let hot = get(&p, &[Frame::Func(14), Frame::Func(HOT)]);
    assert!(hot > 300 * 20, "{p:?}");
    assert!(
        get(
            &p,
            &[Frame::Func(14), Frame::Func(COLD), host_frame("keccak256")]
        ) > 0
    );
}

#[test]
fn recursion_nests_one_frame_per_call() {
    let f = fixture_vm();
    let e = both(&f, "recurse", PLENTY);
    let p = e.profile.unwrap();
    let mut s = vec![Frame::Func(9)];
    for _ in 0..5 {
        s.push(Frame::Func(REC));
        assert!(get(&p, &s) > 0, "{s:?} in {p:?}");
    }
    s.push(Frame::Func(COLD));
    s.push(host_frame("keccak256"));
    assert_eq!(get(&p, &s), e.gas.host["keccak256"].gas);
}

#[test]
fn a_nested_call_stays_inside_the_callers_call_contract_frame() {
    let f = fixture_vm();
    let e = both(&f, "nested", PLENTY);
    let p = e.profile.unwrap();
    let call = e.gas.host["call_contract"].gas;
    assert!(call > 12_345);
    assert_eq!(
        get(&p, &[Frame::Func(17), host_frame("call_contract")]),
        call
    );
}

#[test]
fn out_of_gas_puts_the_rest_on_the_stack_on_top() {
    let f = fixture_vm();
    let e = both(&f, "spin", 3_000_000);
    let p = e.profile.unwrap();
    // Everything after loading and the initial page is in spin or in hot under it.
    let fixed = e.gas.loading + e.gas.memory;
    assert_eq!(p.inclusive(&[Frame::Func(15)]), e.gas_used - fixed);
    assert!(get(&p, &[Frame::Func(15), Frame::Func(HOT)]) > get(&p, &[Frame::Func(15)]));
}

#[test]
fn builds_are_not_interchangeable_and_hooks_cannot_be_imported_by_user_code() {
    let f = fixture_vm();
    let ctx = CallContext::default();
    let mut h = host();
    assert!(
        f.vm.execute(&f.profiling, "main", &[], &ctx, PLENTY, &mut h)
            .is_err()
    );
    assert!(
        f.vm.execute_profiled(&f.normal, "main", &[], &ctx, PLENTY, &mut h)
            .is_err()
    );
    assert!(f.profiling.is_profiling() && !f.normal.is_profiling());
    // Loading the profiling build leaves the consensus cache alone.
    let code = wasm(WAT);
    assert!(Arc::ptr_eq(&load(&f.vm, &code), &f.normal));
    for (module, name) in [
        ("__chainvm_profile", "leave"),
        ("__chainvm_profile", "enter_1"),
        ("env", "leave"),
    ] {
        let user = wasm(&format!(
            r#"(module (import "{module}" "{name}" (func)) (memory (export "memory") 1)
                 (func (export "main")))"#
        ));
        assert!(f.vm.validate(&user).is_err(), "{module}.{name}");
        assert!(
            f.vm.load_profiling(&code_hash(&user), &user).is_err(),
            "{module}.{name}"
        );
    }
}
