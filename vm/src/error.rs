//! Results and errors of loading and executing contracts.

use crate::instrument::InstrumentError;
use crate::validate::ValidationError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A contract panic: the message and source location the SDK reported through `abort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panic {
    /// The panic message.
    pub message: String,
    /// Source file, if reported.
    pub file: Option<String>,
    /// Source line (0 if unknown).
    pub line: u32,
    /// Source column (0 if unknown).
    pub column: u32,
}

impl std::fmt::Display for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(
                f,
                "{} at {}:{}:{}",
                self.message, file, self.line, self.column
            ),
            None => write!(f, "{}", self.message),
        }
    }
}

/// A wasm trap other than running out of gas or panicking: chainvm's own classification of
/// wasmtime's trap kinds (`Vm::classify` is the one match), never a dependency's text, so
/// it can reach consensus data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrapKind {
    /// The deterministic, instrumented stack budget was exceeded.
    StackOverflow,
    /// Out-of-bounds memory access.
    MemoryOutOfBounds,
    /// Integer division by zero.
    DivisionByZero,
    /// Integer overflow (`INT_MIN / -1`).
    IntegerOverflow,
    /// Float-to-int conversion of NaN or an out-of-range value.
    BadConversionToInteger,
    /// `call_indirect` to an empty slot, out of the table, or with the wrong signature.
    BadIndirectCall,
    /// A host function rejected its arguments (bad pointer, length over a limit).
    BadHostArgument,
    /// Any other trap.
    Other,
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrapKind::StackOverflow => "stack overflow (the deterministic stack limit)",
            TrapKind::MemoryOutOfBounds => "out-of-bounds memory access",
            TrapKind::DivisionByZero => "integer division by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::BadIndirectCall => "bad indirect call",
            TrapKind::BadHostArgument => "invalid host call argument",
            TrapKind::Other => "trap",
        })
    }
}

/// How an execution ended. Gas used follows `docs/design.md` section 3.4: out of gas and traps
/// use the whole limit; success, panics, `unreachable` and refused events use what was measured.
///
/// No variant carries text from wasmtime or the host: only contract data (a panic's message
/// and location, a method name) and chainvm's own codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The entry point returned and gas was left.
    Success,
    /// Gas ran out (including "finished overdrawn").
    OutOfGas,
    /// The contract panicked through `abort` (the SDK's panic handler).
    Panic(Panic),
    /// The contract executed `unreachable` (a panic without a message).
    Unreachable,
    /// A wasm trap or rejected host-call argument.
    Trap {
        /// What kind.
        kind: TrapKind,
    },
    /// The host refused an event: the transaction's or block's event bytes are used up.
    EventBytesExceeded,
    /// The module exports no entry point of that name.
    NoSuchEntry(String),
}

impl Outcome {
    /// Whether the execution succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => write!(f, "success"),
            Outcome::OutOfGas => write!(f, "out of gas"),
            Outcome::Panic(p) => write!(f, "panicked: {p}"),
            Outcome::Unreachable => write!(f, "panicked: unreachable executed"),
            Outcome::Trap { kind } => write!(f, "trapped: {kind}"),
            Outcome::EventBytesExceeded => write!(f, "event bytes exceeded"),
            Outcome::NoSuchEntry(name) => write!(f, "no entry point `{name}`"),
        }
    }
}

/// A failure that is not a contract's doing: bad code at load time, or a node fault. A node
/// fault must never become a consensus result (do not commit the block).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VmError {
    /// The code failed validation.
    #[error("invalid contract: {0}")]
    Validation(#[from] ValidationError),
    /// Instrumentation failed on validated code (a VM bug).
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    /// wasmtime refused to compile or instantiate, or failed while metering: its own error is
    /// kept as the source.
    #[error("engine error: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The host reported a failure of its own.
    #[error(transparent)]
    Host(#[from] crate::host::HostFault),
    /// wasmtime's native stack guard fired: the instrumented limit should make this
    /// impossible, so it is a node fault.
    #[error("native stack overflow (node fault): the deterministic stack limit did not hold")]
    NativeStackOverflow,
    /// Executions nested deeper than the configured limit on one thread.
    #[error("execution nested deeper than {0} levels")]
    CallDepth(u32),
    /// The compiled-module cache directory could not be created.
    #[error("module cache: cannot create {path}: {source}")]
    CacheDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The code passed to `load` does not hash to the code hash it came with.
    #[error("code does not match its hash")]
    CodeHashMismatch,
}

impl VmError {
    pub(crate) fn engine(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        VmError::Engine(e.into())
    }
}
