//! Deploy-time checks of contract wasm: one typed error per rule.
//!
//! Runs wasmparser's validator with exactly the feature set rustc's `wasm32-unknown-unknown`
//! output needs, then applies chainvm's own rules (host imports with exact signatures, one
//! defined memory, no start function, no table or reference instructions, size caps). The
//! result also carries what instrumentation needs: each function's stack-frame model.

use crate::config::ValidationLimits;
mod error;

pub use crate::rejection::{ElementRule, ExportRule, Limit};
use chainvm_abi as abi;
pub use error::ValidationError;
use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, ExternalKind, FuncType, Operator, Parser,
    Payload, TypeRef, ValType, Validator, WasmFeatures,
};

/// Bumped whenever a rule changes; part of the compiled-module cache key.
pub const VALIDATION_VERSION: u32 = 2;

/// Exports with this prefix are reserved for the VM's own instrumentation.
pub const RESERVED_PREFIX: &str = "__chainvm";

/// The wasm features contracts may use: what rustc emits for `wasm32-unknown-unknown`, no more.
/// Reference types are on for their encoding only (`call_indirect`); their instructions are
/// rejected below.
pub fn allowed_features() -> WasmFeatures {
    WasmFeatures::WASM1
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::MULTI_VALUE
}

/// What validation learnt about a defined function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    /// Index into the type section.
    pub type_index: u32,
    /// Stack-frame model in bytes: 64 + params + locals + maximum operand stack.
    pub frame_bytes: u32,
}

/// The facts about a valid module that instrumentation and execution need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Number of imported functions (defined functions are numbered after them).
    pub imported_funcs: u32,
    /// Defined functions, in order.
    pub funcs: Vec<FuncInfo>,
    /// Number of defined globals.
    pub globals: u32,
    /// Names of exported functions (the entry points), sorted.
    pub entry_points: Vec<String>,
    /// Declared initial memory, in pages.
    pub initial_pages: u32,
}

fn too_many(what: Limit, func: Option<u32>, found: u64, max: u32) -> ValidationError {
    ValidationError::TooMany {
        what,
        func,
        found,
        max: max as u64,
    }
}

fn check_count(
    what: Limit,
    func: Option<u32>,
    found: u64,
    max: u32,
) -> Result<(), ValidationError> {
    if found > max as u64 {
        Err(too_many(what, func, found, max))
    } else {
        Ok(())
    }
}

fn check_value_types(tys: &[ValType], what: &'static str) -> Result<(), ValidationError> {
    if tys.iter().any(|t| matches!(t, ValType::Ref(_))) {
        return Err(ValidationError::ReferenceValue(what));
    }
    Ok(())
}

fn val_bytes(t: ValType) -> u32 {
    match t {
        ValType::I32 | ValType::F32 => 4,
        _ => 8,
    }
}

fn abi_type(t: abi::ValType) -> ValType {
    match t {
        abi::ValType::I32 => ValType::I32,
        abi::ValType::I64 => ValType::I64,
    }
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// The name of an operator chainvm forbids, or `None` if it is allowed.
fn forbidden(op: &Operator) -> Option<&'static str> {
    Some(match op {
        Operator::TableGet { .. } => "table.get",
        Operator::TableSet { .. } => "table.set",
        Operator::TableGrow { .. } => "table.grow",
        Operator::TableSize { .. } => "table.size",
        Operator::TableFill { .. } => "table.fill",
        Operator::TableCopy { .. } => "table.copy",
        Operator::TableInit { .. } => "table.init",
        Operator::ElemDrop { .. } => "elem.drop",
        Operator::RefNull { .. } => "ref.null",
        Operator::RefIsNull => "ref.is_null",
        Operator::RefFunc { .. } => "ref.func",
        Operator::MemoryInit { .. } => "memory.init",
        Operator::DataDrop { .. } => "data.drop",
        Operator::TypedSelect {
            ty: ValType::Ref(_),
        } => "select (reference)",
        _ => return None,
    })
}

