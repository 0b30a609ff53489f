//! The host API implemented on the state overlay, and contract calls (top-level and nested).
//!
//! Storage is scoped by construction: every key a contract passes is prefixed with its own
//! address ([`layout::storage_key`]), so no contract can name another's storage. A call runs
//! inside an overlay checkpoint; if it fails, its writes, its value transfer and the effects of
//! everything it called are reverted, and the events it emitted are kept but marked reverted.

use crate::layout::{self, account, set_account};
use crate::params::ChainParams;
use crate::receipt::{ErrorCode, ErrorDetail, Event, EventScope, ExecError, SourceLocation};
use crate::types::{Address, H256, U256, u256_bytes};
use chainvm_abi::error_code;
use chainvm_state::{Checkpoint, Overlay, StateReader, StoreError};
use chainvm_vm::{
    CallContext, CallRequest, CallResult, Contract, EventError, GasBreakdown, GasProfile, Host,
    HostFault, Outcome, TransferError, Vm, VmError,
};
use std::sync::Arc;

/// The block a transaction executes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of the block.
    pub height: u64,
    /// Timestamp of the block (seconds), from its header.
    pub timestamp: u64,
    /// The block's proposer, who receives the fees.
    pub proposer: Address,
}

/// What every call in a transaction shares.
pub(crate) struct Env<'a> {
    pub vm: &'a Vm,
    pub params: &'a ChainParams,
    pub block: &'a BlockContext,
    /// Run the top-level call on a profiling build and keep its profile (dry runs only; the
    /// gas is the same either way).
    pub profile: bool,
}

/// Byte counters of contract storage traffic in a transaction.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StorageStats {
    pub read: u64,
    pub written: u64,
}

/// The event bytes a transaction may emit: its own cap, or what is left of the block's if
/// that is less.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventBudget {
    /// Event bytes (topic + data) emitted so far, reverted events included.
    pub used: u64,
    /// Most the transaction may emit.
    pub allowance: u64,
    /// Which cap `allowance` comes from.
    pub scope: EventScope,
    /// That cap's size (what a refusal reports).
    pub limit: u64,
}

impl EventBudget {
    /// The budget of a transaction in a block whose earlier transactions emitted
    /// `block_used` event bytes.
    pub fn new(params: &ChainParams, block_used: u64) -> EventBudget {
        let left = params.max_event_bytes_per_block.saturating_sub(block_used);
        let (allowance, scope, limit) = if left < params.max_event_bytes_per_tx {
            (left, EventScope::Block, params.max_event_bytes_per_block)
        } else {
            let cap = params.max_event_bytes_per_tx;
            (cap, EventScope::Transaction, cap)
        };
        EventBudget {
            used: 0,
            allowance,
            scope,
            limit,
        }
    }

    /// Takes `bytes` from the budget, or refuses (taking nothing).
    fn take(&mut self, bytes: u64) -> bool {
        match self.used.checked_add(bytes) {
            Some(total) if total <= self.allowance => {
                self.used = total;
                true
            }
            _ => false,
        }
    }

    /// The error of a refused event.
    fn exceeded(&self) -> ErrorDetail {
        ErrorDetail::EventBytesExceeded {
            scope: self.scope,
            limit: self.limit,
        }
    }
}

/// The scope of one call tree (a transaction's payload or a view): the state overlay, the
/// events emitted, storage byte counts and the event allowance, shared by all its frames.
pub(crate) struct CallScope<'a, R> {
    pub state: &'a mut Overlay<R>,
    pub events: &'a mut Vec<Event>,
    pub stats: &'a mut StorageStats,
    pub budget: &'a mut EventBudget,
}

impl<R: StateReader> CallScope<'_, R> {
    /// Undoes a failed call: reverts the state to `checkpoint` and marks the events emitted
    /// since `first_event` reverted (they stay in the receipt, flagged).
    pub fn revert_to(&mut self, checkpoint: Checkpoint, first_event: usize) {
        self.state.revert(checkpoint);
        for e in &mut self.events[first_event..] {
            e.reverted = true;
        }
    }
}

