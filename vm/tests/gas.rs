//! Exact gas, hand-computed from the schedule, and the result rules of `docs/design.md` 3.4.

mod common;
use chainvm_vm::testing::MockHost;
use chainvm_vm::{GasSchedule, Outcome, Vm, VmConfig};
use common::*;

fn u32_input(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// Gas of the exported-function thunk and the two function entries (thunk, callee):
/// thunk = enter (global.get 2, i32.const 2, i32.add 4, global.set 2, global.get 2,
/// i32.const 2, i32.gt_u 4, if 8) + call 70 + leave (global.get 2, i32.const 2, i32.sub 4,
/// global.set 2); wasmtime charges 1 on entry to every function.
fn entry_overhead(s: &GasSchedule) -> u64 {
    let o = &s.ops;
    let (l, a, b, c) = (o.local as u64, o.alu as u64, o.branch as u64, o.call as u64);
    let enter = l + l + a + l + l + l + a + b;
    let leave = l + l + a + l;
    enter + c + leave + 2
}

#[test]
fn empty_entry_point_costs_exactly_load_memory_and_thunk() {
    let vm = vm();
    let s = &vm.config().schedule;
    assert_eq!(entry_overhead(s), 108);
    let code = fixture("loop.wat");
    let c = load(&vm, &code);
    let e = run(&vm, &c, "noop", &[], PLENTY);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.gas_used, fixed_gas(s, code.len(), 1) + entry_overhead(s));
    assert_eq!(
        e.gas.loading,
        s.load.base + s.load.per_byte * code.len() as u64
    );
    assert_eq!(e.gas.memory, s.memory.per_page);
    assert_eq!(e.gas.wasm, entry_overhead(s));
    assert!(e.gas.host.is_empty());
}

#[test]
fn counted_loop_costs_exactly_what_the_schedule_says() {
    let vm = vm();
    let s = vm.config().schedule.clone();
    let o = &s.ops;
    let (l, a, b, ld, st, call) = (
        o.local as u64,
        o.alu as u64,
        o.branch as u64,
        o.load as u64,
        o.store as u64,
        o.call as u64,
    );
    let h = &s.host;
    let code = fixture("loop.wat");
    let c = load(&vm, &code);
    for n in [0u32, 1, 7, 1000] {
        let e = run(&vm, &c, "sum", &u32_input(n), PLENTY);
        assert_eq!(e.outcome, Outcome::Success);
        let sum: u64 = (1..=n as u64).sum();
        assert_eq!(e.return_data, sum.to_le_bytes());
        // Before the loop: input call (2 consts + call), load n (const, load, set),
        // the loop instruction once.
        let before = (l + l + call) + (l + ld + l) + o.loop_header as u64;
        // Each iteration: get, eqz, br_if, get, get, extend, add, set, get, const, sub, set, br.
        let iteration = l + a + b + l + l + a + a + l + l + l + a + l + b;
        // The last check that exits: get, eqz, br_if.
        let exit = l + a + b;
        // Store the result (const, get, store) and call set_return (2 consts + call).
        let after = (l + l + st) + (l + l + call);
        let wasm = entry_overhead(&s) + before + iteration * n as u64 + exit + after;
        let input_gas = h.base + h.write_per_byte * 4;
        let return_gas = h.base + h.read_per_byte * 8;
        assert_eq!(e.gas.wasm, wasm, "n={n}");
        assert_eq!(e.gas.host["input"].gas, input_gas);
        assert_eq!(e.gas.host["set_return"].gas, return_gas);
        assert_eq!(
            e.gas_used,
            fixed_gas(&s, code.len(), 1) + wasm + input_gas + return_gas,
            "n={n}"
        );
    }
}

#[test]
fn host_calls_charge_base_and_per_byte_costs() {
    let vm = vm();
    let s = vm.config().schedule.clone();
    let h = &s.host;
    let c = load(&vm, &fixture("host.wat"));
    let mut host = MockHost::default();
    let e = run_with(&vm, &c, "set_get", &[], PLENTY, &mut host);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.return_data, b"value!");
    assert_eq!(
        host.storage.get(&b"key"[..]).map(|v| v.as_slice()),
        Some(&b"value!"[..])
    );
    let set = h.base + h.storage_write + (h.read_per_byte + h.storage_write_per_byte) * (3 + 6);
    let get = h.base
        + h.storage_read
        + (h.read_per_byte + h.storage_read_per_byte) * 3
        + h.storage_read_per_byte * 6
        + h.write_per_byte * 6;
    assert_eq!(e.gas.host["storage_set"].gas, set);
    assert_eq!(e.gas.host["storage_get"].gas, get);
    assert_eq!(e.gas.host["storage_get"].calls, 1);
    assert_eq!(e.gas.host_calls(), 3);
    assert_eq!(e.gas.total(), e.gas_used);

    let n = 250u32;
    let e = run(&vm, &c, "heights", &u32_input(n), PLENTY);
    assert_eq!(e.gas.host["block_height"].calls, n as u64);
    assert_eq!(e.gas.host["block_height"].gas, n as u64 * h.base);
}

