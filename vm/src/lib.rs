//! chainvm-vm: contract wasm bytes to validated, instrumented, compiled, deterministic,
//! gas-metered execution on wasmtime.
//!
//! One file per concern: [`validate`] (deploy-time rules), [`rejection`] (their text-free form), [`instrument`] (deterministic stack
//! counter), [`schedule`] (gas costs), [`engine`] (wasmtime settings), [`host`] (the trait the
//! chain implements), `imports` (the host functions and their charging), [`cache`] (compiled
//! modules), [`vm`] (load and execute), `ending` (how a call ended: outcome and gas rule),
//! [`profile`] (gas profiles by call stack) with `profiler` (profiled runs: engine, hooks,
//! recorder) and [`testing`] (an in-memory host).
//!
//! The VM knows nothing about accounts, blocks or state layout: it sees a [`Host`].
//!
//! Architecture and determinism rules: `docs/design.md` in the repository.

pub mod cache;
pub mod config;
mod contract;
mod ending;
pub mod engine;
pub mod error;
pub mod gas;
pub mod host;
mod imports;
pub mod instrument;
mod permits;
pub mod profile;
mod profiler;
pub mod rejection;
pub mod schedule;
pub mod testing;
pub mod validate;
pub mod vm;

pub use cache::CacheStats;
pub use config::{RuntimeLimits, ValidationLimits, VmConfig};
pub use error::{Outcome, Panic, TrapKind, VmError};
pub use gas::{GasBreakdown, HostFnGas};
pub use host::{
    Address, Amount, CallContext, CallRequest, CallResult, EventError, Host, HostFault,
    TransferError,
};
pub use profile::{Frame, GasProfile, StackGas};
pub use rejection::{Rejection, ValidationRule};
pub use schedule::GasSchedule;
pub use validate::{ModuleInfo, ValidationError};
pub use vm::{Contract, Execution, Vm, code_hash};
