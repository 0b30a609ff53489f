//! The one place where execution rules live, as the phases [`Executor::apply`] runs in order:
//!
//! 1. **Admit** (`admission.rs`): stateless checks (size, form, chain, gas limits, signature),
//!    then stateful ones (nonce, funds for value plus the maximum fee `gas_limit × gas_price`).
//!    A refused transaction changes nothing and has no receipt.
//! 2. **Buy gas**: the maximum fee is taken and the nonce incremented, outside the checkpoint:
//!    these stay whatever the payload does.
//! 3. **Execute** the payload inside a checkpoint, one function per kind (`payloads.rs`; the
//!    staking ones in `staking/payloads.rs`). On failure everything the payload did is reverted
//!    (its writes and its value transfers) and its events are kept, marked reverted; the fee
//!    for the gas used stays paid.
//! 4. **Settle**: unused gas is refunded and the fee for the gas used goes to the block's
//!    proposer.
//! 5. **Receipt**: status, gas used and its [`GasReport`], return data, events.
//!
//! Around a block's transactions, [`BlockExecution`] runs the begin-block and end-block rules
//! and keeps the block's gas (`block.rs`).

mod admission;
mod block;
mod payloads;

pub use admission::AdmissionError;
pub use block::BlockExecution;

use crate::host::{
    self, BlockContext, CallOutcome, CallScope, Env, EventBudget, Frame, StorageStats,
    load_contract,
};
use crate::layout::{account, set_account};
use crate::params::ChainParams;
use crate::receipt::{Event, ExecError, GasReport, Receipt, Status};
use crate::staking::payloads as staking;
use crate::tx::{Payload, SignedTransaction};
use crate::types::{Address, H256, U256, contract_address, keccak};
use chainvm_state::{Overlay, StateReader, StoreError};
use chainvm_vm::{Frame as ProfileFrame, GasProfile, Vm, VmError};
use std::cell::Cell;

/// Name of the constructor entry point run at deploy (defined once in the host ABI).
pub use chainvm_abi::CONSTRUCTOR;

/// Applying a transaction failed: either it was refused, or the node itself failed (which
/// must abort the block, never become a receipt).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Refused before execution.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    /// The state could not be read (I/O, corruption): a node fault.
    #[error("node fault: {0}")]
    Store(#[from] StoreError),
    /// The VM failed through no contract's doing (a host fault, missing code): a node fault.
    #[error("node fault: {0}")]
    Vm(#[from] VmError),
}

/// Applies transactions to a state overlay.
///
/// One executor applies one block: it counts the event bytes of the receipts it produced, and
/// each transaction may emit at most what is left of `max_event_bytes_per_block` (see
/// [`ChainParams::max_event_bytes_per_block`]). Use a new executor for every block.
pub struct Executor<'a> {
    vm: &'a Vm,
    params: &'a ChainParams,
    block_event_bytes: Cell<u64>,
}

/// What the payload phase leaves for settlement and the receipt.
struct Execution {
    /// How the payload ended (reverted already if it failed).
    outcome: CallOutcome,
    /// The events it emitted, reverted ones included.
    events: Vec<Event>,
    /// Its contract storage traffic.
    stats: StorageStats,
    /// Event bytes it used from the block's allowance.
    event_bytes: u64,
    /// The address a deploy created its contract at.
    contract_created: Option<Address>,
}

impl<'a> Executor<'a> {
    /// An executor for a chain with these parameters, at the start of a block.
    pub fn new(vm: &'a Vm, params: &'a ChainParams) -> Self {
        Executor {
            vm,
            params,
            block_event_bytes: Cell::new(0),
        }
    }

    /// Event bytes (topic + data, reverted events included) of the receipts produced so far.
    pub fn block_event_bytes(&self) -> u64 {
        self.block_event_bytes.get()
    }

