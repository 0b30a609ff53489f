//! The embedding surface of [`Chain`] for tests and DApp backends: a genesis builder, JSON
//! deploy/call/view through contract ABIs, time and height control, whole-state
//! snapshot/revert, event queries and block subscriptions.
//!
//! ```
//! use chainvm_runtime::{Chain, U256};
//! use serde_json::json;
//!
//! // A contract with an embedded ABI; real ones come from `chainvm build`.
//! let code = wat::parse_str(chainvm_runtime::embed::EXAMPLE_COUNTER_WAT).unwrap();
//!
//! let (mut chain, accounts) = Chain::builder().dev_accounts().in_memory().unwrap();
//! let alice = &accounts[0];
//! let counter = chain.deploy(alice, &code, json!(null)).unwrap();
//! let done = chain.call(alice, counter.address, "incr", json!(null), U256::zero()).unwrap();
//! assert!(done.receipt.is_success());
//! assert_eq!(chain.view(counter.address, "get", json!(null)).unwrap(), json!(1));
//! assert_eq!(done.receipt.gas.total, done.receipt.gas_used);
//! ```

use crate::abi::ContractAbi;
use crate::block::SignedHeader;
use crate::chain::Chain;
use crate::crypto::Keypair;
use crate::error::ChainError;
use crate::genesis::{GenesisConfig, dev_balance, dev_keys};
use crate::params::ChainParams;
use crate::receipt::{Event, Receipt};
use crate::tx::{Payload, Transaction, default_gas};
use crate::types::{Address, H256, U256};
use chainvm_abi::CONSTRUCTOR;
use chainvm_state::Retention;
use serde_json::Value;
use std::path::Path;
use std::sync::mpsc;

/// A counter contract in WAT with its ABI embedded, for examples and doctests: `init`,
/// `incr() -> u64` (emits `Incremented`), `get() -> u64`.
pub const EXAMPLE_COUNTER_WAT: &str = r#"(module
  (@custom "chainvm_abi" "{\"contract\":\"Counter\",\"methods\":[{\"name\":\"incr\",\"kind\":\"call\",\"args\":[],\"returns\":\"u64\",\"error\":null},{\"name\":\"get\",\"kind\":\"view\",\"args\":[],\"returns\":\"u64\",\"error\":null}]}")
  (@custom "chainvm_abi_types" "{\"kind\":\"event\",\"name\":\"Incremented\",\"fields\":[{\"name\":\"value\",\"type\":\"u64\"}]}\n")
  (import "env" "set_return" (func $ret (param i32 i32)))
  (import "env" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (data (i32.const 16) "Incremented")
  (func $load (result i64)
    (i64.store (i32.const 64) (i64.const 0))
    (drop (call $get (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 8)))
    (i64.load (i32.const 64)))
  (func (export "incr")
    (i64.store (i32.const 64) (i64.add (call $load) (i64.const 1)))
    (call $set (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 8))
    (call $emit (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 8))
    (call $ret (i32.const 64) (i32.const 8)))
  (func (export "get")
    (i64.store (i32.const 64) (call $load))
    (call $ret (i32.const 64) (i32.const 8))))"#;

/// Builds a chain's genesis: funded accounts, parameters, the validator, the start time.
pub struct ChainBuilder {
    params: ChainParams,
    accounts: Vec<(Address, U256)>,
    validator: Option<Keypair>,
    timestamp: u64,
    dev: bool,
    retention: Retention,
}

/// The validator key of in-memory chains built without [`ChainBuilder::validator`]: fixed,
/// so tests are reproducible (a chain on disk gets a random one instead).
fn test_validator() -> Keypair {
    Keypair::derive("chainvm validator", 0)
}

impl Chain {
    /// Starts building a chain (in memory or on disk).
    pub fn builder() -> ChainBuilder {
        ChainBuilder {
            params: ChainParams::default(),
            accounts: Vec::new(),
            validator: None,
            timestamp: 1_700_000_000,
            dev: false,
            retention: Retention::Archive,
        }
    }
}

impl ChainBuilder {
    /// Funds the ten dev accounts with 10^24 each; `build` returns their keys.
    pub fn dev_accounts(mut self) -> Self {
        self.dev = true;
        self
    }

    /// Funds an address.
    pub fn fund(mut self, address: Address, amount: U256) -> Self {
        self.accounts.push((address, amount));
        self
    }

    /// Sets the chain parameters.
    pub fn params(mut self, params: ChainParams) -> Self {
        self.params = params;
        self
    }

