//! Why a transaction failed, as consensus data: error codes and typed fields only.
//!
//! Receipts are hashed into `receipts_root`, so nothing in them may depend on a dependency's
//! wording (wasmtime's trap text, wasmparser's messages) or on `Debug` formatting. An
//! [`ExecError`] therefore carries an [`ErrorCode`] and an [`ErrorDetail`] made of chainvm's
//! own enums, numbers, addresses and data supplied by the transaction or the contract (a
//! panic's message and location, a method name). Human messages are rendered from these
//! fields by `Display` (and in JSON as an extra `message` field), outside hashed data.

use crate::types::{Address, U256, codec};
use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_vm::{Rejection, TrapKind, ValidationRule};
use serde::{Deserialize, Serialize};

/// Machine-readable failure kinds. Borsh-encoded by position: append only.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Ran out of gas.
    OutOfGas,
    /// The contract panicked or returned an error.
    ContractPanic,
    /// A wasm trap (division by zero, out-of-bounds access, stack overflow...).
    Trap,
    /// The contract has no such method.
    NoSuchMethod,
    /// No contract at the address.
    NoContract,
    /// The deployed code was rejected by validation.
    InvalidCode,
    /// Not enough balance or stake for the operation.
    InsufficientFunds,
    /// Double-sign evidence that does not hold (or was already used).
    InvalidEvidence,
    /// The transaction's or block's event bytes are used up.
    EventBytesExceeded,
    /// The address is not a registered validator.
    NoSuchValidator,
    /// A validator registration was refused.
    RegistrationRefused,
}

/// A wasm trap, by chainvm's own classification (mapped from the VM's [`TrapKind`] by an
/// explicit match, never from wasmtime's text). Borsh-encoded by position: append only.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TrapCode {
    /// The deterministic, instrumented stack budget was exceeded.
    StackOverflow,
    /// Out-of-bounds memory access.
    MemoryOutOfBounds,
    /// Integer division by zero.
    DivisionByZero,
    /// Integer overflow.
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

impl From<TrapKind> for TrapCode {
    fn from(k: TrapKind) -> Self {
        match k {
            TrapKind::StackOverflow => TrapCode::StackOverflow,
            TrapKind::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
            TrapKind::DivisionByZero => TrapCode::DivisionByZero,
            TrapKind::IntegerOverflow => TrapCode::IntegerOverflow,
            TrapKind::BadConversionToInteger => TrapCode::BadConversionToInteger,
            TrapKind::BadIndirectCall => TrapCode::BadIndirectCall,
            TrapKind::BadHostArgument => TrapCode::BadHostArgument,
            TrapKind::Other => TrapCode::Other,
        }
    }
}

impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrapCode::StackOverflow => "stack overflow (the deterministic stack limit)",
            TrapCode::MemoryOutOfBounds => "out-of-bounds memory access",
            TrapCode::DivisionByZero => "integer division by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::BadIndirectCall => "bad indirect call",
            TrapCode::BadHostArgument => "invalid host call argument",
            TrapCode::Other => "trap",
        })
    }
}

/// Where a contract says it panicked (supplied by the contract: deterministic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct SourceLocation {
    /// Source file.
    pub file: String,
    /// Line (0 if unknown).
    pub line: u32,
    /// Column (0 if unknown).
    pub column: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Which event-byte cap was reached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventScope {
    /// The transaction's own cap.
    Transaction,
    /// What was left of the block's cap.
    Block,
}

/// Why double-sign evidence (two headers, or two votes) was refused. Borsh codes follow the
/// order: new faults go at the end.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceFault {
    /// The accused proposer or voter is not a validator.
    NotAValidator,
    /// The two headers (or votes) are at different heights.
    HeightsDiffer,
    /// The two headers name different proposers (or the votes different voters).
    ProposersDiffer,
    /// The two headers are the same block (or the votes are for the same block).
    SameHeader,
    /// A signature is not the offender's.
    BadSignature,
    /// A double sign at this height was already slashed (by either form of evidence).
    AlreadySlashed,
    /// The two votes are in different rounds.
    RoundsDiffer,
    /// One vote is a prevote, the other a precommit.
    KindsDiffer,
}

impl std::fmt::Display for EvidenceFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EvidenceFault::NotAValidator => "the offender is not a validator",
            EvidenceFault::HeightsDiffer => "the two signed messages are at different heights",
            EvidenceFault::ProposersDiffer => "the two signed messages have different signers",
            EvidenceFault::SameHeader => "the two signed messages are for the same block",
            EvidenceFault::BadSignature => "a signature is not the offender's",
            EvidenceFault::AlreadySlashed => "this double sign was already slashed",
            EvidenceFault::RoundsDiffer => "the two votes are in different rounds",
            EvidenceFault::KindsDiffer => "the two votes are of different kinds",
        })
    }
}

