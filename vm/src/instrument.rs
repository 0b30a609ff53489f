//! Deterministic stack-height instrumentation, injected at deploy time.
//!
//! wasmtime's native stack limit depends on compiler, version and CPU, so it cannot decide a
//! consensus result. Instead a mutable global counts "model bytes" of stack: every call into a
//! defined function adds that function's frame model (from [`crate::validate`]) before the call
//! and subtracts it after, trapping with `unreachable` once the budget is exceeded. Direct
//! calls are instrumented at the call site; exported functions and table entries go through a
//! small thunk doing the same, so calls from the host and `call_indirect` are counted too.
//! The counter is exported as [`STACK_GLOBAL_EXPORT`] so the VM can tell a stack overflow from
//! an ordinary `unreachable`.

use crate::validate::ModuleInfo;
use std::borrow::Cow;
use std::collections::BTreeMap;
use thiserror::Error;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, Elements, EntityType,
    ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    Instruction, MemorySection, Module, TableSection, TypeSection, ValType,
};
use wasmparser::{ElementItems, ElementKind, ExternalKind, Operator, Parser, Payload};

/// Bumped whenever the injected code changes; part of the compiled-module cache key.
pub const INSTRUMENTATION_VERSION: u32 = 1;

/// Export name of the injected stack-height global.
pub const STACK_GLOBAL_EXPORT: &str = "__chainvm_stack";

/// Instrumentation failed. Validated input never fails; this guards against a validator gap.
#[derive(Debug, Error)]
#[error("instrumentation failed: {0}")]
pub struct InstrumentError(String);

fn err<E: std::fmt::Display>(e: E) -> InstrumentError {
    InstrumentError(e.to_string())
}

/// Emits `counter += bytes; if counter > limit { unreachable }`.
fn enter(f: &mut Function, global: u32, bytes: u32, limit: u32) {
    f.instruction(&Instruction::GlobalGet(global));
    f.instruction(&Instruction::I32Const(bytes as i32));
    f.instruction(&Instruction::I32Add);
    f.instruction(&Instruction::GlobalSet(global));
    f.instruction(&Instruction::GlobalGet(global));
    f.instruction(&Instruction::I32Const(limit as i32));
    f.instruction(&Instruction::I32GtU);
    f.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
    f.instruction(&Instruction::Unreachable);
    f.instruction(&Instruction::End);
}

/// Emits `counter -= bytes`.
fn leave(f: &mut Function, global: u32, bytes: u32) {
    f.instruction(&Instruction::GlobalGet(global));
    f.instruction(&Instruction::I32Const(bytes as i32));
    f.instruction(&Instruction::I32Sub);
    f.instruction(&Instruction::GlobalSet(global));
}

/// Import module of the profiling hooks of a profiling build ([`crate::profile`]). The
/// validator accepts only host-ABI imports, so user code can never import these.
pub const PROFILE_IMPORT_MODULE: &str = "__chainvm_profile";

/// Import name of the hook run before a call into defined function `func` (its index in the
/// original module) in a profiling build.
pub(crate) fn profile_enter_name(func: u32) -> String {
    format!("enter_{func}")
}

/// Import name of the hook run after every call that an enter hook announced.
pub(crate) const PROFILE_LEAVE: &str = "leave";

/// Emits a call of profiling hook `hook` through `ref.func` + `call_ref`: operators user code
/// can never contain, priced 0 by the profiling engine, so the hook changes no fuel at all.
fn hook(f: &mut Function, hook: u32, unit_type: u32) {
    f.instruction(&Instruction::RefFunc(hook));
    f.instruction(&Instruction::CallRef(unit_type));
}

/// Where a profiling build's hooks are: the `() -> ()` type they have and their function
/// indices (the enter hook of defined function `i` is `first_enter + i - imported`, the leave
/// hook follows them).
#[derive(Clone, Copy)]
struct Hooks {
    unit_type: u32,
    first_enter: u32,
    leave: u32,
}

/// Returns `code` with the stack counter injected. `info` must come from validating `code`;
/// `limit` is the budget in model bytes. Custom sections are dropped (they are not needed to
/// run, and the original code keeps them).
pub fn instrument(code: &[u8], info: &ModuleInfo, limit: u32) -> Result<Vec<u8>, InstrumentError> {
    instrument_with(code, info, limit, false)
}