    /// Sets the validator key (default: a fixed test key in memory, a random secret key on
    /// disk).
    pub fn validator(mut self, key: Keypair) -> Self {
        self.validator = Some(key);
        self
    }

    /// Sets the genesis time; blocks follow it one second apart unless time is advanced.
    pub fn genesis_time(mut self, timestamp: u64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Which state versions the chain keeps (default: every one, an archive).
    /// `Retention::Recent(n)` keeps the last `n`: disk then grows with the live state, not
    /// the block count, but older proofs and `verify` need an archive.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    fn config(&self, validator: &Keypair) -> (GenesisConfig, Vec<Keypair>) {
        let mut config = GenesisConfig::dev(self.params.chain_id, validator, self.timestamp);
        let registration = config.params.registration.clone();
        config.params = self.params.clone();
        if config.params.registration == crate::staking::Registration::Closed {
            // Unless the caller chose a policy: permissioned to the chain's own validator.
            config.params.registration = registration;
        }
        let keys = if self.dev { dev_keys() } else { Vec::new() };
        config.accounts = keys.iter().map(|k| (k.address(), dev_balance())).collect();
        config.accounts.extend(self.accounts.iter().cloned());
        (config, keys)
    }

    /// A chain in memory, and the dev account keys (empty unless `dev_accounts`).
    pub fn in_memory(self) -> Result<(Chain, Vec<Keypair>), ChainError> {
        let validator = self.validator.clone().unwrap_or_else(test_validator);
        let (config, keys) = self.config(&validator);
        let mut chain = Chain::in_memory_with(config, &validator, self.retention)?;
        chain.set_time(self.timestamp + 1);
        Ok((chain, keys))
    }

    /// A new chain in `home` on disk, and the dev account keys.
    pub fn init(self, home: &Path) -> Result<(Chain, Vec<Keypair>), ChainError> {
        let validator = match self.validator.clone() {
            Some(k) => k,
            None => Keypair::generate().map_err(ChainError::KeyGeneration)?,
        };
        let (config, keys) = self.config(&validator);
        Ok((
            Chain::init_with(home, config, &validator, self.retention)?,
            keys,
        ))
    }
}

/// A deployed contract.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// Its ABI.
    pub abi: ContractAbi,
    /// The deploy receipt.
    pub receipt: Receipt,
}

/// A call made through the JSON API.
#[derive(Debug, Clone)]
pub struct Called {
    /// The receipt (check `is_success`).
    pub receipt: Receipt,
    /// The decoded return value on success, the decoded typed error on failure (if any).
    pub value: Value,
    /// Events decoded with the contract's ABI: (name, data), reverted ones left out.
    pub events: Vec<(String, Value)>,
}

/// A point to return the whole chain to with [`Chain::revert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCheckpoint {
    height: u64,
}

/// Pushed to subscribers after every block.
#[derive(Debug, Clone)]
pub struct BlockNotification {
    /// The block's signed header.
    pub signed_header: SignedHeader,
    /// Its hash.
    pub hash: H256,
    /// Its transactions' receipts in order, events included (each names its transaction by
    /// `tx_hash`).
    pub receipts: Vec<Receipt>,
}

/// Filter for [`Chain::events`].
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this contract.
    pub contract: Option<Address>,
    /// Only this topic.
    pub topic: Option<Vec<u8>>,
    /// First block (default 0).
    pub from_block: Option<u64>,
    /// Last block (default latest).
    pub to_block: Option<u64>,
}

/// An event with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Block height.
    pub block: u64,
    /// Transaction hash.
    pub tx_hash: H256,
    /// The event.
    pub event: Event,
}

/// Where a page of events stopped: the block, and the position of the next event to look
/// at among all of that block's events (filtered or not), in transaction order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventCursor {
    /// Block height.
    pub block: u64,
    /// Index of the next event within the block.
    pub index: u32,
}

/// How much one [`Chain::events_page`] call may read and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    /// Most blocks read per page.
    pub max_blocks: u64,
    /// Most events returned per page.
    pub max_events: usize,
}

impl Default for EventLimits {
    /// 1,000 blocks and 1,000 events per page.
    fn default() -> Self {
        EventLimits {
            max_blocks: 1_000,
            max_events: 1_000,
        }
    }
}

/// One page of events and where the next page starts (`None`: the range is done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// Matching events, in order.
    pub events: Vec<LoggedEvent>,
    /// The cursor to pass for the next page.
    pub next: Option<EventCursor>,
}

