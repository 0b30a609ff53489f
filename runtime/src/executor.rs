//! The one place where execution rules live: admission checks, intrinsic gas, fee payment,
//! refunds and revert.
//!
//! A transaction is admitted only if it is well formed, correctly signed, for this chain, the
//! sender's next nonce, within the gas limits, and the sender can pay its value plus the
//! maximum fee (`gas_limit × gas_price`). Once admitted it always produces a receipt: the
//! maximum fee is taken and the nonce incremented first, outside the checkpoint; the payload
//! then runs inside it. On failure everything the payload did is reverted (its writes and its
//! value transfers) but the fee for the gas used stays paid. Unused gas is refunded and the fee
//! goes to the block's proposer.

use crate::host::{
    self, BlockContext, CallOutcome, CallScope, Env, EventBudget, Frame, StorageStats,
    load_contract,
};
use crate::layout::{self, account, set_account};
use crate::params::ChainParams;
use crate::receipt::{ErrorDetail, Event, EvidenceFault, ExecError, GasReport, Receipt, Status};
use crate::staking;
use crate::state::{Overlay, StateReader, StoreError};
use crate::tx::{Payload, SignedTransaction};
use crate::types::{Address, H256, U256, contract_address, keccak};
use chainvm_vm::{Vm, VmError};
use std::cell::Cell;

/// Name of the constructor entry point run at deploy.
pub const CONSTRUCTOR: &str = "init";

/// Why a transaction was refused before execution. A refused transaction changes nothing and
/// has no receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The bytes do not decode as a transaction, or a field is unusable.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Larger than the chain allows.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not match the public key and content.
    #[error("bad signature")]
    BadSignature,
    /// Signed for another chain.
    #[error("wrong chain id {got}, this chain is {expected}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// A nonce already used: a replay.
    #[error("nonce {got} already used (next nonce is {expected})")]
    NonceTooLow {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// A nonce ahead of the sender's next one.
    #[error("nonce {got} is ahead of the next nonce {expected}")]
    NonceGap {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The sender cannot pay value plus maximum fee.
    #[error("insufficient funds: need {needed} (value + gas limit x gas price), have {available}")]
    InsufficientFunds {
        /// Value plus maximum fee.
        needed: U256,
        /// The sender's balance.
        available: U256,
    },
    /// Asks for more gas than a block holds.
    #[error("gas limit {limit} exceeds the block gas limit {max}")]
    GasLimitTooHigh {
        /// Requested.
        limit: u64,
        /// The block limit.
        max: u64,
    },
    /// Not even enough gas for the intrinsic cost.
    #[error("gas limit {limit} is below the intrinsic cost {needed}")]
    GasLimitTooLow {
        /// Requested.
        limit: u64,
        /// Intrinsic gas of this transaction.
        needed: u64,
    },
}

/// Applying a transaction failed: either it was refused, or the node itself failed (which
/// must abort the block, never become a receipt).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Refused before execution.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    /// A storage or VM fault.
    #[error("node fault: {0}")]
    Fault(String),
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Fault(e.to_string())
    }
}

impl From<VmError> for ApplyError {
    fn from(e: VmError) -> Self {
        ApplyError::Fault(e.to_string())
    }
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

    /// Decodes a transaction received as bytes: oversized or malformed input is refused.
    pub fn decode(&self, bytes: &[u8]) -> Result<SignedTransaction, AdmissionError> {
        if bytes.len() > self.params.max_tx_size {
            return Err(AdmissionError::TooLarge {
                size: bytes.len(),
                max: self.params.max_tx_size,
            });
        }
        SignedTransaction::decode(bytes).map_err(|e| AdmissionError::Malformed(e.to_string()))
    }

    /// Intrinsic gas of a transaction of `encoded_len` bytes.
    pub fn intrinsic_gas(&self, tx: &SignedTransaction, encoded_len: usize) -> u64 {
        let c = &self.params.intrinsic;
        let code = match &tx.body.payload {
            Payload::Deploy { code, .. } => code.len() as u64,
            _ => 0,
        };
        c.base
            .saturating_add(c.per_byte.saturating_mul(encoded_len as u64))
            .saturating_add(c.deploy_per_code_byte.saturating_mul(code))
    }