/// The value of a segment's offset, which must be a single `i32.const` (no globals can be
/// imported, so nothing else could be a constant), as the unsigned offset wasm applies.
fn const_offset(expr: &wasmparser::ConstExpr) -> Result<u64, ValidationError> {
    let mut ops = expr.get_operators_reader();
    match (ops.read(), ops.read()) {
        (Ok(Operator::I32Const { value }), Ok(Operator::End)) if ops.eof() => {
            Ok(value as u32 as u64)
        }
        _ => Err(ValidationError::Invalid(
            "a segment offset must be one i32.const".into(),
        )),
    }
}

/// Refuses a segment `[start, start + len)` beyond `size`.
fn check_segment(
    what: &'static str,
    index: u32,
    start: u64,
    len: u64,
    size: u64,
) -> Result<(), ValidationError> {
    let end = start + len;
    if end > size {
        return Err(ValidationError::SegmentOutOfBounds {
            what,
            index,
            start,
            end,
            size,
        });
    }
    Ok(())
}

fn invalid(e: wasmparser::BinaryReaderError) -> ValidationError {
    ValidationError::Invalid(e.to_string())
}

/// Validates contract code against the host ABI and `limits`.
pub fn validate(code: &[u8], limits: &ValidationLimits) -> Result<ModuleInfo, ValidationError> {
    if code.len() > limits.max_code_size {
        return Err(ValidationError::CodeTooLarge {
            size: code.len(),
            max: limits.max_code_size,
        });
    }
    let mut validator = Validator::new_with_features(allowed_features());
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut info = ModuleInfo {
        imported_funcs: 0,
        funcs: Vec::new(),
        globals: 0,
        entry_points: Vec::new(),
        initial_pages: 0,
    };
    let mut memories = 0u32;
    let mut table_elements = 0u64;
    let mut memory_exported = false;
    let mut exported_funcs: Vec<(String, u32)> = Vec::new();
    let mut total_params = 0u64;
    let mut total_locals = 0u64;
    let mut allocs = wasmparser::FuncValidatorAllocations::default();

    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(invalid)?;
        let valid = validator.payload(&payload).map_err(invalid)?;
        match &payload {
            Payload::Version { encoding, .. } if *encoding != wasmparser::Encoding::Module => {
                return Err(ValidationError::NotAModule);
            }
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(invalid)?.into_types() {
                        match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                check_value_types(f.params(), "function parameter")?;
                                check_value_types(f.results(), "function result")?;
                                check_count(
                                    Limit::Params,
                                    None,
                                    f.params().len() as u64,
                                    limits.max_params,
                                )?;
                                check_count(
                                    Limit::Results,
                                    None,
                                    f.results().len() as u64,
                                    limits.max_results,
                                )?;
                                types.push(f.clone());
                            }
                            _ => return Err(ValidationError::Invalid("non-function type".into())),
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for imp in reader.clone().into_imports() {
                    let imp = imp.map_err(invalid)?;
                    let TypeRef::Func(ty) = imp.ty else {
                        return Err(ValidationError::ImportNotFunction {
                            module: imp.module.into(),
                            name: imp.name.into(),
                        });
                    };
                    let host = (imp.module == abi::IMPORT_MODULE)
                        .then(|| abi::host_fn(imp.name))
                        .flatten()
                        .ok_or_else(|| ValidationError::UnknownImport {
                            module: imp.module.into(),
                            name: imp.name.into(),
                        })?;
                    let ft = types.get(ty as usize).ok_or_else(|| {
                        ValidationError::Invalid("import type out of range".into())
                    })?;
                    let want_p: Vec<ValType> = host.params.iter().map(|t| abi_type(*t)).collect();
                    let want_r: Vec<ValType> = host.results.iter().map(|t| abi_type(*t)).collect();
                    if ft.params() != want_p.as_slice() || ft.results() != want_r.as_slice() {
                        return Err(ValidationError::ImportSignature {
                            name: imp.name.into(),
                            found: signature(ft.params(), ft.results()),
                            expected: signature(&want_p, &want_r),
                        });
                    }
                    info.imported_funcs += 1;
                    func_types.push(ty);
                }
                check_count(
                    Limit::Imports,
                    None,
                    info.imported_funcs as u64,
                    limits.max_imports,
                )?;
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    let ty = ty.map_err(invalid)?;
                    func_types.push(ty);
                    let params = types.get(ty as usize).map_or(0, |t| t.params().len()) as u64;
                    total_params += params;
                }
                check_count(
                    Limit::Functions,
                    None,
                    func_types.len() as u64,
                    limits.max_functions,
                )?;
                check_count(
                    Limit::TotalParams,
                    None,
                    total_params,
                    limits.max_total_params,
                )?;
            }
            Payload::TableSection(reader) => {
                let mut n = 0;
                for t in reader.clone() {
                    let t = t.map_err(invalid)?;
                    n += 1;
                    table_elements = t.ty.initial;
                    if t.ty.initial > limits.max_table_elements as u64 {
                        return Err(ValidationError::TableTooLarge {
                            size: t.ty.initial,
                            max: limits.max_table_elements,
                        });
                    }
                }
                if n > 1 {
                    return Err(ValidationError::TableCount(n));
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader.clone() {
                    let m = m.map_err(invalid)?;
                    memories += 1;
                    if m.initial > limits.max_initial_pages as u64 {
                        return Err(ValidationError::MemoryTooLarge {
                            pages: m.initial,
                            max: limits.max_initial_pages,
                        });
                    }
                    info.initial_pages = m.initial as u32;
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader.clone() {
                    let g = g.map_err(invalid)?;
                    check_value_types(&[g.ty.content_type], "global")?;
                    info.globals += 1;
                }
                check_count(
                    Limit::Globals,
                    None,
                    info.globals as u64,
                    limits.max_globals,
                )?;
            }
            Payload::ExportSection(reader) => {
                let mut n = 0u64;
                for e in reader.clone() {
                    let e = e.map_err(invalid)?;
                    n += 1;
                    if e.name.starts_with(RESERVED_PREFIX) {
                        return Err(ValidationError::Export {
                            name: e.name.into(),
                            reason: ExportRule::Reserved,
                        });
                    }
                    match e.kind {
                        ExternalKind::Func => exported_funcs.push((e.name.into(), e.index)),
                        ExternalKind::Memory if e.name == abi::MEMORY_EXPORT => {
                            memory_exported = true
                        }
                        ExternalKind::Memory => {
                            return Err(ValidationError::Export {
                                name: e.name.into(),
                                reason: ExportRule::MemoryName,
                            });
                        }
                        ExternalKind::Global => {}
                        _ => {
                            return Err(ValidationError::Export {
                                name: e.name.into(),
                                reason: ExportRule::Kind,
                            });
                        }
                    }
                }
                check_count(Limit::Exports, None, n, limits.max_exports)?;
            }
            Payload::StartSection { .. } => return Err(ValidationError::StartFunction),
            Payload::ElementSection(reader) => {
                let mut n = 0u64;
                for e in reader.clone() {
                    let e = e.map_err(invalid)?;
                    n += 1;
                    if !matches!(
                        e.kind,
                        ElementKind::Active {
                            table_index: None | Some(0),
                            ..
                        }
                    ) {
                        return Err(ValidationError::Element(ElementRule::NotActiveTable0));
                    }
                    let ElementItems::Functions(items) = &e.items else {
                        return Err(ValidationError::Element(ElementRule::NotFunctionList));
                    };
                    if let ElementKind::Active { offset_expr, .. } = &e.kind {
                        let start = const_offset(offset_expr)?;
                        let len = items.count() as u64;
                        check_segment("element", n as u32 - 1, start, len, table_elements)?;
                    }
                }
                check_count(Limit::ElementSegments, None, n, limits.max_element_segments)?;
            }
            Payload::DataSection(reader) => {
                let mut n = 0u64;
                for d in reader.clone() {
                    let d = d.map_err(invalid)?;
                    n += 1;
                    let wasmparser::DataKind::Active { offset_expr, .. } = &d.kind else {
                        return Err(ValidationError::PassiveData);
                    };
                    let start = const_offset(offset_expr)?;
                    let bytes = info.initial_pages as u64 * 65_536;
                    check_segment("data", n as u32 - 1, start, d.data.len() as u64, bytes)?;
                }
                check_count(Limit::DataSegments, None, n, limits.max_data_segments)?;
            }
            Payload::CodeSectionEntry(body) => {
                let func = info.funcs.len() as u32;
                if body.range().len() > limits.max_body_size as usize {
                    return Err(too_many(
                        Limit::BodyBytes,
                        Some(func),
                        body.range().len() as u64,
                        limits.max_body_size,
                    ));
                }
                let type_index = func_types
                    .get((info.imported_funcs + func) as usize)
                    .copied()
                    .ok_or_else(|| ValidationError::Invalid("function without type".into()))?;
                let ft = types
                    .get(type_index as usize)
                    .ok_or_else(|| ValidationError::Invalid("type out of range".into()))?;
                let mut frame: u64 = 64
                    + ft.params()
                        .iter()
                        .map(|t| val_bytes(*t) as u64)
                        .sum::<u64>();
                let mut locals = 0u64;
                let wasmparser::ValidPayload::Func(fv, _) = valid else {
                    return Err(ValidationError::Invalid(
                        "code entry without validator".into(),
                    ));
                };
                let mut fv = fv.into_validator(std::mem::take(&mut allocs));
                for local in body.get_locals_reader().map_err(invalid)? {
                    let (count, ty) = local.map_err(invalid)?;
                    check_value_types(&[ty], "local")?;
                    locals += count as u64;
                    check_count(Limit::Locals, Some(func), locals, limits.max_locals)?;
                    frame += count as u64 * val_bytes(ty) as u64;
                    fv.define_locals(body.range().start, count, ty)
                        .map_err(invalid)?;
                }
                total_locals += locals;
                check_count(
                    Limit::TotalLocals,
                    None,
                    total_locals,
                    limits.max_total_locals,
                )?;
                let mut ops = body.get_operators_reader().map_err(invalid)?;
                let mut blocks = 0u64;
                let mut max_height = 0u32;
                while !ops.eof() {
                    let (op, offset) = ops.read_with_offset().map_err(invalid)?;
                    if let Some(name) = forbidden(&op) {
                        return Err(ValidationError::ForbiddenInstruction { op: name, func });
                    }
                    match &op {
                        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                            blocks += 1;
                            check_count(Limit::Blocks, Some(func), blocks, limits.max_blocks)?;
                        }
                        Operator::BrTable { targets } => {
                            check_count(
                                Limit::BrTableTargets,
                                Some(func),
                                targets.len() as u64,
                                limits.max_br_table,
                            )?;
                        }
                        _ => {}
                    }
                    fv.op(offset, &op).map_err(invalid)?;
                    max_height = max_height.max(fv.operand_stack_height());
                }
                ops.finish().map_err(invalid)?;
                // Instrumented call sites push two more values; count them in the model.
                frame += 8 * (max_height as u64 + 2);
                info.funcs.push(FuncInfo {
                    type_index,
                    frame_bytes: u32::try_from(frame).unwrap_or(u32::MAX),
                });
                allocs = fv.into_allocations();
            }
            Payload::CustomSection(_)
            | Payload::DataCountSection { .. }
            | Payload::CodeSectionStart { .. } => {}
            Payload::End(_) => {}
            _ => {}
        }
    }
    if memories != 1 {
        return Err(ValidationError::MemoryCount(memories));
    }
    if !memory_exported {
        return Err(ValidationError::MemoryNotExported);
    }
    for (name, index) in exported_funcs {
        let sig = func_types
            .get(index as usize)
            .and_then(|t| types.get(*t as usize))
            .ok_or_else(|| ValidationError::Invalid("export out of range".into()))?;
        if !sig.params().is_empty() || !sig.results().is_empty() {
            return Err(ValidationError::Export {
                name,
                reason: ExportRule::EntrySignature,
            });
        }
        if index < info.imported_funcs {
            return Err(ValidationError::Export {
                name,
                reason: ExportRule::HostReexport,
            });
        }
        info.entry_points.push(name);
    }
    info.entry_points.sort();
    Ok(info)
}
