//! An in-memory [`Host`] for testing the VM without a chain.

use crate::host::{
    Address, Amount, CallRequest, CallResult, EventError, Host, HostFault, TransferError,
};
use std::collections::BTreeMap;

/// A host backed by plain maps: storage, a balance, recorded transfers and events, and a
/// scripted answer for cross-contract calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockHost {
    /// The executing contract's storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The executing contract's balance, as a plain integer.
    pub balance: u128,
    /// Transfers made, in order.
    pub transfers: Vec<MockTransfer>,
    /// Events emitted, in order.
    pub events: Vec<MockEvent>,
    /// If set, events are refused once their topic and data bytes would exceed this.
    pub max_event_bytes: Option<usize>,
    /// Topic and data bytes of the events recorded through [`Host::emit_event`], kept as a
    /// running total so the allowance check does not re-add every earlier event.
    pub event_bytes: usize,
    /// Calls requested, in order.
    pub calls: Vec<CallRequest>,
    /// What every `call_contract` answers.
    pub call_result: Option<CallResult>,
}

/// A transfer out of the executing contract, as [`MockHost`] recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockTransfer {
    /// The recipient.
    pub to: Address,
    /// The amount, as a plain integer.
    pub amount: u128,
}

/// An event, as [`MockHost`] recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockEvent {
    /// The event's topic.
    pub topic: Vec<u8>,
    /// The event's data.
    pub data: Vec<u8>,
}

/// Encodes a `u128` as a 32-byte big-endian amount.
pub fn amount(v: u128) -> Amount {
    let mut a = [0u8; 32];
    a[16..].copy_from_slice(&v.to_be_bytes());
    a
}

impl Host for MockHost {
    fn storage_get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostFault> {
        Ok(self.storage.get(key).cloned())
    }
    fn storage_set(&mut self, key: &[u8], value: &[u8]) -> Result<(), HostFault> {
        self.storage.insert(key.to_vec(), value.to_vec());
        Ok(())
    }
    fn storage_remove(&mut self, key: &[u8]) -> Result<bool, HostFault> {
        Ok(self.storage.remove(key).is_some())
    }
    fn storage_has(&mut self, key: &[u8]) -> Result<bool, HostFault> {
        Ok(self.storage.contains_key(key))
    }
    fn balance(&mut self) -> Result<Amount, HostFault> {
        Ok(amount(self.balance))
    }
    fn transfer(
        &mut self,
        to: &Address,
        amount: &Amount,
    ) -> Result<Result<(), TransferError>, HostFault> {
        if amount[..16].iter().any(|b| *b != 0) {
            return Ok(Err(TransferError::InsufficientFunds));
        }
        let mut low = [0u8; 16];
        low.copy_from_slice(&amount[16..]);
        let v = u128::from_be_bytes(low);
        if v > self.balance {
            return Ok(Err(TransferError::InsufficientFunds));
        }
        self.balance -= v;
        self.transfers.push(MockTransfer { to: *to, amount: v });
        Ok(Ok(()))
    }
    fn emit_event(
        &mut self,
        topic: &[u8],
        data: &[u8],
    ) -> Result<Result<(), EventError>, HostFault> {
        let used = self.event_bytes.saturating_add(topic.len() + data.len());
        if self.max_event_bytes.is_some_and(|max| used > max) {
            return Ok(Err(EventError::LimitReached));
        }
        self.event_bytes = used;
        self.events.push(MockEvent {
            topic: topic.to_vec(),
            data: data.to_vec(),
        });
        Ok(Ok(()))
    }
    fn call_contract(&mut self, request: CallRequest) -> Result<CallResult, HostFault> {
        self.calls.push(request);
        self.call_result
            .clone()
            .ok_or_else(|| HostFault::new("MockHost has no scripted call result"))
    }
}
