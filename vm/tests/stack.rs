//! The deterministic stack limit: recursion stops at the depth the frame model predicts,
//! for every frame shape, and the native stack guard never fires first.

mod common;
use chainvm_vm::{Contract, Outcome, RuntimeLimits, TrapKind, Vm, VmConfig};
use common::*;

/// Defined-function indices in recursion.wat (after the one import).
const ARG: usize = 0;
const REC0: usize = 1;
const REC_LOCALS: usize = 2;
const REC_PARAMS: usize = 3;
const PING: usize = 4;
const FIRST_ENTRY: usize = 6;

fn frame(c: &Contract, f: usize) -> u64 {
    c.info().funcs[f].frame_bytes as u64
}

fn depth_outcome(vm: &Vm, c: &Contract, entry: &str, n: u32) -> Outcome {
    run(vm, c, entry, &n.to_le_bytes(), PLENTY).outcome
}

/// The largest n for which `entry` succeeds: the entry thunk's frame, the `arg` call while
/// reading input, then n + 1 frames of the recursive function.
fn predicted_max(c: &Contract, entry_index: usize, rec: usize, limit: u64) -> u32 {
    let entry = frame(c, entry_index);
    let usable = limit - entry;
    (usable / frame(c, rec) - 1) as u32
}

fn check_shapes(vm: &Vm) {
    let c = load(vm, &fixture("recursion.wat"));
    let limit = vm.config().runtime.max_stack_bytes as u64;
    for (i, (entry, rec)) in [
        ("rec0", REC0),
        ("rec_locals", REC_LOCALS),
        ("rec_params", REC_PARAMS),
    ]
    .into_iter()
    .enumerate()
    {
        let max = predicted_max(&c, FIRST_ENTRY + i, rec, limit);
        assert!(max > 10, "{entry}: budget allows only {max} frames");
        assert_eq!(
            depth_outcome(vm, &c, entry, max),
            Outcome::Success,
            "{entry} at {max}"
        );
        match depth_outcome(vm, &c, entry, max + 1) {
            Outcome::Trap {
                kind: TrapKind::StackOverflow,
                ..
            } => {}
            other => panic!("{entry} at {}: {other:?}", max + 1),
        }
    }
    // Mutual recursion through call_indirect: every hop goes through a thunk of $ping/$pong
    // (same frame), so the bound is the same formula.
    let max = predicted_max(&c, FIRST_ENTRY + 3, PING, limit);
    assert_eq!(depth_outcome(vm, &c, "rec_indirect", max), Outcome::Success);
    assert!(matches!(
        depth_outcome(vm, &c, "rec_indirect", max + 1),
        Outcome::Trap {
            kind: TrapKind::StackOverflow,
            ..
        }
    ));
}

#[test]
fn frame_model_matches_hand_computation() {
    let vm = vm();
    let c = load(&vm, &fixture("recursion.wat"));
    // 64 + 4 (i32 n) + 8 x (max operand stack 2 + 2 for the instrumentation)
    assert_eq!(frame(&c, REC0), 64 + 4 + 8 * 4);
    // ... + 500 i64 locals
    assert_eq!(frame(&c, REC_LOCALS), 64 + 4 + 500 * 8 + 8 * 4);
    // 64 + 4 + 63 i64 params + 8 x (64 operands + 2)
    assert_eq!(frame(&c, REC_PARAMS), 64 + 4 + 63 * 8 + 8 * 66);
    assert_eq!(frame(&c, ARG), 64 + 8 * 4);
}

#[test]
fn recursion_stops_at_the_instrumented_depth_for_every_frame_shape() {
    check_shapes(&vm());
}

#[test]
fn an_eight_times_larger_budget_still_never_reaches_the_native_limit() {
    // Default native limit (32 MiB) with an 8x larger model budget (2 MiB): the deepest
    // recursion of every shape must still end in the deterministic trap, never in a native
    // stack overflow (which `run` would report as a node fault).
    let vm = Vm::new(VmConfig {
        runtime: RuntimeLimits {
            max_stack_bytes: 2 * 1024 * 1024,
            ..RuntimeLimits::default()
        },
        ..VmConfig::default()
    })
    .unwrap();
    check_shapes(&vm);
}

#[test]
fn depth_is_the_same_on_a_small_thread_stack() {
    // A thread with a 256 KiB native stack: the VM moves execution onto a big enough stack,
    // so the outcome is the same as anywhere else.
    let code = fixture("recursion.wat");
    let vm = vm();
    let c = load(&vm, &code);
    let limit = vm.config().runtime.max_stack_bytes as u64;
    let max = predicted_max(&c, FIRST_ENTRY, REC0, limit);
    let (ok, over) = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let vm = vm;
            (
                depth_outcome(&vm, &c, "rec0", max),
                depth_outcome(&vm, &c, "rec0", max + 1),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(ok, Outcome::Success);
    assert!(matches!(
        over,
        Outcome::Trap {
            kind: TrapKind::StackOverflow,
            ..
        }
    ));
}

#[test]
fn stack_overflow_uses_the_whole_gas_limit() {
    let vm = vm();
    let c = load(&vm, &fixture("recursion.wat"));
    let e = run(&vm, &c, "rec0", &1_000_000u32.to_le_bytes(), 50_000_000);
    assert!(matches!(
        e.outcome,
        Outcome::Trap {
            kind: TrapKind::StackOverflow,
            ..
        }
    ));
    assert_eq!(e.gas_used, 50_000_000);
}