    /// Admits and executes one transaction, returning its receipt. On
    /// [`ApplyError::Admission`] the overlay is unchanged; after a fault it is partly applied
    /// and must be discarded (the block aborts).
    pub fn apply<R: StateReader>(
        &self,
        state: &mut Overlay<R>,
        block: &BlockContext,
        tx: &SignedTransaction,
    ) -> Result<Receipt, ApplyError> {
        self.apply_checked(state, block, tx, true)
    }

    /// Like [`Executor::apply`], skipping the signature check when the caller has already
    /// verified it (e.g. in a batch).
    pub fn apply_checked<R: StateReader>(
        &self,
        state: &mut Overlay<R>,
        block: &BlockContext,
        tx: &SignedTransaction,
        check_signature: bool,
    ) -> Result<Receipt, ApplyError> {
        Ok(self.apply_with(state, block, tx, check_signature, false)?.0)
    }

    /// Like [`Executor::apply`], with the gas profile of a contract call or deploy: the
    /// top-level execution (a call's method, a deploy's constructor) runs on a profiling build
    /// (`chainvm_vm::Vm::load_profiling`), whose gas is the consensus build's exactly, and
    /// the transaction's intrinsic gas is the root frame [`ProfileFrame::Intrinsic`], so the
    /// profile's total is the receipt's `gas.total`. Nested calls are not profiled (their gas
    /// is under the caller's `call_contract` frame). `None` for other payloads. For dry runs:
    /// a profiling build is compiled on first use and kept in memory only.
    pub fn apply_profiled<R: StateReader>(
        &self,
        state: &mut Overlay<R>,
        block: &BlockContext,
        tx: &SignedTransaction,
    ) -> Result<(Receipt, Option<GasProfile>), ApplyError> {
        self.apply_with(state, block, tx, true, true)
    }

    fn apply_with<R: StateReader>(
        &self,
        state: &mut Overlay<R>,
        block: &BlockContext,
        tx: &SignedTransaction,
        check_signature: bool,
        profile: bool,
    ) -> Result<(Receipt, Option<GasProfile>), ApplyError> {
        let encoded = tx.encode();
        let sender = tx.sender();
        let admitted = self.admit(&*state, tx, encoded.len(), check_signature)?;
        buy_gas(state, &sender, admitted.max_fee)?;
        let exec_limit = tx.body.gas_limit - admitted.intrinsic;
        let mut run = self.execute(state, block, tx, sender, exec_limit, profile)?;
        let gas_used = admitted.intrinsic + run.outcome.gas_used.min(exec_limit);
        settle(state, block, tx, &sender, gas_used)?;
        self.block_event_bytes
            .set(self.block_event_bytes.get().saturating_add(run.event_bytes));
        let runs_code = matches!(
            tx.body.payload,
            Payload::Call { .. } | Payload::Deploy { .. }
        );
        let profile = (profile && runs_code).then(|| {
            let mut p = run.outcome.profile.take().unwrap_or_default();
            p.add(vec![ProfileFrame::Intrinsic], admitted.intrinsic);
            p
        });
        let receipt = receipt(keccak(&encoded), admitted.intrinsic, gas_used, run);
        Ok((receipt, profile))
    }

    /// What every call of a transaction in `block` shares; `profile` runs the top-level call
    /// profiled.
    fn env<'e>(&'e self, block: &'e BlockContext, profile: bool) -> Env<'e> {
        Env {
            vm: self.vm,
            params: self.params,
            block,
            profile,
        }
    }

