//! [`ValidationError`]: why a module was rejected at deploy, one variant per rule.

use super::{ElementRule, ExportRule, Limit};
use thiserror::Error;

/// Why a module was rejected. Every variant names the rule it broke. `Display` may include
/// wasmparser's message (for developers); consensus data uses the text-free
/// [`ValidationError::rejection`] instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Larger than `max_code_size`.
    #[error("code size {size} bytes exceeds the limit of {max}")]
    CodeTooLarge {
        /// Actual size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid wasm, or uses a feature that is not enabled.
    #[error("invalid wasm: {0}")]
    Invalid(String),
    /// A component, not a core module.
    #[error("components are not supported, only core wasm modules")]
    NotAModule,
    /// An instruction chainvm does not allow (tables, references, `memory.init`...).
    #[error("instruction `{op}` is not allowed (function {func})")]
    ForbiddenInstruction {
        /// The operator's name.
        op: &'static str,
        /// Index of the defined function using it.
        func: u32,
    },
    /// A reference type used as a value (param, result, local or global).
    #[error("reference types may not be used as values ({0})")]
    ReferenceValue(&'static str),
    /// An import that is not a function.
    #[error("import `{module}.{name}` is not a function: only host functions may be imported")]
    ImportNotFunction {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// An import that is not part of the host ABI.
    #[error("unknown import `{module}.{name}`: not a chainvm host function")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// A host function imported with the wrong signature.
    #[error("import `{name}` has signature {found}, the host ABI expects {expected}")]
    ImportSignature {
        /// Host function name.
        name: String,
        /// What the module declared.
        found: String,
        /// What the ABI defines.
        expected: String,
    },
    /// The module does not define exactly one memory.
    #[error("a contract must define exactly one memory, found {0}")]
    MemoryCount(u32),
    /// The initial memory is larger than allowed.
    #[error("initial memory of {pages} pages exceeds the limit of {max}")]
    MemoryTooLarge {
        /// Declared initial pages.
        pages: u64,
        /// The limit.
        max: u32,
    },
    /// The memory is not exported as `memory`.
    #[error("the memory must be exported as `memory`")]
    MemoryNotExported,
    /// A start section is present.
    #[error("start functions are not allowed")]
    StartFunction,
    /// More than one table.
    #[error("tables: {0} tables, at most 1 allowed")]
    TableCount(u32),
    /// A table that is too large.
    #[error("tables: initial size {size} exceeds the limit of {max}")]
    TableTooLarge {
        /// Declared initial size.
        size: u64,
        /// The limit.
        max: u32,
    },
    /// Element segments other than active function lists for table 0.
    #[error("element segments: {0}")]
    Element(ElementRule),
    /// An active segment that does not fit the table or memory the module declares:
    /// instantiation would trap, so no call to the contract could ever run.
    #[error("{what} segment {index} covers {start}..{end}, beyond the declared size {size}")]
    SegmentOutOfBounds {
        /// `element` or `data`.
        what: &'static str,
        /// The segment's index in its section.
        index: u32,
        /// Its offset.
        start: u64,
        /// Its offset plus its length.
        end: u64,
        /// Initial table elements or memory bytes.
        size: u64,
    },
    /// Passive data segments (only `memory.init` could use them, and it is forbidden).
    #[error("passive data segments are not allowed")]
    PassiveData,
    /// An export that is not allowed.
    #[error("export `{name}`: {reason}")]
    Export {
        /// Export name.
        name: String,
        /// What is wrong with it.
        reason: ExportRule,
    },
    /// A count above its cap (`what` names the limit).
    #[error("too many {what}: {found} exceeds the limit of {max}{}", func.map(|f| format!(" (function {f})")).unwrap_or_default())]
    TooMany {
        /// Which limit.
        what: Limit,
        /// Function the count belongs to, if per function.
        func: Option<u32>,
        /// The count found.
        found: u64,
        /// The limit.
        max: u64,
    },
}