/// Pages through the events of blocks `block(h)` up to `latest` (see [`Chain::events_page`]).
/// Shared by [`Chain`] and [`crate::reader::ChainReader`].
pub(crate) fn page_events(
    latest: u64,
    mut block: impl FnMut(u64) -> Result<Option<crate::block::StoredBlock>, ChainError>,
    filter: &EventFilter,
    cursor: Option<EventCursor>,
    limits: EventLimits,
) -> Result<EventPage, ChainError> {
    let to = filter.to_block.unwrap_or(latest).min(latest);
    let (mut h, mut skip) = match cursor {
        Some(c) => (c.block, c.index),
        None => (filter.from_block.unwrap_or(0), 0),
    };
    let mut events = Vec::new();
    let mut scanned = 0u64;
    while h <= to {
        if scanned >= limits.max_blocks.max(1) {
            let next = Some(EventCursor { block: h, index: 0 });
            return Ok(EventPage { events, next });
        }
        scanned += 1;
        if let Some(b) = block(h)? {
            let mut index = 0u32;
            for included in &b.txs {
                let tx = &included.transaction;
                for e in &included.receipt.events {
                    let here = index;
                    index = index.saturating_add(1);
                    if here < skip
                        || filter.contract.is_some_and(|c| c != e.contract)
                        || filter.topic.as_ref().is_some_and(|t| *t != e.topic)
                    {
                        continue;
                    }
                    if events.len() >= limits.max_events.max(1) {
                        let next = Some(EventCursor {
                            block: h,
                            index: here,
                        });
                        return Ok(EventPage { events, next });
                    }
                    events.push(LoggedEvent {
                        block: h,
                        tx_hash: tx.hash(),
                        event: e.clone(),
                    });
                }
            }
        }
        skip = 0;
        h += 1;
    }
    Ok(EventPage { events, next: None })
}

/// What a call's receipt returned, decoded with the called method's ABI: the return value
/// on success, the typed error on failure; `None` where the ABI does not decode it.
pub fn decode_outcome(abi: &ContractAbi, method: &str, receipt: &Receipt) -> Option<Value> {
    if receipt.is_success() {
        abi.decode_return(method, &receipt.return_data).ok()
    } else {
        abi.decode_error(method, &receipt.return_data)
            .ok()
            .flatten()
    }
}

impl Chain {
    /// A transaction of `payload` from `sender` at its next nonce on this chain, with the
    /// default gas limit of its kind and gas price 1 (see [`Transaction::new`]), to sign.
    pub fn next_transaction(
        &self,
        sender: &Address,
        payload: Payload,
    ) -> Result<Transaction, ChainError> {
        let nonce = self.account(sender)?.nonce;
        Ok(Transaction::new(self.params().chain_id, nonce, payload))
    }

    /// Signs `payload` from `key` with its next nonce and the default gas limit of its kind
    /// and submits it in a block of its own. (Another gas limit or price: sign a
    /// [`Chain::next_transaction`] and [`Chain::submit`] it.)
    pub fn sign_and_submit(
        &mut self,
        key: &Keypair,
        payload: Payload,
    ) -> Result<Receipt, ChainError> {
        let tx = self.next_transaction(&key.address(), payload)?.sign(key);
        self.submit(&tx)
    }

    /// The ABI of the contract at `address`.
    pub fn abi(&self, address: &Address) -> Result<ContractAbi, ChainError> {
        let code = self
            .code(address)?
            .ok_or(ChainError::NoContract(*address))?;
        Ok(ContractAbi::from_wasm(&code)?)
    }

    /// Deploys `code`, running its `init` constructor with JSON arguments.
    pub fn deploy(
        &mut self,
        key: &Keypair,
        code: &[u8],
        args: Value,
    ) -> Result<Deployed, ChainError> {
        let abi = ContractAbi::from_wasm(code)?;
        let args = match abi.method(CONSTRUCTOR) {
            Ok(_) => abi.encode_args(CONSTRUCTOR, &args)?,
            Err(_) => Vec::new(),
        };
        let code = code.to_vec();
        let receipt = self.sign_and_submit(key, Payload::Deploy { code, args })?;
        let Some(address) = receipt.contract_address else {
            return Err(ChainError::DeployFailed {
                receipt: Box::new(receipt),
            });
        };
        Ok(Deployed {
            address,
            abi,
            receipt,
        })
    }

