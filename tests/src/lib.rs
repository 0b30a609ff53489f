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
use chainvm_runtime::state::{BlockRecord, Overlay, Store};
use chainvm_runtime::vm::Vm;
use chainvm_runtime::{
    Address, BlockContext, ChainParams, Executor, Genesis, Keypair, Payload, Receipt, Transaction,
    U256,
};
use serde_json::Value;

/// Gas limit used for every test transaction.
pub const GAS: u64 = 2_000_000_000;

/// A minimal in-memory chain for contract tests: funded dev keys, one block per transaction.
pub struct TestChain {
    /// The VM.
    pub vm: Vm,
    /// Chain parameters.
    pub params: ChainParams,
    /// The store.
    pub store: Store,
    /// Funded accounts.
    pub keys: Vec<Keypair>,
    /// Current height.
    pub height: u64,
}

/// The result of a JSON call: the receipt, with its return value or typed error decoded.
#[derive(Debug)]
pub struct JsonCall {
    /// The raw receipt.
    pub receipt: Receipt,
    /// Decoded return value (success) or typed error (failure), if any.
    pub value: Value,
    /// Decoded events: (name, data).
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
    /// A chain with five accounts holding 10^24 each.
    pub fn new() -> TestChain {
        let params = ChainParams::default();
        let vm = Vm::new(params.vm_config()).expect("vm");
        let store = Store::in_memory().expect("store");
        let keys: Vec<_> = (0..5).map(|i| Keypair::derive("tests", i)).collect();
        let genesis = Genesis {
            accounts: keys
                .iter()
                .map(|k| (k.address(), U256::exp10(24)))
                .collect(),
            validators: vec![],
        };
        let staged = store
            .stage(genesis.writes().expect("genesis"))
            .expect("stage");
        store
            .commit(staged, &BlockRecord::default())
            .expect("commit");
        TestChain {
            vm,
            params,
            store,
            keys,
            height: 0,
        }
    }

    /// Address of dev account `i`.
    pub fn addr(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    /// JSON form of an address.
    pub fn addr_json(&self, i: usize) -> Value {
        Value::String(chainvm_runtime::abi::hex(self.addr(i).as_bytes()))
    }

    /// Balance of an address.
    pub fn balance(&self, a: &Address) -> U256 {
        chainvm_runtime::layout::account(&self.store.snapshot().expect("snapshot"), a)
            .expect("account")
            .balance
    }

    /// Produces empty blocks until `height`.
    pub fn advance_to(&mut self, height: u64) {
        while self.height < height {
            let staged = self.store.stage(Default::default()).expect("stage");
            self.height += 1;
            self.store
                .commit(
                    staged,
                    &BlockRecord {
                        height: self.height,
                        ..Default::default()
                    },
                )
                .expect("commit");
        }
    }

    /// Sends one transaction from account `from` in a new block.
    pub fn send(&mut self, from: usize, payload: Payload) -> Receipt {
        let snap = self.store.snapshot().expect("snapshot");
        let nonce = chainvm_runtime::layout::account(&snap, &self.addr(from))
            .expect("account")
            .nonce;
        let tx = Transaction {
            chain_id: self.params.chain_id,
            nonce,
            gas_limit: GAS,
            gas_price: U256::one(),
            payload,
        }
        .sign(&self.keys[from]);
        let mut overlay = Overlay::new(&snap);
        let ctx = BlockContext {
            height: self.height + 1,
            timestamp: 1_700_000_000 + self.height,
            proposer: Address::zero(),
        };
        let receipt = Executor::new(&self.vm, &self.params)
            .apply(&mut overlay, &ctx, &tx)
            .expect("admitted");
        let writes = overlay.into_writes();
        drop(snap);
        let staged = self.store.stage(writes).expect("stage");
        self.height += 1;
        self.store
            .commit(
                staged,
                &BlockRecord {
                    height: self.height,
                    txs: vec![(tx.hash().0, tx.encode())],
                    receipts: vec![receipt.encode()],
                    ..Default::default()
                },
            )
            .expect("commit");
        receipt
    }

    /// Deploys a sample contract with JSON constructor arguments.
    pub fn deploy(&mut self, from: usize, name: &str, args: Value) -> (Address, ContractAbi) {
        let code = contract_wasm(name);
        let abi = ContractAbi::from_wasm(&code).expect("abi");
        let args = if abi.method("init").is_ok() {
            abi.encode_args("init", &args).expect("init args")
        } else {
            vec![]
        };
        let r = self.send(from, Payload::Deploy { code, args });
        assert!(r.is_success(), "deploy of {name} failed: {:?}", r.error);
        (r.contract_address.expect("address"), abi)
    }

    /// Calls `method` with JSON arguments and attached value; decodes the result.
    pub fn call(
        &mut self,
        from: usize,
        contract: Address,
        abi: &ContractAbi,
        method: &str,
        args: Value,
        value: u128,
    ) -> JsonCall {
        let encoded = abi.encode_args(method, &args).expect("arguments encode");
        let receipt = self.send(
            from,
            Payload::Call {
                contract,
                method: method.into(),
                args: encoded,
                value: U256::from(value),
            },
        );
        let value = if receipt.is_success() {
            abi.decode_return(method, &receipt.return_data)
                .expect("return decodes")
        } else {
            abi.decode_error(method, &receipt.return_data)
                .expect("error decodes")
                .unwrap_or(Value::Null)
        };
        let events = receipt
            .events
            .iter()
            .filter(|e| !e.reverted)
            .filter_map(|e| abi.decode_event(&e.topic, &e.data).expect("event decodes"))
            .collect();
        JsonCall {
            receipt,
            value,
            events,
        }
    }

    /// Runs a view and decodes its result.
    pub fn view(&self, contract: Address, abi: &ContractAbi, method: &str, args: Value) -> Value {
        let encoded = abi.encode_args(method, &args).expect("arguments encode");
        let snap = self.store.snapshot().expect("snapshot");
        let ctx = BlockContext {
            height: self.height + 1,
            timestamp: 0,
            proposer: Address::zero(),
        };
        let call = chainvm_runtime::executor::ViewCall {
            caller: Address::zero(),
            contract,
            method,
            args: &encoded,
            gas_limit: GAS,
        };
        let (out, _) = Executor::new(&self.vm, &self.params)
            .view(&snap, &ctx, &call)
            .expect("view runs");
        abi.decode_return(method, &out.expect("view succeeds"))
            .expect("decodes")
    }
}