/// Why a validator registration was refused.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationRefusal {
    /// Genesis limits registration to a list this key is not on.
    NotPermitted,
    /// The validator is already registered.
    AlreadyRegistered,
    /// The transaction is not signed with the consensus key it registers.
    KeyMismatch,
    /// The commission is outside the allowed range.
    CommissionOutOfRange,
}

impl std::fmt::Display for RegistrationRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegistrationRefusal::NotPermitted => "not permitted by genesis",
            RegistrationRefusal::AlreadyRegistered => "already registered",
            RegistrationRefusal::KeyMismatch => "not signed with the registered consensus key",
            RegistrationRefusal::CommissionOutOfRange => "commission out of range",
        })
    }
}

/// Borsh for [`ValidationRule`]: its stable `u16` code.
mod rule_codec {
    use super::ValidationRule;
    use borsh::io::{Error, ErrorKind, Read, Result, Write};
    use borsh::{BorshDeserialize, BorshSerialize};

    /// Writes the rule's code.
    pub fn serialize<W: Write>(v: &ValidationRule, w: &mut W) -> Result<()> {
        v.code().serialize(w)
    }

    /// Reads a code; unknown codes are refused.
    pub fn deserialize<R: Read>(r: &mut R) -> Result<ValidationRule> {
        let code = u16::deserialize_reader(r)?;
        ValidationRule::from_code(code)
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "unknown validation rule"))
    }
}

/// Deployed code that failed validation: the rule's stable code, numbers and names taken from
/// the module, never the validator's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct CodeRejection {
    /// The rule broken.
    #[borsh(
        serialize_with = "rule_codec::serialize",
        deserialize_with = "rule_codec::deserialize"
    )]
    pub rule: ValidationRule,
    /// The import (`module.name`) or export concerned.
    pub name: Option<String>,
    /// Index of the defined function concerned.
    pub func: Option<u32>,
    /// The size or count found (0 if none).
    pub found: u64,
    /// The limit (0 if none).
    pub max: u64,
}

impl From<Rejection> for CodeRejection {
    fn from(r: Rejection) -> Self {
        CodeRejection {
            rule: r.rule,
            name: r.name,
            func: r.func,
            found: r.found,
            max: r.max,
        }
    }
}

impl std::fmt::Display for CodeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = Rejection {
            rule: self.rule,
            name: self.name.clone(),
            func: self.func,
            found: self.found,
            max: self.max,
        };
        write!(f, "{r}")
    }
}

/// What exactly went wrong: typed fields only. Borsh-encoded by position: append only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorDetail {
    /// Ran out of gas.
    OutOfGas,
    /// The contract panicked with this message and location (both its own). A contract that
    /// returned a typed error panics this way too, with the encoded error as the receipt's
    /// return data.
    Panic {
        /// The contract's message.
        message: String,
        /// Where the contract says it panicked.
        location: Option<SourceLocation>,
    },
    /// The contract executed `unreachable` (a panic without a message).
    Unreachable,
    /// A wasm trap.
    Trap(TrapCode),
    /// An event was refused: the cap of `scope` (`limit` bytes) would have been exceeded.
    EventBytesExceeded {
        /// Which cap.
        scope: EventScope,
        /// Its size in bytes.
        limit: u64,
    },
    /// The contract has no such method.
    NoSuchMethod {
        /// The method asked for.
        method: String,
    },
    /// Constructor arguments were given but the contract has no constructor.
    NoConstructor,
    /// No contract at the address.
    NoContract {
        /// The address called.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        address: Address,
    },
    /// A contract already exists where the deploy would put one.
    ContractExists {
        /// Its address.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        address: Address,
    },
    /// The deployed code broke a validation rule.
    InvalidCode(CodeRejection),
    /// The balance is below what the operation needs.
    InsufficientBalance {
        /// What it needs.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        needed: U256,
        /// What there is.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        available: U256,
    },
    /// The bonded (or delegated) stake is below what the operation needs.
    InsufficientStake {
        /// What it needs.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        needed: U256,
        /// What is bonded.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        available: U256,
    },
    /// The address is not a registered validator.
    NoSuchValidator {
        /// The address named.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        address: Address,
    },
    /// A validator registration was refused.
    RegistrationRefused(RegistrationRefusal),
    /// Double-sign evidence was refused.
    InvalidEvidence(EvidenceFault),
    /// The delegated amount buys no share of the validator's pool (too small, or the pool
    /// was slashed to nothing).
    StakeTooSmall,
}

