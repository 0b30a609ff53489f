//! Transactions and views read through contracts' ABIs, for pages that have no decoder of
//! their own: `"decode": true` on `chainvm_getReceipt` / `chainvm_getTransaction` and
//! `"json_args"` on `chainvm_view`.
//!
//! An ABI is the contract's own custom sections ([`ContractAbi::from_wasm`], bounded there):
//! a deploy's from the code it carries, anything else's from the code stored at its address.
//! What does not decode (no contract, no ABI, an undeclared topic, bytes that do not fit the
//! declared type) is `null`, never an error: the raw receipt is in the same answer.

use crate::rpc::{RpcError, invalid};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::embed::decode_outcome;
use chainvm_runtime::executor::CONSTRUCTOR;
use chainvm_runtime::types::{contract_address, hex};
use chainvm_runtime::{Address, ChainReader, Payload, Receipt, SignedTransaction};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The ABIs of the contracts one answer reads, each parsed once (`None`: no code, or no
/// readable ABI in it).
pub(crate) struct Abis<'a> {
    reader: &'a ChainReader,
    read: BTreeMap<Address, Option<ContractAbi>>,
}

impl<'a> Abis<'a> {
    /// No ABI read yet.
    pub(crate) fn new(reader: &'a ChainReader) -> Abis<'a> {
        Abis {
            reader,
            read: BTreeMap::new(),
        }
    }

    /// The ABI of the contract at `address` (a store fault is an error).
    pub(crate) fn get(&mut self, address: &Address) -> Result<Option<&ContractAbi>, RpcError> {
        if !self.read.contains_key(address) {
            let abi = self
                .reader
                .code(address)?
                .and_then(|code| ContractAbi::from_wasm(&code).ok());
            self.read.insert(*address, abi);
        }
        Ok(self.read.get(address).and_then(Option::as_ref))
    }

    /// Records `abi` for `address` (a deploy's, read from the code it carried).
    fn insert(&mut self, address: Address, abi: Option<ContractAbi>) {
        self.read.insert(address, abi);
    }
}

/// The `decoded` field of a transaction's answer: the called (or constructed) `method`, its
/// decoded return value or typed error as `value` ([`decode_outcome`]), and every event of
/// the receipt in order, decoded with its own contract's ABI.
pub(crate) fn decoded(
    reader: &ChainReader,
    tx: &SignedTransaction,
    receipt: &Receipt,
) -> Result<Value, RpcError> {
    let mut abis = Abis::new(reader);
    let (method, value) = match &tx.body.payload {
        Payload::Call {
            contract, method, ..
        } => {
            let value = abis
                .get(contract)?
                .and_then(|abi| decode_outcome(abi, method, receipt));
            (Some(method.clone()), value)
        }
        Payload::Deploy { code, .. } => {
            let abi = ContractAbi::from_wasm(code).ok();
            let constructor = abi.as_ref().filter(|abi| abi.method(CONSTRUCTOR).is_ok());
            let value = constructor.and_then(|abi| decode_outcome(abi, CONSTRUCTOR, receipt));
            let method = constructor.map(|_| CONSTRUCTOR.to_string());
            // Where the code went (or would have gone: a failed deploy's events are its own).
            let address = receipt
                .contract_address
                .unwrap_or_else(|| contract_address(&tx.sender(), tx.body.nonce));
            abis.insert(address, abi);
            (method, value)
        }
        _ => (None, None),
    };
    let mut events = Vec::with_capacity(receipt.events.len());
    for e in &receipt.events {
        let event = abis
            .get(&e.contract)?
            .and_then(|abi| abi.decode_event(&e.topic, &e.data).ok().flatten());
        let (name, data) = event.map_or((Value::Null, Value::Null), |(n, d)| (json!(n), d));
        events.push(json!({
            "contract": hex(e.contract.as_bytes()),
            "name": name,
            "data": data,
            "reverted": e.reverted,
        }));
    }
    Ok(json!({"value": value, "events": events, "method": method}))
}

/// The ABI of the contract at `contract`, for `json_args`: an invalid-params error when
/// there is no contract there or it has no readable ABI.
pub(crate) fn abi_for_json(
    reader: &ChainReader,
    contract: &Address,
) -> Result<ContractAbi, RpcError> {
    let code = reader
        .code(contract)?
        .ok_or_else(|| invalid(format!("no contract at {}", hex(contract.as_bytes()))))?;
    ContractAbi::from_wasm(&code).map_err(|e| {
        invalid(format!(
            "`json_args` needs the contract's ABI: {}: {e}",
            hex(contract.as_bytes())
        ))
    })
}
