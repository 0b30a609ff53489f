//! The text-free form of a validation failure, for consensus data.
//!
//! [`ValidationError`]'s `Display` may include wasmparser's own message (good for a developer,
//! but a dependency's wording must never reach receipts, gas or hashes). [`Rejection`] keeps
//! only chainvm's stable rule code, numbers and names taken from the module itself, and
//! renders its own message.

use crate::validate::ValidationError;
use serde::{Deserialize, Serialize};

/// A counted limit of the deploy-time rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Parameters of one function type.
    Params,
    /// Results of one function type.
    Results,
    /// Imported functions.
    Imports,
    /// Functions (imported and defined).
    Functions,
    /// Parameters of all defined functions.
    TotalParams,
    /// Globals.
    Globals,
    /// Exports.
    Exports,
    /// Element segments.
    ElementSegments,
    /// Data segments.
    DataSegments,
    /// Bytes of one function body.
    BodyBytes,
    /// Locals of one function.
    Locals,
    /// Locals of all functions.
    TotalLocals,
    /// Blocks, loops and ifs of one function.
    Blocks,
    /// Targets of one `br_table`.
    BrTableTargets,
}

impl Limit {
    const ALL: [Limit; 14] = [
        Limit::Params,
        Limit::Results,
        Limit::Imports,
        Limit::Functions,
        Limit::TotalParams,
        Limit::Globals,
        Limit::Exports,
        Limit::ElementSegments,
        Limit::DataSegments,
        Limit::BodyBytes,
        Limit::Locals,
        Limit::TotalLocals,
        Limit::Blocks,
        Limit::BrTableTargets,
    ];

    /// Stable number (part of [`ValidationRule::code`]); never reused.
    pub fn code(self) -> u16 {
        match self {
            Limit::Params => 1,
            Limit::Results => 2,
            Limit::Imports => 3,
            Limit::Functions => 4,
            Limit::TotalParams => 5,
            Limit::Globals => 6,
            Limit::Exports => 7,
            Limit::ElementSegments => 8,
            Limit::DataSegments => 9,
            Limit::BodyBytes => 10,
            Limit::Locals => 11,
            Limit::TotalLocals => 12,
            Limit::Blocks => 13,
            Limit::BrTableTargets => 14,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Params => "params",
            Limit::Results => "results",
            Limit::Imports => "imports",
            Limit::Functions => "functions",
            Limit::TotalParams => "params in total",
            Limit::Globals => "globals",
            Limit::Exports => "exports",
            Limit::ElementSegments => "element segments",
            Limit::DataSegments => "data segments",
            Limit::BodyBytes => "bytes in a function body",
            Limit::Locals => "locals",
            Limit::TotalLocals => "locals in total",
            Limit::Blocks => "blocks",
            Limit::BrTableTargets => "br_table targets",
        })
    }
}

/// What is wrong with an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportRule {
    /// A name with the VM's reserved prefix.
    Reserved,
    /// The memory under another name than `memory`.
    MemoryName,
    /// A table or other non-function, non-memory, non-global export.
    Kind,
    /// An entry point with parameters or results.
    EntrySignature,
    /// A host function re-exported.
    HostReexport,
}

impl std::fmt::Display for ExportRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExportRule::Reserved => "names starting with `__chainvm` are reserved",
            ExportRule::MemoryName => "the memory may only be exported as `memory`",
            ExportRule::Kind => "only functions, the memory and globals may be exported",
            ExportRule::EntrySignature => "entry points must take no parameters and return nothing",
            ExportRule::HostReexport => "host functions may not be re-exported",
        })
    }
}

/// What is wrong with an element segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementRule {
    /// Passive, declared, or for another table than 0.
    NotActiveTable0,
    /// Expressions instead of a function-index list.
    NotFunctionList,
}

impl std::fmt::Display for ElementRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ElementRule::NotActiveTable0 => "only active segments for table 0 are allowed",
            ElementRule::NotFunctionList => "only function-index lists are allowed",
        })
    }
}

/// The deploy-time rule a module broke, with a stable code ([`ValidationRule::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationRule {
    /// Code larger than allowed.
    CodeTooLarge,
    /// Not valid wasm, or a feature that is not enabled.
    InvalidWasm,
    /// A component, not a core module.
    NotAModule,
    /// A forbidden instruction.
    ForbiddenInstruction,
    /// A reference type used as a value.
    ReferenceValue,
    /// An import that is not a function.
    ImportNotFunction,
    /// An import outside the host ABI.
    UnknownImport,
    /// A host function imported with the wrong signature.
    ImportSignature,
    /// Not exactly one memory.
    MemoryCount,
    /// Initial memory too large.
    MemoryTooLarge,
    /// Memory not exported as `memory`.
    MemoryNotExported,
    /// A start section.
    StartFunction,
    /// More than one table.
    TableCount,
    /// A table too large.
    TableTooLarge,
    /// A disallowed element segment.
    Element(ElementRule),
    /// A passive data segment.
    PassiveData,
    /// A disallowed export.
    Export(ExportRule),
    /// A count above its cap.
    TooMany(Limit),
    /// An active element or data segment beyond the declared table or memory.
    SegmentOutOfBounds,
}