#[test]
fn host_call_with_invalid_arguments_is_charged_first_and_uses_the_limit() {
    let vm = vm();
    let h = vm.config().schedule.host.clone();
    let code = fixture("host.wat");
    let c = load(&vm, &code);
    for entry in ["bad_key", "bad_ptr"] {
        let e = run(&vm, &c, entry, &[], 5_000_000);
        assert!(
            matches!(
                e.outcome,
                Outcome::Trap {
                    kind: chainvm_vm::TrapKind::BadHostArgument,
                    ..
                }
            ),
            "{entry}: {:?}",
            e.outcome
        );
        assert_eq!(e.gas_used, 5_000_000);
        // The base and flat storage cost were charged before the argument was looked at.
        assert_eq!(
            e.gas.host["storage_set"].gas,
            h.base
                + h.storage_write
                + if entry == "bad_ptr" {
                    (h.read_per_byte + h.storage_write_per_byte) * 3
                } else {
                    0
                }
        );
    }
    // With gas for everything but the host call's base cost, it is out of gas, not a bad
    // argument: charging comes before checking.
    let before_call = fixed_gas(&vm.config().schedule, code.len(), 1) + 52 + 4 * 2 + 16;
    let e = run(&vm, &c, "bad_key", &[], before_call + h.base - 1);
    assert_eq!(e.outcome, Outcome::OutOfGas);
}

#[test]
fn infinite_loops_run_out_of_gas_using_exactly_the_limit() {
    let vm = vm();
    let c = load(&vm, &fixture("loop.wat"));
    for entry in ["spin", "spin_if"] {
        for limit in [300_000u64, 1_000_000, 10_000_000] {
            let e = run(&vm, &c, entry, &[], limit);
            assert_eq!(e.outcome, Outcome::OutOfGas);
            assert_eq!(e.gas_used, limit);
            assert_eq!(e.gas.total(), limit);
        }
    }
}

#[test]
fn gas_limit_edges_are_exact() {
    let vm = vm();
    let code = fixture("loop.wat");
    let c = load(&vm, &code);
    let need = run(&vm, &c, "sum", &u32_input(10), PLENTY).gas_used;
    // Enough (with one to spare, since ending at exactly zero counts as overdrawn)...
    let e = run(&vm, &c, "sum", &u32_input(10), need + 1);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.gas_used, need);
    // ...and every smaller limit is out of gas and uses the whole limit.
    for limit in [0, 1, need / 2, need - 1, need] {
        let e = run(&vm, &c, "sum", &u32_input(10), limit);
        assert_eq!(e.outcome, Outcome::OutOfGas, "limit {limit}");
        assert_eq!(e.gas_used, limit);
    }
    // The whole u64 range is accepted.
    let e = run(&vm, &c, "sum", &u32_input(10), u64::MAX);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.gas_used, need);
}

#[test]
fn straight_line_mega_function_entered_with_little_gas_is_out_of_gas() {
    // 60k x (i32.const 1; drop), close to the body-size cap, costs 120k gas but has no fuel
    // check inside: it finishes overdrawn, which must count as out of gas.
    let body = "(drop (i32.const 1))".repeat(60_000);
    let code = wasm(&format!(
        r#"(module (memory (export "memory") 1) (func (export "run") {body}))"#
    ));
    let vm = vm();
    let c = load(&vm, &code);
    let full = run(&vm, &c, "run", &[], PLENTY);
    assert_eq!(full.outcome, Outcome::Success);
    let fixed = fixed_gas(&vm.config().schedule, code.len(), 1);
    assert_eq!(
        full.gas_used,
        fixed + entry_overhead(&vm.config().schedule) + 120_000
    );
    for limit in [fixed + 60, fixed + 60_000, full.gas_used] {
        let e = run(&vm, &c, "run", &[], limit);
        assert_eq!(e.outcome, Outcome::OutOfGas, "limit {limit}");
        assert_eq!(e.gas_used, limit);
    }
}