    /// The payload phase: runs the payload inside a checkpoint, reverting it (its events
    /// marked reverted) if it fails.
    fn execute<R: StateReader>(
        &self,
        state: &mut Overlay<R>,
        block: &BlockContext,
        tx: &SignedTransaction,
        sender: Address,
        exec_limit: u64,
        profile: bool,
    ) -> Result<Execution, ApplyError> {
        let env = self.env(block, profile);
        let mut events = Vec::new();
        let mut stats = StorageStats::default();
        let mut budget = EventBudget::new(self.params, self.block_event_bytes.get());
        let checkpoint = state.checkpoint();
        let mut scope = CallScope {
            state,
            events: &mut events,
            stats: &mut stats,
            budget: &mut budget,
        };
        let (outcome, contract_created) = dispatch(&env, &mut scope, tx, sender, exec_limit)?;
        if outcome.error.is_some() {
            scope.revert_to(checkpoint, 0);
        }
        Ok(Execution {
            outcome,
            events,
            stats,
            event_bytes: budget.used,
            contract_created,
        })
    }

    /// Runs a read-only call: executes against `state` and discards every write.
    pub fn view<R: StateReader>(
        &self,
        state: &R,
        block: &BlockContext,
        call: &ViewCall<'_>,
    ) -> Result<ViewOutcome, ApplyError> {
        let ViewCall {
            caller,
            contract,
            method,
            args,
            gas_limit,
        } = *call;
        let mut overlay = Overlay::new(state);
        let mut events = Vec::new();
        let mut stats = StorageStats::default();
        let mut budget = EventBudget::new(self.params, 0);
        let mut scope = CallScope {
            state: &mut overlay,
            events: &mut events,
            stats: &mut stats,
            budget: &mut budget,
        };
        let frame = Frame {
            caller,
            target: contract,
            method,
            input: args,
            value: U256::zero(),
            gas_limit,
        };
        let out = host::call(&self.env(block, false), &mut scope, &[], &frame)?;
        let report = gas_report(0, out.gas_used, &out, &stats);
        let (result, error_data) = match out.error {
            None => (Ok(out.return_data), Vec::new()),
            Some(e) => (Err(e), out.return_data),
        };
        Ok(ViewOutcome {
            result,
            gas: report,
            error_data,
        })
    }

    /// Checks that `code` would deploy, without a transaction: the validation error if not.
    pub fn check_code(&self, code: &[u8]) -> Result<(), VmError> {
        self.vm.validate(code).map(|_| ())
    }

    /// Loads a deployed contract's compiled module.
    pub fn contract<R: StateReader>(
        &self,
        state: &Overlay<R>,
        code_hash: &H256,
    ) -> Result<std::sync::Arc<chainvm_vm::Contract>, VmError> {
        load_contract(self.vm, state, code_hash)
    }
}

/// The buy-gas phase: takes the maximum fee and uses the nonce. Runs outside the payload's
/// checkpoint, so both stay whatever the payload does.
fn buy_gas<R: StateReader>(
    state: &mut Overlay<R>,
    sender: &Address,
    max_fee: U256,
) -> Result<(), StoreError> {
    let mut acct = account(&*state, sender)?;
    acct.balance -= max_fee;
    acct.nonce += 1;
    set_account(state, sender, &acct);
    Ok(())
}

/// Runs the payload, one function per kind. Returns its outcome and, for a deploy, the
/// address of the contract it creates.
fn dispatch<R: StateReader>(
    env: &Env<'_>,
    scope: &mut CallScope<'_, R>,
    tx: &SignedTransaction,
    sender: Address,
    exec_limit: u64,
) -> Result<(CallOutcome, Option<Address>), ApplyError> {
    let t = &tx.body;
    let outcome = match &t.payload {
        Payload::Transfer { to, amount } => payloads::transfer(scope, &sender, to, *amount)?,
        Payload::Call {
            contract,
            method,
            args,
            value,
        } => {
            let frame = Frame {
                caller: sender,
                target: *contract,
                method,
                input: args,
                value: *value,
                gas_limit: exec_limit,
            };
            payloads::call(env, scope, &frame)?
        }
        Payload::Deploy { code, args } => {
            let address = contract_address(&sender, t.nonce);
            let outcome = payloads::deploy(env, scope, sender, address, code, args, exec_limit)?;
            return Ok((outcome, Some(address)));
        }
        Payload::Stake { validator, amount } => {
            staking::stake(scope.state, &sender, validator, *amount)?
        }
        Payload::Unstake { validator, amount } => staking::unstake(
            scope.state,
            env.params,
            env.block.height,
            &sender,
            validator,
            *amount,
        )?,
        Payload::RegisterValidator {
            public_key,
            commission_bps,
            amount,
        } => staking::register_validator(
            scope.state,
            env.params,
            &sender,
            *public_key,
            *commission_bps,
            *amount,
        )?,
        Payload::ReportDoubleSign { evidence } => {
            staking::report_double_sign(scope.state, env.params, evidence)?
        }
        Payload::ReportDoubleVote { evidence } => {
            staking::report_double_vote(scope.state, env.params, evidence)?
        }
    };
    Ok((outcome, None))
}

