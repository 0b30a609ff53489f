//! Test chainvm contracts from `cargo test`.
//!
//! [`compile_project`] builds the crate under test with the contract profile (the same
//! build `chainvm build` runs, so the same bytes and gas), once per test process;
//! [`TestChain`] deploys and calls it on an embedded in-memory [`Chain`] with ten funded dev
//! accounts, with JSON or borsh-typed arguments, and moves blocks and time. Pin gas with
//! insta: `insta::assert_yaml_snapshot!(call.receipt.gas)`.
//!
//! ```no_run
//! use chainvm_testing::{TestChain, compile_project, json};
//!
//! let wasm = compile_project(env!("CARGO_MANIFEST_DIR")).unwrap();
//! let mut t = TestChain::new();
//! let counter = t.deploy(0, &wasm, json!({"start": 1})).unwrap().address;
//! let bumped = t.call(0, counter, "bump", json!([])).unwrap();
//! assert!(bumped.receipt.is_success());
//! assert_eq!(bumped.value, json!(2));
//! t.advance_time(3600).unwrap();
//! ```

mod compile;
mod profile;

pub use chainvm_runtime::{
    Address, Called, Chain, ChainError, Deployed, GasProfile, GasReport, Keypair, Payload,
    ProfileFrame, Receipt, U256,
};
pub use compile::{Wasm, compile_project};
pub use profile::CallProfile;
pub use serde_json::{Value, json};

use std::ops::{Deref, DerefMut};
use thiserror::Error;

/// Why a test step failed.
#[derive(Debug, Error)]
pub enum TestingError {
    /// The contract crate did not build (the compiler's output is in the message).
    #[error("{0}")]
    Build(String),
    /// The chain refused or failed the step.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Arguments could not be encoded, or a result decoded.
    #[error("borsh: {0}")]
    Borsh(#[from] std::io::Error),
    /// No dev account with that index.
    #[error("no dev account {0} (there are {1})")]
    NoAccount(usize, usize),
    /// Drawing or writing a gas profile failed.
    #[error("gas profile: {0}")]
    Profile(String),
}

/// An in-memory chain with ten funded dev accounts, addressed by index (0 deploys by
/// default in the examples). Derefs to [`Chain`] for everything else: `view`, `transfer`,
/// `account`, `events`, `checkpoint`/`revert`, `subscribe`, ...
pub struct TestChain {
    chain: Chain,
    keys: Vec<Keypair>,
}

impl Deref for TestChain {
    type Target = Chain;
    fn deref(&self) -> &Chain {
        &self.chain
    }
}

impl DerefMut for TestChain {
    fn deref_mut(&mut self) -> &mut Chain {
        &mut self.chain
    }
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    /// A fresh in-memory dev chain (the same genesis as `chainvm init`'s accounts).
    ///
    /// # Panics
    /// If the in-memory chain cannot be created, which needs no disk and no input.
    pub fn new() -> TestChain {
        let (chain, keys) = Chain::builder()
            .dev_accounts()
            .in_memory()
            .unwrap_or_else(|e| panic!("creating an in-memory chain: {e}"));
        TestChain { chain, keys }
    }

    /// The key of dev account `i`.
    pub fn key(&self, i: usize) -> Result<&Keypair, TestingError> {
        self.keys
            .get(i)
            .ok_or(TestingError::NoAccount(i, self.keys.len()))
    }

    /// The address of dev account `i`.
    pub fn address(&self, i: usize) -> Result<Address, TestingError> {
        Ok(self.key(i)?.address())
    }

    /// The address of dev account `i` as JSON arguments spell it (`"0x…"`).
    pub fn address_json(&self, i: usize) -> Result<Value, TestingError> {
        Ok(Value::String(chainvm_runtime::types::hex(
            self.address(i)?.as_bytes(),
        )))
    }

    /// The balance of `address`.
    pub fn balance(&self, address: &Address) -> Result<U256, TestingError> {
        Ok(self.chain.account(address)?.balance)
    }

    /// Deploys `wasm` from dev account `from`, running its `init` with JSON `args`.
    pub fn deploy(
        &mut self,
        from: usize,
        wasm: &Wasm,
        args: Value,
    ) -> Result<Deployed, TestingError> {
        let key = self.key(from)?.clone();
        Ok(self.chain.deploy(&key, &wasm.code, args)?)
    }

    /// Calls `method` with JSON arguments from dev account `from`, in a new block.
    pub fn call(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: Value,
    ) -> Result<Called, TestingError> {
        self.call_with_value(from, contract, method, args, U256::zero())
    }

    /// [`TestChain::call`] with `value` attached.
    pub fn call_with_value(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: Value,
        value: U256,
    ) -> Result<Called, TestingError> {
        let key = self.key(from)?.clone();
        Ok(self.chain.call(&key, contract, method, args, value)?)
    }

    /// Calls `method` with borsh-encoded arguments (a tuple of the method's parameters, in
    /// order) and returns the receipt; decode its result with [`decode_return`].
    pub fn call_typed<A: borsh::BorshSerialize>(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: &A,
        value: U256,
    ) -> Result<Receipt, TestingError> {
        let key = self.key(from)?.clone();
        let payload = Payload::Call {
            contract,
            method: method.into(),
            args: borsh::to_vec(args)?,
            value,
        };
        Ok(self.chain.sign_and_submit(&key, payload)?)
    }

    /// Produces `n` empty blocks.
    pub fn advance_blocks(&mut self, n: u64) -> Result<(), TestingError> {
        Ok(self.chain.advance_blocks(n)?)
    }

    /// Moves the next block's time `seconds` ahead.
    pub fn advance_time(&mut self, seconds: u64) -> Result<(), TestingError> {
        Ok(self.chain.advance_time(seconds)?)
    }
}

/// Decodes a receipt's return data (a method's result, or the typed error a failed call
/// set) as `T` with borsh.
pub fn decode_return<T: borsh::BorshDeserialize>(receipt: &Receipt) -> Result<T, TestingError> {
    Ok(borsh::from_slice(&receipt.return_data)?)
}