/// The result of one contract call.
pub(crate) struct CallOutcome {
    /// `None` on success.
    pub error: Option<ExecError>,
    /// Gas the execution used (0 if it never started).
    pub gas_used: u64,
    /// The VM's breakdown of that gas.
    pub gas: GasBreakdown,
    /// Return data on success (or the encoded typed error on failure).
    pub return_data: Vec<u8>,
    /// Code hash of the contract that ran, if one did.
    pub code_hash: Option<H256>,
    /// The top-level execution's gas profile, in a profiled dry run ([`Env::profile`]).
    pub profile: Option<GasProfile>,
}

impl CallOutcome {
    /// Success without execution (transfers, staking).
    pub fn ok() -> CallOutcome {
        CallOutcome {
            error: None,
            gas_used: 0,
            gas: GasBreakdown::default(),
            return_data: Vec::new(),
            code_hash: None,
            profile: None,
        }
    }

    /// Failure before (or instead of) execution: no gas used beyond what was charged.
    pub fn failed(detail: ErrorDetail) -> CallOutcome {
        CallOutcome {
            error: Some(ExecError::new(detail)),
            ..CallOutcome::ok()
        }
    }
}

fn fault(e: StoreError) -> VmError {
    VmError::Host(HostFault::new(e))
}

/// Turns a VM outcome into a receipt error: the VM's own codes and the contract's data, never
/// a message from wasmtime or the host. `budget` says which cap a refused event hit.
pub(crate) fn exec_error(outcome: &Outcome, budget: &EventBudget) -> Option<ExecError> {
    let detail = match outcome {
        Outcome::Success => return None,
        Outcome::OutOfGas => ErrorDetail::OutOfGas,
        Outcome::Panic(p) => ErrorDetail::Panic {
            message: p.message.clone(),
            location: p.file.as_ref().map(|file| SourceLocation {
                file: file.clone(),
                line: p.line,
                column: p.column,
            }),
        },
        Outcome::Unreachable => ErrorDetail::Unreachable,
        Outcome::Trap { kind } => ErrorDetail::Trap((*kind).into()),
        Outcome::EventBytesExceeded => budget.exceeded(),
        Outcome::NoSuchEntry(m) => ErrorDetail::NoSuchMethod { method: m.clone() },
    };
    Some(ExecError::new(detail))
}

/// Loads the compiled contract with this code hash, reading the code only on a cache miss.
pub(crate) fn load_contract<R: StateReader>(
    vm: &Vm,
    state: &Overlay<R>,
    code_hash: &H256,
) -> Result<Arc<Contract>, VmError> {
    if let Some(c) = vm.cached(&code_hash.0) {
        return Ok(c);
    }
    let code = state
        .get(&layout::code_key(code_hash))
        .map_err(fault)?
        .ok_or_else(|| {
            fault(StoreError::MissingRecord {
                what: format!("code {code_hash:?}"),
            })
        })?;
    vm.load(&code_hash.0, &code)
}

/// Moves `amount` from `from` to `to` in the overlay; false if `from` cannot afford it.
pub(crate) fn move_value<R: StateReader>(
    state: &mut Overlay<R>,
    from: &Address,
    to: &Address,
    amount: U256,
) -> Result<bool, StoreError> {
    if amount.is_zero() || from == to {
        return Ok(account(state, from)?.balance >= amount);
    }
    let mut a = account(state, from)?;
    if a.balance < amount {
        return Ok(false);
    }
    a.balance -= amount;
    set_account(state, from, &a);
    let mut b = account(state, to)?;
    b.balance = b
        .balance
        .checked_add(amount)
        .ok_or(StoreError::BalanceOverflow)?;
    set_account(state, to, &b);
    Ok(true)
}

/// One contract call: who calls whom, with what.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The immediate caller.
    pub caller: Address,
    /// The contract called.
    pub target: Address,
    /// Entry point.
    pub method: &'a str,
    /// Encoded arguments.
    pub input: &'a [u8],
    /// Value attached.
    pub value: U256,
    /// Most gas the call may use.
    pub gas_limit: u64,
}