impl ValidationRule {
    /// Every rule, for code round trips.
    fn all() -> impl Iterator<Item = ValidationRule> {
        use ValidationRule::*;
        [
            CodeTooLarge,
            InvalidWasm,
            NotAModule,
            ForbiddenInstruction,
            ReferenceValue,
            ImportNotFunction,
            UnknownImport,
            ImportSignature,
            MemoryCount,
            MemoryTooLarge,
            MemoryNotExported,
            StartFunction,
            TableCount,
            TableTooLarge,
            Element(ElementRule::NotActiveTable0),
            Element(ElementRule::NotFunctionList),
            PassiveData,
            Export(ExportRule::Reserved),
            Export(ExportRule::MemoryName),
            Export(ExportRule::Kind),
            Export(ExportRule::EntrySignature),
            Export(ExportRule::HostReexport),
            SegmentOutOfBounds,
        ]
        .into_iter()
        .chain(Limit::ALL.into_iter().map(TooMany))
    }

    /// The rule's stable number: what consensus data stores. Written out here, never derived
    /// from declaration order; a number is never reused.
    pub fn code(self) -> u16 {
        use ValidationRule::*;
        match self {
            CodeTooLarge => 1,
            InvalidWasm => 2,
            NotAModule => 3,
            ForbiddenInstruction => 4,
            ReferenceValue => 5,
            ImportNotFunction => 6,
            UnknownImport => 7,
            ImportSignature => 8,
            MemoryCount => 9,
            MemoryTooLarge => 10,
            MemoryNotExported => 11,
            StartFunction => 12,
            TableCount => 13,
            TableTooLarge => 14,
            Element(ElementRule::NotActiveTable0) => 15,
            Element(ElementRule::NotFunctionList) => 16,
            PassiveData => 17,
            Export(ExportRule::Reserved) => 18,
            Export(ExportRule::MemoryName) => 19,
            Export(ExportRule::Kind) => 20,
            Export(ExportRule::EntrySignature) => 21,
            Export(ExportRule::HostReexport) => 22,
            SegmentOutOfBounds => 23,
            TooMany(l) => 100 + l.code(),
        }
    }

    /// The rule with this code, if any.
    pub fn from_code(code: u16) -> Option<ValidationRule> {
        Self::all().find(|r| r.code() == code)
    }
}

/// Longest module-supplied name a [`Rejection`] keeps, in bytes.
pub const MAX_REJECTION_NAME: usize = 256;

