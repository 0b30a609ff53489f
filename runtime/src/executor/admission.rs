//! Admission: whether a transaction may execute at all, and what it owes up front.
//!
//! A transaction is admitted only if it is well formed, correctly signed, for this chain, the
//! sender's next nonce, within the gas limits, and the sender can pay its value plus the
//! maximum fee (`gas_limit × gas_price`). The stateless checks need only the transaction; the
//! stateful ones read the sender's account, so a store fault there is a node fault
//! ([`ApplyError::Store`]), never a bad transaction.

use super::{ApplyError, Executor};
use crate::layout::account;
use crate::tx::{Payload, SignedTransaction};
use crate::types::U256;
use chainvm_state::StateReader;

/// Why a transaction was refused before execution. A refused transaction changes nothing and
/// has no receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// Asks for more gas than a block holds (or than is left in the block being built).
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

/// What admission established about a transaction: what buying its gas takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Admitted {
    /// Gas charged before the payload runs.
    pub intrinsic: u64,
    /// `gas_limit × gas_price`, taken up front and partly refunded after.
    pub max_fee: U256,
}

impl Executor<'_> {
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
        check_form(&tx.body.payload)?;
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

    /// Checks against the sender's account: nonce and funds. Returns the maximum fee
    /// (`gas_limit × gas_price`, which the funds check proved affordable). A transaction the
    /// account refuses is [`ApplyError::Admission`]; a store that cannot be read is
    /// [`ApplyError::Store`].
    pub fn check_stateful<R: StateReader>(
        &self,
        state: &R,
        tx: &SignedTransaction,
    ) -> Result<U256, ApplyError> {
        let sender = account(state, &tx.sender())?;
        let t = &tx.body;
        if t.nonce < sender.nonce {
            return Err(AdmissionError::NonceTooLow {
                expected: sender.nonce,
                got: t.nonce,
            }
            .into());
        }
        if t.nonce > sender.nonce {
            return Err(AdmissionError::NonceGap {
                expected: sender.nonce,
                got: t.nonce,
            }
            .into());
        }
        match (t.max_fee(), t.max_cost()) {
            (Some(fee), Some(needed)) if needed <= sender.balance => Ok(fee),
            (_, needed) => Err(AdmissionError::InsufficientFunds {
                needed: needed.unwrap_or(U256::MAX),
                available: sender.balance,
            }
            .into()),
        }
    }

    /// Both admission phases, stateless first: the intrinsic gas and the maximum fee.
    pub(super) fn admit<R: StateReader>(
        &self,
        state: &R,
        tx: &SignedTransaction,
        encoded_len: usize,
        check_signature: bool,
    ) -> Result<Admitted, ApplyError> {
        let intrinsic = self.check_stateless(tx, encoded_len, check_signature)?;
        let max_fee = self.check_stateful(state, tx)?;
        Ok(Admitted { intrinsic, max_fee })
    }
}

/// Field rules of a payload: a method name of 1 to 256 bytes, deploy code present, a
/// positive staking amount.
fn check_form(payload: &Payload) -> Result<(), AdmissionError> {
    match payload {
        Payload::Call { method, .. } if method.is_empty() || method.len() > 256 => Err(
            AdmissionError::Malformed("method name must be 1 to 256 bytes".into()),
        ),
        Payload::Deploy { code, .. } if code.is_empty() => {
            Err(AdmissionError::Malformed("deploy without code".into()))
        }
        Payload::Stake { amount, .. }
        | Payload::Unstake { amount, .. }
        | Payload::RegisterValidator { amount, .. }
            if amount.is_zero() =>
        {
            Err(AdmissionError::Malformed(
                "stake amount must be positive".into(),
            ))
        }
        _ => Ok(()),
    }
}