    /// Checks that need no state: size, form, chain, gas limits and (if `check_signature`)
    /// the signature. Returns the intrinsic gas.
    pub fn check_stateless(
        &self,
        tx: &SignedTransaction,
        encoded_len: usize,
        check_signature: bool,
    ) -> Result<u64, AdmissionError> {
        let p = self.params;
        if encoded_len > p.max_tx_size {
            return Err(AdmissionError::TooLarge {
                size: encoded_len,
                max: p.max_tx_size,
            });
        }
        match &tx.body.payload {
            Payload::Call { method, .. } if method.is_empty() || method.len() > 256 => {
                return Err(AdmissionError::Malformed(
                    "method name must be 1 to 256 bytes".into(),
                ));
            }
            Payload::Deploy { code, .. } if code.is_empty() => {
                return Err(AdmissionError::Malformed("deploy without code".into()));
            }
            Payload::Stake { amount, .. }
            | Payload::Unstake { amount, .. }
            | Payload::RegisterValidator { amount, .. }
                if amount.is_zero() =>
            {
                return Err(AdmissionError::Malformed(
                    "stake amount must be positive".into(),
                ));
            }
            _ => {}
        }
        if tx.body.chain_id != p.chain_id {
            return Err(AdmissionError::WrongChainId {
                expected: p.chain_id,
                got: tx.body.chain_id,
            });
        }
        if tx.body.gas_limit > p.block_gas_limit {
            return Err(AdmissionError::GasLimitTooHigh {
                limit: tx.body.gas_limit,
                max: p.block_gas_limit,
            });
        }
        let intrinsic = self.intrinsic_gas(tx, encoded_len);
        if tx.body.gas_limit < intrinsic {
            return Err(AdmissionError::GasLimitTooLow {
                limit: tx.body.gas_limit,
                needed: intrinsic,
            });
        }
        if check_signature && !tx.verify_signature() {
            return Err(AdmissionError::BadSignature);
        }
        Ok(intrinsic)
    }

    /// Checks against the sender's account: nonce and funds.
    pub fn check_stateful<R: StateReader>(
        &self,
        state: &R,
        tx: &SignedTransaction,
    ) -> Result<(), AdmissionError> {
        let sender =
            account(state, &tx.sender()).map_err(|e| AdmissionError::Malformed(e.to_string()))?;
        let t = &tx.body;
        if t.nonce < sender.nonce {
            return Err(AdmissionError::NonceTooLow {
                expected: sender.nonce,
                got: t.nonce,
            });
        }
        if t.nonce > sender.nonce {
            return Err(AdmissionError::NonceGap {
                expected: sender.nonce,
                got: t.nonce,
            });
        }
        let needed = max_fee(t.gas_limit, t.gas_price).and_then(|fee| fee.checked_add(t.value()));
        match needed {
            Some(needed) if needed <= sender.balance => Ok(()),
            _ => Err(AdmissionError::InsufficientFunds {
                needed: needed.unwrap_or(U256::MAX),
                available: sender.balance,
            }),
        }
    }

    /// Admits and executes one transaction, returning its receipt. On `Err` the overlay is
    /// unchanged.
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
        let encoded = tx.encode();
        let intrinsic = self.check_stateless(tx, encoded.len(), check_signature)?;
        self.check_stateful(&*state, tx)?;
        let t = &tx.body;
        let sender = tx.sender();
        let tx_hash = keccak(&encoded);

        // Buy all the gas and use the nonce, outside the checkpoint: these stay either way.
        let max_fee = max_fee(t.gas_limit, t.gas_price)
            .ok_or_else(|| ApplyError::Fault("fee overflow".into()))?;
        let mut acct = account(&*state, &sender)?;
        acct.balance -= max_fee;
        acct.nonce += 1;
        set_account(state, &sender, &acct);