/// A validation failure without any text but names from the module itself: what receipts
/// carry. Renders its own message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The rule broken.
    pub rule: ValidationRule,
    /// The import (`module.name`) or export concerned, cut to [`MAX_REJECTION_NAME`] bytes.
    pub name: Option<String>,
    /// Index of the defined function concerned, for per-function rules.
    pub func: Option<u32>,
    /// The size or count found (0 if the rule has none).
    pub found: u64,
    /// The limit (0 if the rule has none).
    pub max: u64,
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl ValidationError {
    /// The text-free form: rule, numbers and module-supplied names only.
    pub fn rejection(&self) -> Rejection {
        use ValidationError as E;
        let mut r = Rejection {
            rule: ValidationRule::InvalidWasm,
            name: None,
            func: None,
            found: 0,
            max: 0,
        };
        let named =
            |module: &str, name: &str| Some(cut(&format!("{module}.{name}"), MAX_REJECTION_NAME));
        match self {
            E::CodeTooLarge { size, max } => {
                r.rule = ValidationRule::CodeTooLarge;
                (r.found, r.max) = (*size as u64, *max as u64);
            }
            E::Invalid(_) => r.rule = ValidationRule::InvalidWasm,
            E::NotAModule => r.rule = ValidationRule::NotAModule,
            E::ForbiddenInstruction { func, .. } => {
                r.rule = ValidationRule::ForbiddenInstruction;
                r.func = Some(*func);
            }
            E::ReferenceValue(_) => r.rule = ValidationRule::ReferenceValue,
            E::ImportNotFunction { module, name } => {
                r.rule = ValidationRule::ImportNotFunction;
                r.name = named(module, name);
            }
            E::UnknownImport { module, name } => {
                r.rule = ValidationRule::UnknownImport;
                r.name = named(module, name);
            }
            E::ImportSignature { name, .. } => {
                r.rule = ValidationRule::ImportSignature;
                r.name = Some(cut(name, MAX_REJECTION_NAME));
            }
            E::MemoryCount(n) => {
                r.rule = ValidationRule::MemoryCount;
                r.found = *n as u64;
            }
            E::MemoryTooLarge { pages, max } => {
                r.rule = ValidationRule::MemoryTooLarge;
                (r.found, r.max) = (*pages, *max as u64);
            }
            E::MemoryNotExported => r.rule = ValidationRule::MemoryNotExported,
            E::StartFunction => r.rule = ValidationRule::StartFunction,
            E::TableCount(n) => {
                r.rule = ValidationRule::TableCount;
                (r.found, r.max) = (*n as u64, 1);
            }
            E::TableTooLarge { size, max } => {
                r.rule = ValidationRule::TableTooLarge;
                (r.found, r.max) = (*size, *max as u64);
            }
            E::Element(e) => r.rule = ValidationRule::Element(*e),
            E::PassiveData => r.rule = ValidationRule::PassiveData,
            E::Export { name, reason } => {
                r.rule = ValidationRule::Export(*reason);
                r.name = Some(cut(name, MAX_REJECTION_NAME));
            }
            E::TooMany {
                what,
                func,
                found,
                max,
            } => {
                r.rule = ValidationRule::TooMany(*what);
                (r.func, r.found, r.max) = (*func, *found, *max);
            }
            E::SegmentOutOfBounds {
                what,
                index,
                end,
                size,
                ..
            } => {
                r.rule = ValidationRule::SegmentOutOfBounds;
                r.name = Some(format!("{what} segment {index}"));
                (r.found, r.max) = (*end, *size);
            }
        }
        r
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ValidationRule as R;
        let name = self.name.as_deref().unwrap_or("");
        let (found, max) = (self.found, self.max);
        match self.rule {
            R::CodeTooLarge => write!(f, "code size {found} bytes exceeds the limit of {max}"),
            R::InvalidWasm => write!(f, "invalid wasm, or a wasm feature that is not enabled"),
            R::NotAModule => write!(f, "components are not supported, only core wasm modules"),
            R::ForbiddenInstruction => write!(
                f,
                "a table, reference or passive-segment instruction is not allowed (function {})",
                self.func.unwrap_or(0)
            ),
            R::ReferenceValue => write!(f, "reference types may not be used as values"),
            R::ImportNotFunction => write!(
                f,
                "import `{name}` is not a function: only host functions may be imported"
            ),
            R::UnknownImport => write!(f, "unknown import `{name}`: not a chainvm host function"),
            R::ImportSignature => write!(
                f,
                "import `{name}` does not have the signature the host ABI defines"
            ),
            R::MemoryCount => write!(
                f,
                "a contract must define exactly one memory, found {found}"
            ),
            R::MemoryTooLarge => write!(
                f,
                "initial memory of {found} pages exceeds the limit of {max}"
            ),
            R::MemoryNotExported => write!(f, "the memory must be exported as `memory`"),
            R::StartFunction => write!(f, "start functions are not allowed"),
            R::TableCount => write!(f, "tables: {found} tables, at most {max} allowed"),
            R::TableTooLarge => {
                write!(f, "tables: initial size {found} exceeds the limit of {max}")
            }
            R::Element(e) => write!(f, "element segments: {e}"),
            R::PassiveData => write!(f, "passive data segments are not allowed"),
            R::Export(e) => write!(f, "export `{name}`: {e}"),
            R::SegmentOutOfBounds => {
                write!(f, "{name} ends at {found}, beyond the declared size {max}")
            }
            R::TooMany(what) => {
                write!(f, "too many {what}: {found} exceeds the limit of {max}")?;
                match self.func {
                    Some(func) => write!(f, " (function {func})"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_codes_are_unique_and_round_trip() {
        let rules: Vec<_> = ValidationRule::all().collect();
        for r in &rules {
            assert_eq!(ValidationRule::from_code(r.code()), Some(*r));
        }
        let mut codes: Vec<_> = rules.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), rules.len());
        assert_eq!(ValidationRule::from_code(0), None);
    }

    #[test]
    fn names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(200);
        let e = ValidationError::UnknownImport {
            module: "env".into(),
            name: long,
        };
        let name = e.rejection().name.unwrap();
        assert!(name.len() <= MAX_REJECTION_NAME && name.starts_with("env.é"));
    }

    #[test]
    fn the_rejection_drops_wasmparsers_text() {
        let e = ValidationError::Invalid("SIMD support is not enabled (at offset 0x1f)".into());
        let r = e.rejection();
        assert_eq!(r.rule, ValidationRule::InvalidWasm);
        assert!(!r.to_string().contains("SIMD"));
    }
}