/// The settle phase: refunds the unused gas to the sender and pays the proposer for the gas
/// used.
fn settle<R: StateReader>(
    state: &mut Overlay<R>,
    block: &BlockContext,
    tx: &SignedTransaction,
    sender: &Address,
    gas_used: u64,
) -> Result<(), StoreError> {
    let t = &tx.body;
    let mut acct = account(&*state, sender)?;
    acct.balance += U256::from(t.gas_limit - gas_used) * t.gas_price;
    set_account(state, sender, &acct);
    let mut proposer = account(&*state, &block.proposer)?;
    proposer.balance += U256::from(gas_used) * t.gas_price;
    set_account(state, &block.proposer, &proposer);
    Ok(())
}

/// The receipt of an executed transaction that used `gas_used` gas, `intrinsic` of it before
/// the payload.
fn receipt(tx_hash: H256, intrinsic: u64, gas_used: u64, run: Execution) -> Receipt {
    let Execution {
        outcome,
        events,
        stats,
        contract_created,
        ..
    } = run;
    let gas = gas_report(intrinsic, gas_used, &outcome, &stats);
    let success = outcome.error.is_none();
    Receipt {
        tx_hash,
        status: if success {
            Status::Success
        } else {
            Status::Failed
        },
        gas_used,
        gas,
        return_data: outcome.return_data,
        events,
        contract_address: contract_created.filter(|_| success),
        error: outcome.error,
    }
}

/// The gas report of one call tree: `total` gas used, `intrinsic` of it charged before the
/// tree ran, the VM's breakdown of the rest and the storage bytes the tree moved. Shared by
/// receipts and views, so both report gas the same way.
fn gas_report(
    intrinsic: u64,
    total: u64,
    outcome: &CallOutcome,
    stats: &StorageStats,
) -> GasReport {
    let mut report = GasReport {
        total,
        intrinsic,
        storage_bytes_read: stats.read,
        storage_bytes_written: stats.written,
        code_hash: outcome.code_hash,
        ..GasReport::default()
    };
    report.add_execution(&outcome.gas);
    report
}

/// What a read-only call returned and what it cost. Its borsh encoding is the node's
/// `chainvm_view` `raw` field.
#[derive(Debug, Clone, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct ViewOutcome {
    /// The return data, or why the call failed.
    pub result: Result<Vec<u8>, ExecError>,
    /// The gas it used, by category.
    pub gas: GasReport,
    /// What a failed call left as return data: a typed error, encoded (what a receipt's
    /// `return_data` holds on failure); empty on success.
    pub error_data: Vec<u8>,
}

/// A read-only call: no transaction, no fee, no block.
#[derive(Debug, Clone, Copy)]
pub struct ViewCall<'a> {
    /// Who the contract sees as caller.
    pub caller: Address,
    /// The contract.
    pub contract: Address,
    /// The method.
    pub method: &'a str,
    /// Encoded arguments.
    pub args: &'a [u8],
    /// Gas available.
    pub gas_limit: u64,
}