impl ErrorDetail {
    /// The failure kind this detail belongs to.
    pub fn code(&self) -> ErrorCode {
        match self {
            ErrorDetail::OutOfGas => ErrorCode::OutOfGas,
            ErrorDetail::Panic { .. } | ErrorDetail::Unreachable => ErrorCode::ContractPanic,
            ErrorDetail::Trap(_) => ErrorCode::Trap,
            ErrorDetail::EventBytesExceeded { .. } => ErrorCode::EventBytesExceeded,
            ErrorDetail::NoSuchMethod { .. } | ErrorDetail::NoConstructor => {
                ErrorCode::NoSuchMethod
            }
            ErrorDetail::NoContract { .. } => ErrorCode::NoContract,
            ErrorDetail::ContractExists { .. } | ErrorDetail::InvalidCode(_) => {
                ErrorCode::InvalidCode
            }
            ErrorDetail::InsufficientBalance { .. } | ErrorDetail::InsufficientStake { .. } => {
                ErrorCode::InsufficientFunds
            }
            ErrorDetail::NoSuchValidator { .. } => ErrorCode::NoSuchValidator,
            ErrorDetail::RegistrationRefused(_) => ErrorCode::RegistrationRefused,
            ErrorDetail::InvalidEvidence(_) => ErrorCode::InvalidEvidence,
            ErrorDetail::StakeTooSmall => ErrorCode::InsufficientFunds,
        }
    }
}

impl std::fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorDetail::OutOfGas => write!(f, "out of gas"),
            ErrorDetail::Panic { message, location } => {
                write!(f, "{message}")?;
                match location {
                    Some(l) => write!(f, " at {l}"),
                    None => Ok(()),
                }
            }
            ErrorDetail::Unreachable => write!(f, "unreachable executed"),
            ErrorDetail::Trap(t) => write!(f, "{t}"),
            ErrorDetail::EventBytesExceeded { scope, limit } => {
                let whose = match scope {
                    EventScope::Transaction => "the transaction's",
                    EventScope::Block => "the block's",
                };
                write!(f, "event bytes exceeded: {whose} limit of {limit} bytes")
            }
            ErrorDetail::NoSuchMethod { method } => write!(f, "contract has no method `{method}`"),
            ErrorDetail::NoConstructor => write!(
                f,
                "constructor arguments given but the contract has no `{}`",
                crate::executor::CONSTRUCTOR
            ),
            ErrorDetail::NoContract { address } => write!(f, "no contract at {address:?}"),
            ErrorDetail::ContractExists { address } => {
                write!(f, "a contract already exists at {address:?}")
            }
            ErrorDetail::InvalidCode(r) => write!(f, "{r}"),
            ErrorDetail::InsufficientBalance { needed, available } => {
                write!(f, "insufficient funds: need {needed}, have {available}")
            }
            ErrorDetail::InsufficientStake { needed, available } => {
                write!(f, "insufficient stake: need {needed}, bonded {available}")
            }
            ErrorDetail::NoSuchValidator { address } => {
                write!(f, "{address:?} is not a registered validator")
            }
            ErrorDetail::RegistrationRefused(r) => write!(f, "validator registration refused: {r}"),
            ErrorDetail::InvalidEvidence(e) => write!(f, "invalid double-sign evidence: {e}"),
            ErrorDetail::StakeTooSmall => {
                write!(f, "the amount buys no share of the validator's pool")
            }
        }
    }
}

/// Why a transaction failed: a code and typed detail, never host text.
///
/// JSON (serde) adds a `message` rendered by `Display` for readers; it is ignored when
/// reading back and is not part of the borsh encoding that receipts are hashed in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct ExecError {
    /// What kind of failure (always `detail.code()`).
    pub code: ErrorCode,
    /// What exactly.
    pub detail: ErrorDetail,
}

impl ExecError {
    /// The error for `detail`, with its code.
    pub fn new(detail: ErrorDetail) -> ExecError {
        ExecError {
            code: detail.code(),
            detail,
        }
    }

    /// The contract's panic message, if it panicked through `abort`.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.detail {
            ErrorDetail::Panic { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Where the contract says it panicked, if it did.
    pub fn location(&self) -> Option<&SourceLocation> {
        match &self.detail {
            ErrorDetail::Panic { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    /// The message, with the contract's methods listed when the one called does not exist
    /// (`methods` from the contract's ABI or entry points, looked up at display time).
    pub fn describe_with_methods(&self, methods: &[String]) -> String {
        match &self.detail {
            ErrorDetail::NoSuchMethod { .. } if !methods.is_empty() => {
                format!("{self} (it has: {})", methods.join(", "))
            }
            _ => self.to_string(),
        }
    }
}

impl From<ErrorDetail> for ExecError {
    fn from(detail: ErrorDetail) -> Self {
        ExecError::new(detail)
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.detail)
    }
}

impl Serialize for ExecError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ExecError", 3)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("detail", &self.detail)?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}
