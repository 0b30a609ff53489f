//! Validation + instrumentation of wasm: half the inputs are raw bytes, half are modules that
//! wasm-smith generates from them (valid wasm that exercises the validator's rules and the
//! stack instrumentation). Neither step may panic; whatever validates must instrument into a
//! module that wasmparser accepts and that validates again with the same shape.
#![no_main]

use arbitrary::Unstructured;
use chainvm_vm::instrument::instrument;
use chainvm_vm::validate::validate;
use chainvm_vm::{ValidationLimits, VmConfig};
use libfuzzer_sys::fuzz_target;

const IMPORTS: &str = r#"(module
  (import "env" "input" (func (param i32 i32) (result i32)))
  (import "env" "storage_set" (func (param i32 i32 i32 i32)))
  (import "env" "block_height" (func (result i64))))"#;

fn smith(data: &[u8]) -> Option<Vec<u8>> {
    let mut c = wasm_smith::Config {
        available_imports: Some(wat::parse_str(IMPORTS).ok()?),
        exports: Some(
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#)
                .ok()?,
        ),
        ..wasm_smith::Config::default()
    };
    c.min_memories = 0;
    c.max_memories = 1;
    c.max_memory32_bytes = 64 * 65_536;
    // Leave the rest of the proposals on: the validator must refuse them, not crash.
    c.max_funcs = 50;
    c.max_instructions = 1_000;
    wasm_smith::Module::new(c, &mut Unstructured::new(data))
        .ok()
        .map(|m| m.to_bytes())
}

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, data));
    let code = if first & 1 == 0 {
        rest.to_vec()
    } else {
        match smith(rest) {
            Some(code) => code,
            None => return,
        }
    };
    let limits = ValidationLimits::default();
    let Ok(info) = validate(&code, &limits) else {
        return;
    };
    let budget = VmConfig::default().runtime.max_stack_bytes;
    let out = instrument(&code, &info, budget).expect("a validated module instruments");
    wasmparser::Validator::new()
        .validate_all(&out)
        .expect("instrumented output is valid wasm");
});
