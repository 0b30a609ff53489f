//! How an execution ended: the outcome of a failed call, and which gas it is charged.

use crate::error::{Outcome, TrapKind, VmError};
use crate::imports::{HostTrap, StoreData};
use crate::instrument::STACK_GLOBAL_EXPORT;
use wasmtime::{Store, Trap};

/// Maps a failed call to how it ended.
pub(crate) fn classify(
    store: &mut Store<StoreData>,
    instance: &wasmtime::Instance,
    e: wasmtime::Error,
    max_stack_bytes: u32,
) -> Result<Ending, VmError> {
    if let Some(HostTrap::Fault(_)) = e.downcast_ref::<HostTrap>() {
        // Take the fault out by value: it keeps the host's error as its source.
        return Err(match e.downcast::<HostTrap>() {
            Ok(HostTrap::Fault(f)) => VmError::Host(f),
            Ok(other) => VmError::engine(other.to_string()),
            Err(e) => VmError::engine(e),
        });
    }
    if let Some(t) = e.downcast_ref::<HostTrap>() {
        return Ok(match t {
            HostTrap::OutOfGas => Ending::whole_limit(Outcome::OutOfGas),
            HostTrap::Abort(p) => Ending::measured(Outcome::Panic(p.clone())),
            HostTrap::BadArgument(_) => Ending::whole_limit(Outcome::Trap {
                kind: TrapKind::BadHostArgument,
            }),
            // A refusal, not a fault of the code: charged what it used, like a panic.
            HostTrap::EventRefused => Ending::measured(Outcome::EventBytesExceeded),
            // Taken out by value above; kept so the match stays exhaustive.
            HostTrap::Fault(f) => return Err(VmError::engine(f.to_string())),
        });
    }
    let Some(trap) = e.downcast_ref::<Trap>() else {
        return Err(VmError::engine(e));
    };
    let kind = match trap {
        Trap::OutOfFuel => return Ok(Ending::whole_limit(Outcome::OutOfGas)),
        Trap::StackOverflow => return Err(VmError::NativeStackOverflow),
        Trap::Interrupt => return Err(VmError::engine("unexpected interrupt")),
        Trap::UnreachableCodeReached => {
            let height = instance
                .get_global(&mut *store, STACK_GLOBAL_EXPORT)
                .and_then(|g| g.get(&mut *store).i32())
                .unwrap_or(0) as u32;
            if height > max_stack_bytes {
                TrapKind::StackOverflow
            } else {
                return Ok(Ending::measured(Outcome::Unreachable));
            }
        }
        Trap::MemoryOutOfBounds | Trap::HeapMisaligned => TrapKind::MemoryOutOfBounds,
        Trap::IntegerDivisionByZero => TrapKind::DivisionByZero,
        Trap::IntegerOverflow => TrapKind::IntegerOverflow,
        Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
        Trap::IndirectCallToNull | Trap::BadSignature | Trap::TableOutOfBounds => {
            TrapKind::BadIndirectCall
        }
        _ => TrapKind::Other,
    };
    // Only chainvm's own kind goes on: wasmtime's text never reaches an outcome.
    Ok(Ending::whole_limit(Outcome::Trap { kind }))
}

/// How an execution ended: its outcome and which gas it is charged.
pub(crate) struct Ending {
    pub(crate) outcome: Outcome,
    pub(crate) gas_used: GasUsed,
}

/// Which gas an execution is charged, by the rules of DESIGN.md section 2.
pub(crate) enum GasUsed {
    /// What it measurably used (success, panics, `unreachable`, refused events).
    Measured,
    /// Its whole gas limit (out of gas, traps).
    WholeLimit,
}

impl Ending {
    pub(crate) fn measured(outcome: Outcome) -> Self {
        Ending {
            outcome,
            gas_used: GasUsed::Measured,
        }
    }

    pub(crate) fn whole_limit(outcome: Outcome) -> Self {
        Ending {
            outcome,
            gas_used: GasUsed::WholeLimit,
        }
    }
}