/// Executes `frame` with an already-loaded `contract`, without checkpointing (the caller
/// decides what to revert).
pub(crate) fn execute_frame<R: StateReader>(
    env: &Env<'_>,
    scope: &mut CallScope<'_, R>,
    stack: &[Address],
    contract: &Contract,
    frame: &Frame<'_>,
) -> Result<CallOutcome, VmError> {
    let ctx = CallContext {
        caller: frame.caller.0,
        self_address: frame.target.0,
        value: u256_bytes(&frame.value),
        block_height: env.block.height,
        block_timestamp: env.block.timestamp,
    };
    let mut frames = stack.to_vec();
    frames.push(frame.target);
    let mut host = RuntimeHost {
        env,
        scope: CallScope {
            state: &mut *scope.state,
            events: &mut *scope.events,
            stats: &mut *scope.stats,
            budget: &mut *scope.budget,
        },
        stack: frames,
    };
    let exec = if env.profile && stack.is_empty() {
        // The profiling build of the same code: same gas, plus a profile. Nested calls
        // (`stack` not empty) run the consensus build.
        let hash = H256(contract.code_hash());
        let code = host
            .scope
            .state
            .get(&layout::code_key(&hash))
            .map_err(fault)?
            .ok_or_else(|| {
                fault(StoreError::MissingRecord {
                    what: format!("code {hash:?}"),
                })
            })?;
        let profiling = env.vm.load_profiling(&hash.0, &code)?;
        env.vm.execute_profiled(
            &profiling,
            frame.method,
            frame.input,
            &ctx,
            frame.gas_limit,
            &mut host,
        )?
    } else {
        env.vm.execute(
            contract,
            frame.method,
            frame.input,
            &ctx,
            frame.gas_limit,
            &mut host,
        )?
    };
    Ok(CallOutcome {
        error: exec_error(&exec.outcome, scope.budget),
        gas_used: exec.gas_used,
        gas: exec.gas,
        return_data: exec.return_data,
        code_hash: Some(H256(contract.code_hash())),
        profile: exec.profile,
    })
}

/// Calls `method` on the contract at `target` with `value` from `caller`: checks that the
/// contract and method exist and the call may happen, moves the value, executes, and reverts
/// everything the call did if it fails.
pub(crate) fn call<R: StateReader>(
    env: &Env<'_>,
    scope: &mut CallScope<'_, R>,
    stack: &[Address],
    frame: &Frame<'_>,
) -> Result<CallOutcome, VmError> {
    let Frame {
        caller,
        target,
        method,
        value,
        ..
    } = *frame;
    let Some(code_hash) = account(&*scope.state, &target).map_err(fault)?.code_hash else {
        return Ok(CallOutcome::failed(ErrorDetail::NoContract {
            address: target,
        }));
    };
    let contract = load_contract(env.vm, scope.state, &code_hash)?;
    if !contract.has_entry(method) {
        // The method list is display-time information (the contract's ABI), not receipt data.
        let mut out = CallOutcome::failed(ErrorDetail::NoSuchMethod {
            method: method.to_string(),
        });
        out.code_hash = Some(code_hash);
        return Ok(out);
    }
    let checkpoint = scope.state.checkpoint();
    let first_event = scope.events.len();
    if !move_value(scope.state, &caller, &target, value).map_err(fault)? {
        let available = account(&*scope.state, &caller).map_err(fault)?.balance;
        return Ok(CallOutcome::failed(ErrorDetail::InsufficientBalance {
            needed: value,
            available,
        }));
    }
    let outcome = execute_frame(env, scope, stack, &contract, frame)?;
    if outcome.error.is_some() {
        scope.revert_to(checkpoint, first_event);
    }
    Ok(outcome)
}

/// Runs `frame` with an already-loaded `contract` as a top-level call through the runtime's
/// host over `state`: the host a block's contract calls use, without the transaction around
/// it (no fee, nonce, value move or checkpoint; a fresh event budget). For benchmarks and
/// tools that want the VM with the real host. Returns the gas used and the call's error, if
/// any; events are appended to `events`.
pub fn execute_call<R: StateReader>(
    vm: &Vm,
    params: &ChainParams,
    block: &BlockContext,
    state: &mut Overlay<R>,
    events: &mut Vec<Event>,
    contract: &Contract,
    frame: &Frame<'_>,
) -> Result<(u64, Option<ExecError>), VmError> {
    let env = Env {
        vm,
        params,
        block,
        profile: false,
    };
    let mut stats = StorageStats::default();
    let mut budget = EventBudget::new(params, 0);
    let mut scope = CallScope {
        state,
        events,
        stats: &mut stats,
        budget: &mut budget,
    };
    let out = execute_frame(&env, &mut scope, &[], contract, frame)?;
    Ok((out.gas_used, out.error))
}

/// [`Host`] for one frame: the executing contract is the last address on `stack`.
struct RuntimeHost<'e, 'a, R> {
    env: &'e Env<'e>,
    scope: CallScope<'a, R>,
    stack: Vec<Address>,
}

