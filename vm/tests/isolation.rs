//! Every call starts from the module's initial state, whatever ran before on the same pooled
//! slot: memory contents (data segment, zeroed pages, grown pages), globals and memory size.
//! The pooling allocator keeps freed memory resident and resets it in place; these tests pin
//! that the reset restores exactly the initial image.

mod common;
use chainvm_vm::Outcome;
use common::*;

/// `scribble` writes over the data segment, a zero page far from it, a mutable global and a
/// grown page; `look` returns what a fresh instance sees at the same places.
const MODULE: &str = r#"
(module
  (import "env" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 3)
  (global $g (mut i32) (i32.const 7))
  (data (i32.const 70000) "initial data")
  (func (export "scribble")
    (i32.store (i32.const 70000) (i32.const 0x41414141))
    (i32.store (i32.const 150000) (i32.const 0x42424242))
    (i32.store (i32.const 4096) (i32.const 0x43434343))
    (global.set $g (i32.const 99))
    (drop (memory.grow (i32.const 2)))
    (i32.store (i32.const 200000) (i32.const 0x44444444)))
  (func (export "look")
    ;; [data 12 bytes][150000 u32][4096 u32][global u32][memory.size u32]
    (memory.copy (i32.const 0) (i32.const 70000) (i32.const 12))
    (i32.store (i32.const 12) (i32.load (i32.const 150000)))
    (i32.store (i32.const 16) (i32.load (i32.const 4096)))
    (i32.store (i32.const 20) (global.get $g))
    (i32.store (i32.const 24) (memory.size))
    (call $ret (i32.const 0) (i32.const 28))))
"#;

fn expected() -> Vec<u8> {
    let mut v = b"initial data".to_vec();
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&7u32.to_le_bytes());
    v.extend_from_slice(&3u32.to_le_bytes());
    v
}

#[test]
fn a_call_never_sees_what_an_earlier_call_wrote() {
    let vm = vm();
    let c = load(&vm, &wasm(MODULE));
    let first = run(&vm, &c, "look", &[], PLENTY);
    assert_eq!(first.outcome, Outcome::Success);
    assert_eq!(first.return_data, expected());
    // Many rounds, so the same pooled slot is reset and reused again and again.
    for _ in 0..50 {
        let s = run(&vm, &c, "scribble", &[], PLENTY);
        assert_eq!(s.outcome, Outcome::Success);
        let e = run(&vm, &c, "look", &[], PLENTY);
        assert_eq!(e, first, "a call saw an earlier call's writes");
    }
}

#[test]
fn another_module_on_a_reused_slot_starts_from_its_own_image() {
    let vm = vm();
    let a = load(&vm, &wasm(MODULE));
    let other = wasm(&MODULE.replace("initial data", "other module"));
    let b = load(&vm, &other);
    for _ in 0..20 {
        assert_eq!(
            run(&vm, &a, "scribble", &[], PLENTY).outcome,
            Outcome::Success
        );
        let e = run(&vm, &b, "look", &[], PLENTY);
        assert_eq!(&e.return_data[..12], b"other module");
        assert_eq!(&e.return_data[12..], &expected()[12..]);
        assert_eq!(
            run(&vm, &b, "scribble", &[], PLENTY).outcome,
            Outcome::Success
        );
        assert_eq!(run(&vm, &a, "look", &[], PLENTY).return_data, expected());
    }
}