/// Like [`instrument`], plus profiling hooks: an import of [`PROFILE_IMPORT_MODULE`] per
/// defined function (`enter_<index>`, index in the original module) and one `leave`,
/// appended after the module's own imports (so every defined function's index moves up by
/// their number), called around every instrumented call and in every thunk. Used only for
/// profiling builds, never for consensus execution.
pub fn instrument_profiling(
    code: &[u8],
    info: &ModuleInfo,
    limit: u32,
) -> Result<Vec<u8>, InstrumentError> {
    instrument_with(code, info, limit, true)
}

fn instrument_with(
    code: &[u8],
    info: &ModuleInfo,
    limit: u32,
    profiling: bool,
) -> Result<Vec<u8>, InstrumentError> {
    let imported = info.imported_funcs;
    let defined = info.funcs.len() as u32;
    let global = info.globals;
    // A profiling build inserts `defined + 1` hook imports before the defined functions.
    let shift_by = if profiling { defined + 1 } else { 0 };
    let shift = |f: u32| if f >= imported { f + shift_by } else { f };
    let mut hooks: Option<Hooks> = None;
    let frame = |func: u32| -> Option<u32> {
        func.checked_sub(imported)
            .and_then(|i| info.funcs.get(i as usize))
            .map(|f| f.frame_bytes)
    };

    // Defined functions reachable from outside a direct call get a thunk, numbered after all
    // defined functions in order of first appearance.
    let mut thunks: BTreeMap<u32, u32> = BTreeMap::new();
    let mut thunk_order: Vec<u32> = Vec::new();
    let mut want_thunk = |func: u32, thunks: &mut BTreeMap<u32, u32>| {
        if func >= imported && !thunks.contains_key(&func) {
            thunks.insert(func, imported + defined + thunk_order.len() as u32);
            thunk_order.push(func);
        }
    };
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(err)? {
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(err)?;
                    if e.kind == ExternalKind::Func {
                        want_thunk(e.index, &mut thunks);
                    }
                }
            }
            Payload::ElementSection(r) => {
                for e in r {
                    if let ElementItems::Functions(fs) = e.map_err(err)?.items {
                        for f in fs {
                            want_thunk(f.map_err(err)?, &mut thunks);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let thunk_of = |f: u32| thunks.get(&f).copied().unwrap_or(f);

    let mut rt = RoundtripReencoder;
    let mut types = TypeSection::new();
    let mut type_params: Vec<Vec<ValType>> = Vec::new();
    let mut imports = ImportSection::new();
    let mut has_imports = false;
    let mut functions = FunctionSection::new();
    let mut tables = None;
    let mut memories = MemorySection::new();
    let mut globals = GlobalSection::new();
    let mut exports = ExportSection::new();
    let mut elements = None;
    let mut data_count = None;
    let mut codes = CodeSection::new();
    let mut data = None;
    let mut func_index = imported;

    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(err)? {
            Payload::TypeSection(r) => {
                for group in r.clone() {
                    for sub in group.map_err(err)?.into_types() {
                        if let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner {
                            let ps = f
                                .params()
                                .iter()
                                .map(|t| rt.val_type(*t))
                                .collect::<Result<_, _>>()
                                .map_err(err)?;
                            type_params.push(ps);
                        }
                    }
                }
                rt.parse_type_section(&mut types, r).map_err(err)?;
                if profiling {
                    let unit_type = type_params.len() as u32;
                    types.ty().function([], []);
                    hooks = Some(Hooks {
                        unit_type,
                        first_enter: imported,
                        leave: imported + defined,
                    });
                }
            }
            Payload::ImportSection(r) => {
                has_imports = true;
                rt.parse_import_section(&mut imports, r).map_err(err)?;
            }
            Payload::FunctionSection(r) => {
                rt.parse_function_section(&mut functions, r).map_err(err)?
            }
            Payload::TableSection(r) => {
                let mut t = TableSection::new();
                rt.parse_table_section(&mut t, r).map_err(err)?;
                tables = Some(t);
            }
            Payload::MemorySection(r) => rt.parse_memory_section(&mut memories, r).map_err(err)?,
            Payload::GlobalSection(r) => rt.parse_global_section(&mut globals, r).map_err(err)?,
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(err)?;
                    let (kind, index) = match e.kind {
                        ExternalKind::Func => (ExportKind::Func, shift(thunk_of(e.index))),
                        ExternalKind::Memory => (ExportKind::Memory, e.index),
                        ExternalKind::Global => (ExportKind::Global, e.index),
                        ExternalKind::Table => (ExportKind::Table, e.index),
                        other => return Err(err(format!("unexpected export kind {other:?}"))),
                    };
                    exports.export(e.name, kind, index);
                }
            }
            Payload::ElementSection(r) => {
                let mut s = ElementSection::new();
                for e in r {
                    let e = e.map_err(err)?;
                    let (
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        },
                        ElementItems::Functions(fs),
                    ) = (e.kind, e.items)
                    else {
                        return Err(err("unsupported element segment"));
                    };
                    let fs = fs
                        .into_iter()
                        .map(|f| f.map(|f| shift(thunk_of(f))))
                        .collect::<Result<Vec<u32>, _>>()
                        .map_err(err)?;
                    let offset = rt.const_expr(offset_expr).map_err(err)?;
                    s.active(table_index, &offset, Elements::Functions(Cow::Owned(fs)));
                }
                elements = Some(s);
            }
            Payload::DataCountSection { count, .. } => {
                data_count = Some(DataCountSection { count })
            }
            Payload::DataSection(r) => {
                let mut s = DataSection::new();
                rt.parse_data_section(&mut s, r).map_err(err)?;
                data = Some(s);
            }
            Payload::CodeSectionEntry(body) => {
                let mut f = rt.new_function_with_parsed_locals(&body).map_err(err)?;
                let mut ops = body.get_operators_reader().map_err(err)?;
                while !ops.eof() {
                    let op = ops.read().map_err(err)?;
                    match op {
                        Operator::Call { function_index } => match frame(function_index) {
                            Some(bytes) => {
                                if let Some(h) = hooks {
                                    let enter_hook = h.first_enter + function_index - imported;
                                    hook(&mut f, enter_hook, h.unit_type);
                                }
                                enter(&mut f, global, bytes, limit);
                                f.instruction(&Instruction::Call(shift(function_index)));
                                leave(&mut f, global, bytes);
                                if let Some(h) = hooks {
                                    hook(&mut f, h.leave, h.unit_type);
                                }
                            }
                            None => {
                                f.instruction(&Instruction::Call(function_index));
                            }
                        },
                        other => {
                            f.instruction(&rt.instruction(other).map_err(err)?);
                        }
                    }
                }
                codes.function(&f);
                func_index += 1;
            }
            _ => {}
        }
    }
    if func_index != imported + defined {
        return Err(err("function count differs from validation"));
    }

    // Thunks: same type as their target; forward all params through an instrumented call.
    for &target in &thunk_order {
        let info_f = &info.funcs[(target - imported) as usize];
        functions.function(info_f.type_index);
        let params = type_params
            .get(info_f.type_index as usize)
            .ok_or_else(|| err("thunk type out of range"))?;
        let mut f = Function::new([]);
        if let Some(h) = hooks {
            hook(&mut f, h.first_enter + target - imported, h.unit_type);
        }
        enter(&mut f, global, info_f.frame_bytes, limit);
        for i in 0..params.len() as u32 {
            f.instruction(&Instruction::LocalGet(i));
        }
        f.instruction(&Instruction::Call(shift(target)));
        leave(&mut f, global, info_f.frame_bytes);
        if let Some(h) = hooks {
            hook(&mut f, h.leave, h.unit_type);
        }
        f.instruction(&Instruction::End);
        codes.function(&f);
    }
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(0),
    );
    exports.export(STACK_GLOBAL_EXPORT, ExportKind::Global, global);
    if profiling {
        // A module without a type section has no functions, so nothing calls a hook; the
        // imports are still added so every profiling build links the same way.
        let h = match hooks {
            Some(h) => h,
            None => {
                types.ty().function([], []);
                Hooks {
                    unit_type: type_params.len() as u32,
                    first_enter: imported,
                    leave: imported + defined,
                }
            }
        };
        for i in 0..defined {
            imports.import(
                PROFILE_IMPORT_MODULE,
                &profile_enter_name(imported + i),
                EntityType::Function(h.unit_type),
            );
        }
        imports.import(
            PROFILE_IMPORT_MODULE,
            PROFILE_LEAVE,
            EntityType::Function(h.unit_type),
        );
        has_imports = true;
        // `ref.func` may only name functions declared in an element segment.
        let declared: Vec<u32> = (h.first_enter..=h.leave).collect();
        elements
            .get_or_insert_with(ElementSection::new)
            .declared(Elements::Functions(Cow::Owned(declared)));
    }

    let mut module = Module::new();
    module.section(&types);
    if has_imports {
        module.section(&imports);
    }
    module.section(&functions);
    if let Some(t) = &tables {
        module.section(t);
    }
    module.section(&memories);
    module.section(&globals);
    module.section(&exports);
    if let Some(e) = &elements {
        module.section(e);
    }
    if let Some(d) = &data_count {
        module.section(d);
    }
    module.section(&codes);
    if let Some(d) = &data {
        module.section(d);
    }
    Ok(module.finish())
}