#[test]
fn memory_fill_and_copy_cost_is_proportional_to_bytes() {
    let vm = vm();
    let s = vm.config().schedule.clone();
    let c = load(&vm, &fixture("memory.wat"));
    for entry in ["fill", "copy"] {
        let base = run(&vm, &c, entry, &u32_input(0), PLENTY);
        assert_eq!(base.outcome, Outcome::Success);
        for n in [1u32, 100, 4096, 60_000] {
            let e = run(&vm, &c, entry, &u32_input(n), PLENTY);
            assert_eq!(e.outcome, Outcome::Success);
            let per = if entry == "fill" {
                s.memory.fill_per_byte
            } else {
                s.memory.copy_per_byte
            };
            assert_eq!(
                e.gas_used - base.gas_used,
                n as u64 * per as u64,
                "{entry} {n}"
            );
        }
    }
    // Filling 1 MiB 100 times costs at least 100 MiB of gas.
    let e = run(&vm, &c, "fill_all", &u32_input(100), PLENTY);
    assert_eq!(e.outcome, Outcome::Success);
    assert!(e.gas.wasm >= 100 * 65_536 * s.memory.fill_per_byte as u64);
    // An out-of-bounds fill of 4 GiB is charged up front (wasmtime 48) and runs out of gas
    // under a normal limit; the outcome and gas are pinned.
    let e = run(&vm, &c, "fill_oob", &[], 50_000_000);
    assert_eq!(e.outcome, Outcome::OutOfGas);
    assert_eq!(e.gas_used, 50_000_000);
}

#[test]
fn memory_growth_is_charged_per_page_grown_and_capped() {
    let vm = vm();
    let s = vm.config().schedule.clone();
    let max = vm.config().runtime.max_memory_pages;
    let c = load(&vm, &fixture("memory.wat"));
    let grow = |n: u32| {
        let e = run(&vm, &c, "grow", &u32_input(n), PLENTY);
        assert_eq!(e.outcome, Outcome::Success);
        (
            i32::from_le_bytes(e.return_data[..4].try_into().unwrap()),
            e.gas,
        )
    };
    let (r, g) = grow(3);
    assert_eq!(r, 1, "memory.grow returns the old size");
    assert_eq!(g.memory, 4 * s.memory.per_page, "initial page + 3 grown");
    let (r, g) = grow(max);
    assert_eq!(r, -1, "growing past the cap fails");
    assert_eq!(
        g.memory, s.memory.per_page,
        "failed growth is not charged per page"
    );
    let (r, g) = grow(u32::MAX);
    assert_eq!(r, -1);
    assert_eq!(g.memory, s.memory.per_page);

    // Storm: one page at a time to the cap, then 1000 failing grows.
    let e = run(&vm, &c, "grow_storm", &u32_input(1000), PLENTY);
    assert_eq!(e.outcome, Outcome::Success);
    let grown = u32::from_le_bytes(e.return_data[..4].try_into().unwrap());
    assert_eq!(grown, max - 1);
    assert_eq!(e.gas.memory, max as u64 * s.memory.per_page);
    // With too little gas for the pages, the storm runs out of gas.
    let e = run(
        &vm,
        &c,
        "grow_storm",
        &u32_input(0),
        100 * s.memory.per_page,
    );
    assert_eq!(e.outcome, Outcome::OutOfGas);
    assert_eq!(e.gas_used, 100 * s.memory.per_page);
}

#[test]
fn same_module_and_input_give_the_same_gas_every_time_and_on_fresh_engines() {
    let code = fixture("loop.wat");
    let first = {
        let vm = vm();
        let c = load(&vm, &code);
        let first = run(&vm, &c, "sum", &u32_input(5000), PLENTY);
        for _ in 0..100 {
            assert_eq!(run(&vm, &c, "sum", &u32_input(5000), PLENTY), first);
        }
        first
    };
    for _ in 0..3 {
        let vm = Vm::new(VmConfig::default()).unwrap();
        let c = load(&vm, &code);
        assert_eq!(run(&vm, &c, "sum", &u32_input(5000), PLENTY), first);
    }
}

#[test]
fn concurrent_executions_beyond_the_permits_queue_and_agree() {
    let vm = Vm::new(VmConfig {
        max_concurrency: 2,
        ..VmConfig::default()
    })
    .unwrap();
    let c = load(&vm, &fixture("loop.wat"));
    let want = run(&vm, &c, "sum", &u32_input(20_000), PLENTY);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| run(&vm, &c, "sum", &u32_input(20_000), PLENTY)))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}

#[test]
fn a_changed_operator_cost_changes_gas() {
    let code = fixture("loop.wat");
    let base = {
        let vm = vm();
        run(&vm, &load(&vm, &code), "sum", &u32_input(100), PLENTY).gas_used
    };
    let mut cfg = VmConfig::default();
    cfg.schedule.ops.alu += 1;
    cfg.schedule.version += 1;
    let vm = Vm::new(cfg).unwrap();
    let e = run(&vm, &load(&vm, &code), "sum", &u32_input(100), PLENTY);
    // 4 ALU ops per iteration (eqz, extend, add, sub), 3 in the thunk (add, gt_u, sub) and
    // the eqz of the exit check.
    assert_eq!(e.gas_used, base + 4 * 100 + 3 + 1);
}