        let checkpoint = state.checkpoint();
        let mut events: Vec<Event> = Vec::new();
        let mut stats = StorageStats::default();
        let mut budget = EventBudget::new(self.params, self.block_event_bytes.get());
        let mut report = GasReport {
            intrinsic,
            ..GasReport::default()
        };
        let env = Env {
            vm: self.vm,
            params: self.params,
            block,
        };
        let exec_limit = t.gas_limit - intrinsic;
        let mut contract_created = None;
        let outcome = {
            let mut scope = CallScope {
                state: &mut *state,
                events: &mut events,
                stats: &mut stats,
                budget: &mut budget,
            };
            match &t.payload {
                Payload::Transfer { to, amount } => {
                    host::move_value(scope.state, &sender, to, *amount)?;
                    CallOutcome::ok()
                }
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
                    host::call(&env, &mut scope, &[], &frame)?
                }
                Payload::Deploy { code, args } => {
                    let address = contract_address(&sender, t.nonce);
                    contract_created = Some(address);
                    self.deploy(&env, &mut scope, sender, address, code, args, exec_limit)?
                }
                Payload::Stake { validator, amount } => {
                    staked(staking::delegate(scope.state, &sender, validator, *amount)?)
                }
                Payload::RegisterValidator {
                    public_key,
                    commission_bps,
                    amount,
                } => staked(staking::register(
                    scope.state,
                    &sender,
                    *public_key,
                    *commission_bps,
                    *amount,
                    &self.params.registration,
                )?),
                Payload::ReportDoubleSign { evidence } => {
                    let offender = evidence.a.header.proposer;
                    let key = staking::validator(&*scope.state, &offender)?.map(|v| v.public_key);
                    match key.map(|k| evidence.check(&k)) {
                        None => CallOutcome::failed(ErrorDetail::InvalidEvidence(
                            EvidenceFault::NotAValidator,
                        )),
                        Some(Err(why)) => CallOutcome::failed(ErrorDetail::InvalidEvidence(why)),
                        Some(Ok(())) => {
                            let height = evidence.a.header.height;
                            match staking::slash(
                                scope.state,
                                &offender,
                                height,
                                self.params.slash_bps,
                            )? {
                                Some(_) => CallOutcome::ok(),
                                None => CallOutcome::failed(ErrorDetail::InvalidEvidence(
                                    EvidenceFault::AlreadySlashed,
                                )),
                            }
                        }
                    }
                }
                Payload::Unstake { validator, amount } => {
                    let release = block.height + self.params.unbonding_period;
                    staked(staking::undelegate(
                        scope.state,
                        &sender,
                        validator,
                        *amount,
                        release,
                    )?)
                }
            }
        };
        if outcome.error.is_some() {
            state.revert(checkpoint);
            for e in &mut events {
                e.reverted = true;
            }
        }
        report.add_execution(&outcome.gas);
        report.storage_bytes_read = stats.read;
        report.storage_bytes_written = stats.written;
        report.code_hash = outcome.code_hash;
        let gas_used = intrinsic + outcome.gas_used.min(exec_limit);
        report.total = gas_used;

        // Refund unused gas; pay the proposer for what was used.
        let mut acct = account(&*state, &sender)?;
        acct.balance += U256::from(t.gas_limit - gas_used) * t.gas_price;
        set_account(state, &sender, &acct);
        let mut proposer = account(&*state, &block.proposer)?;
        proposer.balance += U256::from(gas_used) * t.gas_price;
        set_account(state, &block.proposer, &proposer);

        self.block_event_bytes
            .set(self.block_event_bytes.get().saturating_add(budget.used));
        let success = outcome.error.is_none();
        Ok(Receipt {
            tx_hash,
            status: if success {
                Status::Success
            } else {
                Status::Failed
            },
            gas_used,
            gas: report,
            return_data: outcome.return_data,
            events,
            contract_address: contract_created.filter(|_| success),
            error: outcome.error,
        })
    }

    /// Validates and stores code at `address`, then runs its constructor if it has one.
    #[allow(clippy::too_many_arguments)]
    fn deploy<R: StateReader>(
        &self,
        env: &Env<'_>,
        scope: &mut CallScope<'_, R>,
        deployer: Address,
        address: Address,
        code: &[u8],
        args: &[u8],
        gas_limit: u64,
    ) -> Result<CallOutcome, ApplyError> {
        let code_hash = H256(chainvm_vm::code_hash(code));
        let with_hash = |mut o: CallOutcome| {
            o.code_hash = Some(code_hash);
            o
        };
        if account(&*scope.state, &address)?.code_hash.is_some() {
            return Ok(CallOutcome::failed(ErrorDetail::ContractExists { address }));
        }
        let contract = match self.vm.load(&code_hash.0, code) {
            Ok(c) => c,
            Err(VmError::Validation(e)) => {
                // The rule and its numbers only: the validator's (and wasmparser's) message
                // stays out of the receipt.
                return Ok(CallOutcome::failed(ErrorDetail::InvalidCode(
                    e.rejection().into(),
                )));
            }
            Err(e) => return Err(e.into()),
        };
        scope.state.set(&layout::code_key(&code_hash), code);
        let mut acct = account(&*scope.state, &address)?;
        acct.code_hash = Some(code_hash);
        set_account(scope.state, &address, &acct);
        if contract.has_entry(CONSTRUCTOR) {
            let frame = Frame {
                caller: deployer,
                target: address,
                method: CONSTRUCTOR,
                input: args,
                value: U256::zero(),
                gas_limit,
            };
            Ok(with_hash(host::execute_frame(
                env,
                scope,
                &[],
                &contract,
                &frame,
            )?))
        } else if !args.is_empty() {
            Ok(with_hash(CallOutcome::failed(ErrorDetail::NoConstructor)))
        } else {
            Ok(with_hash(CallOutcome::ok()))
        }
    }

    /// Runs a read-only call: executes against `state` and discards every write.
    pub fn view<R: StateReader>(
        &self,
        state: &R,
        block: &BlockContext,
        call: &ViewCall<'_>,
    ) -> Result<(Result<Vec<u8>, ExecError>, GasReport), ApplyError> {
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
        let env = Env {
            vm: self.vm,
            params: self.params,
            block,
        };
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
        let out = host::call(&env, &mut scope, &[], &frame)?;
        let mut report = GasReport::default();
        report.add_execution(&out.gas);
        report.total = out.gas_used;
        report.storage_bytes_read = stats.read;
        report.storage_bytes_written = stats.written;
        report.code_hash = out.code_hash;
        Ok((out.error.map_or(Ok(out.return_data), Err), report))
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

/// The outcome of a staking payload.
fn staked(r: Result<(), ErrorDetail>) -> CallOutcome {
    match r {
        Ok(()) => CallOutcome::ok(),
        Err(detail) => CallOutcome::failed(detail),
    }
}

/// `gas_limit × gas_price`, or `None` on overflow.
pub fn max_fee(gas_limit: u64, gas_price: U256) -> Option<U256> {
    gas_price.checked_mul(U256::from(gas_limit))
}