    /// Calls `method` with JSON arguments and attached `value` in a new block.
    pub fn call(
        &mut self,
        key: &Keypair,
        contract: Address,
        method: &str,
        args: Value,
        value: U256,
    ) -> Result<Called, ChainError> {
        let abi = self.abi(&contract)?;
        let encoded = abi.encode_args(method, &args)?;
        let payload = Payload::Call {
            contract,
            method: method.into(),
            args: encoded,
            value,
        };
        let receipt = self.sign_and_submit(key, payload)?;
        let value = decode_outcome(&abi, method, &receipt).unwrap_or(Value::Null);
        let events = receipt
            .events
            .iter()
            .filter(|e| !e.reverted && e.contract == contract)
            .filter_map(|e| abi.decode_event(&e.topic, &e.data).ok().flatten())
            .collect();
        Ok(Called {
            receipt,
            value,
            events,
        })
    }

    /// Runs a view with JSON arguments and returns the decoded result.
    pub fn view(&self, contract: Address, method: &str, args: Value) -> Result<Value, ChainError> {
        let abi = self.abi(&contract)?;
        let encoded = abi.encode_args(method, &args)?;
        let gas = default_gas::CALL;
        let outcome = self.view_raw(Address::zero(), contract, method, &encoded, gas)?;
        let data = outcome.result.map_err(ChainError::ViewFailed)?;
        Ok(abi.decode_return(method, &data)?)
    }

    /// Sends `amount` from `key` to `to`.
    pub fn transfer(
        &mut self,
        key: &Keypair,
        to: Address,
        amount: U256,
    ) -> Result<Receipt, ChainError> {
        self.sign_and_submit(key, Payload::Transfer { to, amount })
    }

    /// Produces `n` empty blocks.
    pub fn advance_blocks(&mut self, n: u64) -> Result<(), ChainError> {
        for _ in 0..n {
            self.produce_block(&[])?;
        }
        Ok(())
    }

    /// Moves the clock for the next block `seconds` past the latest block's time.
    pub fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError> {
        let latest = self.height()?;
        let now = self.header(latest)?.map_or(0, |h| h.header.timestamp);
        self.set_time(now + seconds);
        Ok(())
    }

    /// Marks the current state to return to with [`Chain::revert`].
    ///
    /// ```
    /// # use chainvm_runtime::{Chain, U256};
    /// let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
    /// let before = chain.checkpoint().unwrap();
    /// chain.transfer(&keys[0], keys[1].address(), U256::from(5)).unwrap();
    /// assert_eq!(chain.account(&keys[0].address()).unwrap().nonce, 1);
    /// chain.revert(before).unwrap();
    /// assert_eq!(chain.account(&keys[0].address()).unwrap().nonce, 0);
    /// assert_eq!(chain.height().unwrap(), 0);
    /// ```
    pub fn checkpoint(&self) -> Result<ChainCheckpoint, ChainError> {
        Ok(ChainCheckpoint {
            height: self.height()?,
        })
    }

    /// Returns the whole chain (state, blocks, transactions, receipts) to `snapshot`.
    pub fn revert(&mut self, snapshot: ChainCheckpoint) -> Result<(), ChainError> {
        Ok(self.store().revert_to(snapshot.height)?)
    }

    /// Every event matching `filter`, in order (all pages of [`Chain::events_page`]; for
    /// embedders and tests on chains they control; a server should page instead).
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<LoggedEvent>, ChainError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.events_page(filter, cursor, EventLimits::default())?;
            out.extend(page.events);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// One page of the events matching `filter`: at most `limits.max_events` events from at
    /// most `limits.max_blocks` blocks, starting at `cursor` (or the filter's first block).
    /// `next` says where the following page starts; `None` once the range is done.
    pub fn events_page(
        &self,
        filter: &EventFilter,
        cursor: Option<EventCursor>,
        limits: EventLimits,
    ) -> Result<EventPage, ChainError> {
        self.reader.events_page(filter, cursor, limits)
    }

    /// A channel that receives every block produced from now on.
    ///
    /// ```
    /// # use chainvm_runtime::{Chain, U256};
    /// let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
    /// let blocks = chain.subscribe();
    /// chain.transfer(&keys[0], keys[1].address(), U256::from(5)).unwrap();
    /// chain.advance_blocks(2).unwrap();
    /// let heights: Vec<u64> = blocks.try_iter().map(|b| b.signed_header.header.height).collect();
    /// assert_eq!(heights, [1, 2, 3]);
    /// ```
    pub fn subscribe(&mut self) -> mpsc::Receiver<BlockNotification> {
        let (tx, rx) = mpsc::channel();
        self.subscribers().push(tx);
        rx
    }
}
