//! Helpers for the cross-crate tests: the sample contracts, built from source by this crate's
//! build script.

use std::path::PathBuf;

/// Directory holding the compiled sample contracts.
pub fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CHAINVM_CONTRACTS_WASM"))
}

/// The compiled wasm of a sample contract (`escrow`, `voting`, `token`).
pub fn contract_wasm(name: &str) -> Vec<u8> {
    let path = contracts_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::{Address, Chain, Keypair, Payload, Receipt, U256};
use serde_json::Value;

/// The embedded [`Chain`] with its dev keys, and the shorthand the contract tests use.
pub struct TestChain {
    /// The chain (in memory).
    pub chain: Chain,
    /// The ten funded dev accounts.
    pub keys: Vec<Keypair>,
}

/// The result of a JSON call: the receipt, with its return value or typed error decoded.
#[derive(Debug)]
pub struct JsonCall {
    /// The raw receipt.
    pub receipt: Receipt,
    /// Decoded return value (success) or typed error (failure), if any.
    pub value: Value,
    /// Decoded events of the called contract: (name, data).
    pub events: Vec<(String, Value)>,
}

impl JsonCall {
    /// Whether the call succeeded.
    pub fn ok(&self) -> bool {
        self.receipt.is_success()
    }
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    /// A fresh in-memory dev chain.
    pub fn new() -> TestChain {
        let (chain, keys) = Chain::builder().dev_accounts().in_memory().expect("chain");
        TestChain { chain, keys }
    }

    /// Current height.
    pub fn height(&self) -> u64 {
        self.chain.height().expect("height")
    }

    /// Address of dev account `i`.
    pub fn addr(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    /// JSON form of an address.
    pub fn addr_json(&self, i: usize) -> Value {
        Value::String(chainvm_runtime::types::hex(self.addr(i).as_bytes()))
    }

    /// Balance of an address.
    pub fn balance(&self, a: &Address) -> U256 {
        self.chain.account(a).expect("account").balance
    }

    /// Produces empty blocks until `height`.
    pub fn advance_to(&mut self, height: u64) {
        let n = height.saturating_sub(self.height());
        self.chain.advance_blocks(n).expect("blocks");
    }

    /// Sends one transaction from account `from` in a new block, with the default gas limit
    /// of its kind.
    pub fn send(&mut self, from: usize, payload: Payload) -> Receipt {
        self.chain
            .sign_and_submit(&self.keys[from], payload)
            .expect("admitted")
    }

    /// Deploys a sample contract with JSON constructor arguments.
    pub fn deploy(&mut self, from: usize, name: &str, args: Value) -> (Address, ContractAbi) {
        let d = self
            .chain
            .deploy(&self.keys[from], &contract_wasm(name), args)
            .expect("deploys");
        (d.address, d.abi)
    }

    /// Calls `method` with JSON arguments and attached value; decodes the result.
    pub fn call(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: Value,
        value: u128,
    ) -> JsonCall {
        let c = self
            .chain
            .call(&self.keys[from], contract, method, args, U256::from(value))
            .expect("call admitted");
        JsonCall {
            receipt: c.receipt,
            value: c.value,
            events: c.events,
        }
    }

    /// Runs a view and decodes its result.
    pub fn view(&self, contract: Address, method: &str, args: Value) -> Value {
        self.chain
            .view(contract, method, args)
            .expect("view succeeds")
    }
}
