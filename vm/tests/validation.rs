//! Every deploy-time rule rejects what it should, with a typed error naming the rule, and
//! compile bombs are rejected or bounded.

mod common;
use chainvm_vm::validate::validate;
use chainvm_vm::{ValidationError as E, ValidationLimits, Vm, VmConfig, VmError};
use common::*;

fn check(body: &str) -> Result<(), E> {
    let code = wasm(body);
    validate(&code, &ValidationLimits::default()).map(|_| ())
}

/// A module with the required memory export around `items`.
fn module(items: &str) -> String {
    format!(r#"(module {items} (memory (export "memory") 1))"#)
}

fn assert_invalid(items: &str, needle: &str) {
    match check(&module(items)) {
        Err(E::Invalid(msg)) => assert!(msg.contains(needle), "{items}: {msg}"),
        other => panic!("{items}: expected Invalid(..{needle}..), got {other:?}"),
    }
}

#[test]
fn a_minimal_contract_is_valid() {
    check(&module(r#"(func (export "run"))"#)).unwrap();
}

#[test]
fn disabled_proposals_are_rejected() {
    assert_invalid(r#"(func (drop (v128.const i64x2 0 0)))"#, "SIMD");
    assert_invalid(
        r#"(func (drop (i32.atomic.load (i32.const 0))))"#,
        "threads",
    );
    assert_invalid(r#"(func $f (return_call $f))"#, "tail call");
    assert_invalid(r#"(tag $t) (func (throw $t))"#, "exceptions");
    assert_invalid(
        r#"(func (drop (i64.add128 (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)) ) (drop))"#,
        "wide",
    );
    match check(r#"(module (memory (export "memory") 1 1 shared))"#) {
        Err(E::Invalid(msg)) => assert!(msg.contains("threads"), "{msg}"),
        other => panic!("shared memory: {other:?}"),
    }
    match check(r#"(module (memory (export "memory") i64 1))"#) {
        Err(E::Invalid(msg)) => assert!(msg.contains("memory64"), "{msg}"),
        other => panic!("memory64: {other:?}"),
    }
    match check(r#"(module (memory (export "memory") 1) (memory 1))"#) {
        Err(E::Invalid(msg)) => assert!(msg.contains("multiple memories"), "{msg}"),
        other => panic!("two memories: {other:?}"),
    }
    match check(r#"(module (memory (export "memory") 1) (type (struct)))"#) {
        Err(E::Invalid(_)) => {}
        other => panic!("gc types: {other:?}"),
    }
}

#[test]
fn table_and_reference_instructions_are_rejected() {
    let cases = [
        (
            r#"(table 1 funcref) (func (drop (table.grow (ref.null func) (i32.const 1))))"#,
            "ref.null",
        ),
        (
            r#"(table 1 funcref) (func (drop (table.size)))"#,
            "table.size",
        ),
        (
            r#"(table 1 funcref) (func (table.fill (i32.const 0) (ref.null func) (i32.const 1)))"#,
            "ref.null",
        ),
        (
            r#"(table 1 funcref) (func (drop (table.get (i32.const 0))))"#,
            "table.get",
        ),
        (
            r#"(table 2 funcref) (func (table.copy (i32.const 0) (i32.const 1) (i32.const 1)))"#,
            "table.copy",
        ),
        (
            r#"(func $f) (elem declare func $f) (func (drop (ref.func $f)))"#,
            "ref.func",
        ),
    ];
    for (items, op) in cases {
        match check(&module(items)) {
            Err(E::ForbiddenInstruction { op: got, .. }) => assert_eq!(got, op, "{items}"),
            // `elem declare` is refused before the body is looked at.
            Err(E::Element(_)) if op == "ref.func" => {}
            other => panic!("{items}: {other:?}"),
        }
    }
    match check(&module(
        r#"(data "x") (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)))"#,
    )) {
        Err(E::PassiveData)
        | Err(E::ForbiddenInstruction {
            op: "memory.init", ..
        }) => {}
        other => panic!("memory.init: {other:?}"),
    }
    match check(&module(r#"(data "x") (func (data.drop 0))"#)) {
        Err(E::PassiveData)
        | Err(E::ForbiddenInstruction {
            op: "data.drop", ..
        }) => {}
        other => panic!("data.drop: {other:?}"),
    }
}

#[test]
fn reference_values_are_rejected() {
    assert!(matches!(
        check(&module("(func (local externref))")),
        Err(E::ReferenceValue("local"))
    ));
    assert!(matches!(
        check(&module("(func (param funcref))")),
        Err(E::ReferenceValue(_))
    ));
    assert!(matches!(
        check(&module("(global externref (ref.null extern))")),
        Err(E::ReferenceValue("global"))
    ));
}

#[test]
fn imports_must_be_host_functions_with_exact_signatures() {
    assert!(matches!(
        check(r#"(module (import "env" "memory" (memory 1)) (export "memory" (memory 0)))"#),
        Err(E::ImportNotFunction { .. })
    ));
    assert!(matches!(
        check(&module(r#"(import "env" "g" (global i32))"#)),
        Err(E::ImportNotFunction { .. })
    ));
    assert!(matches!(
        check(&module(r#"(import "env" "system" (func))"#)),
        Err(E::UnknownImport { .. })
    ));
    assert!(matches!(
        check(&module(
            r#"(import "wasi" "block_height" (func (result i64)))"#
        )),
        Err(E::UnknownImport { .. })
    ));
    match check(&module(
        r#"(import "env" "block_height" (func (result i32)))"#,
    )) {
        Err(E::ImportSignature {
            name,
            found,
            expected,
        }) => {
            assert_eq!(name, "block_height");
            assert_eq!(found, "() -> (i32)");
            assert_eq!(expected, "() -> (i64)");
        }
        other => panic!("{other:?}"),
    }
    // Every host function is importable with its ABI signature.
    let mut imports = String::new();
    for f in chainvm_abi::HOST_FUNCTIONS {
        let ty = |t: &chainvm_abi::ValType| match t {
            chainvm_abi::ValType::I32 => "i32",
            chainvm_abi::ValType::I64 => "i64",
        };
        let params: Vec<_> = f.params.iter().map(ty).collect();
        let results: Vec<_> = f.results.iter().map(ty).collect();
        imports += &format!(
            r#"(import "env" "{}" (func (param {}) (result {})))"#,
            f.name,
            params.join(" "),
            results.join(" ")
        );
    }
    check(&format!(
        r#"(module {imports} (memory (export "memory") 1))"#
    ))
    .unwrap();
}

#[test]
fn memory_rules() {
    assert!(matches!(check("(module)"), Err(E::MemoryCount(0))));
    assert!(matches!(
        check("(module (memory 1))"),
        Err(E::MemoryNotExported)
    ));
    assert!(matches!(
        check(r#"(module (memory (export "mem") 1))"#),
        Err(E::Export { .. })
    ));
    assert!(matches!(
        check(r#"(module (memory (export "memory") 65))"#),
        Err(E::MemoryTooLarge { pages: 65, max: 64 })
    ));
}

#[test]
fn active_segments_must_fit_the_declared_table_and_memory() {
    // Exactly filling the last table slot and the last byte of the one page is fine.
    check(&module(
        r#"(table 2 funcref) (func $f) (elem (i32.const 1) $f) (data (i32.const 65535) "x")"#,
    ))
    .unwrap();
    // One past the end (offsets are unsigned: -1 is 2^32 - 1): instantiation would trap on
    // every call, so the module is refused at deploy.
    for (items, kind) in [
        (
            r#"(table 2 funcref) (func $f) (elem (i32.const 1) $f $f)"#,
            "element",
        ),
        (
            r#"(table 1 funcref) (func $f) (elem (i32.const -1) $f)"#,
            "element",
        ),
        (r#"(data (i32.const 65535) "xy")"#, "data"),
        (r#"(data (i32.const -1) "x")"#, "data"),
    ] {
        match check(&module(items)) {
            Err(E::SegmentOutOfBounds { what, .. }) => assert_eq!(what, kind, "{items}"),
            other => panic!("{items}: expected SegmentOutOfBounds, got {other:?}"),
        }
    }
}

#[test]
fn structural_rules() {
    assert!(matches!(
        check(&module("(func $f) (start $f)")),
        Err(E::StartFunction)
    ));
    assert!(matches!(
        check(&module("(table 1 funcref) (table 1 funcref)")),
        Err(E::Invalid(_)) | Err(E::TableCount(2))
    ));
    assert!(matches!(
        check(&module("(table 10001 funcref)")),
        Err(E::TableTooLarge {
            size: 10001,
            max: 10000
        })
    ));
    assert!(matches!(
        check(&module(r#"(data "x")"#)),
        Err(E::PassiveData)
    ));
    assert!(matches!(
        check(&module(r#"(func (export "run") (param i32))"#)),
        Err(E::Export { .. })
    ));
    assert!(matches!(
        check(&module(
            r#"(func (export "run") (result i32) (i32.const 0))"#
        )),
        Err(E::Export { .. })
    ));
    assert!(matches!(
        check(&module(r#"(func (export "__chainvm_stack"))"#)),
        Err(E::Export { .. })
    ));
    assert!(matches!(
        check(&module(r#"(table (export "t") 1 funcref)"#)),
        Err(E::Export { .. })
    ));
    assert!(matches!(
        check(&module(
            r#"(import "env" "block_height" (func $h (result i64))) (export "h" (func $h))"#
        )),
        Err(E::Export { .. })
    ));
    // Non-wasm bytes and components.
    assert!(matches!(
        validate(b"not wasm", &ValidationLimits::default()),
        Err(E::Invalid(_))
    ));
    assert!(matches!(
        validate(b"\0asm\x0d\0\x01\0", &ValidationLimits::default()),
        Err(E::NotAModule) | Err(E::Invalid(_))
    ));
}

fn too_many(r: Result<(), E>) -> String {
    match r {
        Err(E::TooMany { what, .. }) => what.to_string(),
        other => panic!("expected TooMany, got {other:?}"),
    }
}

#[test]
fn count_caps() {
    let l = ValidationLimits::default();
    let funcs = "(func)".repeat(l.max_functions as usize + 1);
    assert_eq!(too_many(check(&module(&funcs))), "functions");
    let params = "i32 ".repeat(l.max_params as usize + 1);
    assert_eq!(
        too_many(check(&module(&format!("(func (param {params}))")))),
        "params"
    );
    let results = "i32 ".repeat(l.max_results as usize + 1);
    let zeros = "(i32.const 0)".repeat(l.max_results as usize + 1);
    assert_eq!(
        too_many(check(&module(&format!(
            "(func (result {results}) {zeros})"
        )))),
        "results"
    );
    let locals = "i32 ".repeat(l.max_locals as usize + 1);
    assert_eq!(
        too_many(check(&module(&format!("(func (local {locals}))")))),
        "locals"
    );
    let many_locals = format!("(func (local {}))", "i32 ".repeat(l.max_locals as usize));
    let n = l.max_total_locals / l.max_locals + 1;
    assert_eq!(
        too_many(check(&module(&many_locals.repeat(n as usize)))),
        "locals in total"
    );
    // The last label is the default, not a target.
    let targets = "0 ".repeat(l.max_br_table as usize + 2);
    assert_eq!(
        too_many(check(&module(&format!(
            "(func (block (br_table {targets} (i32.const 0))))"
        )))),
        "br_table targets"
    );
    let globals = "(global i32 (i32.const 0))".repeat(l.max_globals as usize + 1);
    assert_eq!(too_many(check(&module(&globals))), "globals");
    let data = r#"(data (i32.const 0) "x")"#.repeat(l.max_data_segments as usize + 1);
    assert_eq!(too_many(check(&module(&data))), "data segments");
    let body = "(drop (i32.const 1))".repeat(70_000);
    assert_eq!(
        too_many(check(&module(&format!("(func {body})")))),
        "bytes in a function body"
    );
    let blocks = "(block)".repeat(l.max_blocks as usize + 1);
    assert_eq!(
        too_many(check(&module(&format!("(func {blocks})")))),
        "blocks"
    );
    let imports =
        r#"(import "env" "block_height" (func (result i64)))"#.repeat(l.max_imports as usize + 1);
    assert_eq!(too_many(check(&module(&imports))), "imports");
}

#[test]
fn code_size_cap() {
    let limits = ValidationLimits {
        max_code_size: 100,
        ..ValidationLimits::default()
    };
    let code = wasm(&module(&format!("(func {})", "(nop)".repeat(200))));
    assert!(matches!(
        validate(&code, &limits),
        Err(E::CodeTooLarge { max: 100, .. })
    ));
    // Through the VM too, as a typed error.
    let vm = Vm::new(VmConfig {
        validation: limits,
        ..VmConfig::default()
    })
    .unwrap();
    assert!(matches!(
        vm.validate(&code),
        Err(VmError::Validation(E::CodeTooLarge { .. }))
    ));
}

#[test]
fn signature_bomb_is_rejected_and_the_largest_allowed_one_compiles() {
    // CWA-2023-004: many functions sharing a 64-param signature.
    let l = ValidationLimits::default();
    let sig = format!("(type $big (func (param {})))", "i64 ".repeat(64));
    let bomb = format!("{sig}{}", "(func (type $big))".repeat(10_000));
    assert_eq!(too_many(check(&module(&bomb))), "params in total");
    let allowed = (l.max_total_params / 64) as usize;
    let code = wasm(&module(&format!(
        "{sig}{}",
        "(func (type $big))".repeat(allowed)
    )));
    let vm = vm();
    load(&vm, &code);
}

#[test]
fn nested_block_bomb_is_rejected_and_the_deepest_allowed_one_compiles() {
    let l = ValidationLimits::default();
    let nest = |n: usize| {
        format!(
            "(func (export \"run\") {}{})",
            "(block ".repeat(n),
            ")".repeat(n)
        )
    };
    assert_eq!(
        too_many(check(&module(&nest(l.max_blocks as usize + 1)))),
        "blocks"
    );
    let code = wasm(&module(&nest(l.max_blocks as usize)));
    let vm = vm();
    let c = load(&vm, &code);
    assert!(run(&vm, &c, "run", &[], PLENTY).outcome.is_success());
}

#[test]
fn many_tiny_functions_compile() {
    let l = ValidationLimits::default();
    let code = wasm(&module(&"(func)".repeat(l.max_functions as usize)));
    let vm = vm();
    load(&vm, &code);
}