impl<R: StateReader> RuntimeHost<'_, '_, R> {
    fn me(&self) -> Address {
        self.stack.last().copied().unwrap_or_default()
    }
}

impl<R: StateReader> Host for RuntimeHost<'_, '_, R> {
    fn storage_get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostFault> {
        let v = self
            .scope
            .state
            .get(&layout::storage_key(&self.me(), key))
            .map_err(HostFault::new)?;
        self.scope.stats.read += (key.len() + v.as_ref().map_or(0, |v| v.len())) as u64;
        Ok(v)
    }

    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostFault> {
        self.scope.stats.written += (key.len() + value.len()) as u64;
        self.scope
            .state
            .set(&layout::storage_key(&self.me(), key), value);
        Ok(())
    }

    fn storage_remove(&mut self, key: &[u8]) -> Result<bool, HostFault> {
        let k = layout::storage_key(&self.me(), key);
        let existed = self.scope.state.get(&k).map_err(HostFault::new)?.is_some();
        self.scope.stats.read += key.len() as u64;
        if existed {
            self.scope.state.remove(&k);
        }
        Ok(existed)
    }

    fn storage_has(&mut self, key: &[u8]) -> Result<bool, HostFault> {
        self.scope.stats.read += key.len() as u64;
        Ok(self
            .scope
            .state
            .get(&layout::storage_key(&self.me(), key))
            .map_err(HostFault::new)?
            .is_some())
    }

    fn balance(&mut self) -> Result<[u8; 32], HostFault> {
        Ok(u256_bytes(
            &account(&*self.scope.state, &self.me())
                .map_err(HostFault::new)?
                .balance,
        ))
    }

    fn transfer(
        &mut self,
        to: &[u8; 20],
        amount: &[u8; 32],
    ) -> Result<Result<(), TransferError>, HostFault> {
        let amount = U256::from_big_endian(amount);
        let moved = move_value(self.scope.state, &self.me(), &Address::from(*to), amount)
            .map_err(HostFault::new)?;
        Ok(if moved {
            Ok(())
        } else {
            Err(TransferError::InsufficientFunds)
        })
    }

    fn emit_event(
        &mut self,
        topic: &[u8],
        data: &[u8],
    ) -> Result<Result<(), EventError>, HostFault> {
        if !self.scope.budget.take((topic.len() + data.len()) as u64) {
            return Ok(Err(EventError::LimitReached));
        }
        self.scope.events.push(Event {
            contract: self.me(),
            topic: topic.to_vec(),
            data: data.to_vec(),
            reverted: false,
        });
        Ok(Ok(()))
    }

    /// A failed call reaches the caller as a code only: the error code, plus the callee's
    /// return data (its encoded typed error, if it set one). No message text, so neither what
    /// the caller sees nor what reading it costs depends on any wording.
    fn call_contract(&mut self, request: CallRequest) -> Result<CallResult, HostFault> {
        let refuse = |code: i32| CallResult {
            code,
            gas_used: 0,
            data: Vec::new(),
        };
        let target = Address::from(request.to);
        if self.stack.len() >= self.env.params.max_call_depth as usize {
            return Ok(refuse(error_code::DEPTH_EXCEEDED));
        }
        if !self.env.params.allow_reentrancy && self.stack.contains(&target) {
            return Ok(refuse(error_code::REENTRANCY));
        }
        let me = self.me();
        let frame = Frame {
            caller: me,
            target,
            method: &request.method,
            input: &request.args,
            value: U256::from_big_endian(&request.value),
            gas_limit: request.gas_limit,
        };
        let outcome =
            call(self.env, &mut self.scope, &self.stack, &frame).map_err(HostFault::new)?;
        let code = match &outcome.error {
            None => error_code::OK,
            Some(e) => match e.code {
                ErrorCode::NoContract => error_code::NO_CONTRACT,
                ErrorCode::NoSuchMethod => error_code::NO_METHOD,
                ErrorCode::InsufficientFunds => error_code::INSUFFICIENT_FUNDS,
                ErrorCode::OutOfGas => error_code::CALLEE_OUT_OF_GAS,
                _ => error_code::CALLEE_FAILED,
            },
        };
        Ok(CallResult {
            code,
            gas_used: outcome.gas_used,
            data: outcome.return_data,
        })
    }
}
