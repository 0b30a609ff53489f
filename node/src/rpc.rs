//! The JSON-RPC methods: parameter parsing and what each method answers, independent of the
//! transport (the server in `server.rs` routes every name in [`METHODS`] to [`Node::call`]).
//!
//! Only admitting a transaction and producing a block take the chain lock; every other
//! method reads a snapshot through the node's [`chainvm_runtime::ChainReader`].

use super::{Mode, Node, lock, slots};
use crate::json::{header_json, logged_event_json, merged, tx_summary_json};
use chainvm_runtime::embed::{BlockNotification, EventCursor, EventLimits};
use chainvm_runtime::types::{hex, parse_hex};
use chainvm_runtime::{
    Address, AdmissionError, ChainError, H256, Payload, SignedTransaction, StateProof, TxLocation,
};
use serde_json::{Value, json};
use std::time::Instant;

/// Every JSON-RPC method [`Node::call`] answers (the subscriptions are registered apart).
pub(crate) const METHODS: &[&str] = &[
    "chainvm_chainId",
    "chainvm_blockNumber",
    "chainvm_validators",
    "chainvm_sendRawTransaction",
    "chainvm_simulate",
    "chainvm_view",
    "chainvm_getAccount",
    "chainvm_getBalance",
    "chainvm_getNonce",
    "chainvm_getCode",
    "chainvm_getAbi",
    "chainvm_getBlockByNumber",
    "chainvm_getBlockByHash",
    "chainvm_getTransaction",
    "chainvm_getReceipt",
    "chainvm_getEvents",
    "chainvm_getStateRoot",
    "chainvm_getProof",
    "chainvm_produceBlock",
    "chainvm_pending",
];

/// A JSON-RPC error: code and message.
#[derive(Debug)]
pub(crate) struct RpcError(pub i64, pub String);

impl From<RpcError> for jsonrpsee::types::ErrorObjectOwned {
    fn from(RpcError(code, message): RpcError) -> Self {
        // Every code this node sends fits an i32 (the JSON-RPC range and -32000..-32099).
        let code = i32::try_from(code).unwrap_or(-32603);
        jsonrpsee::types::ErrorObject::owned(code, message, None::<()>)
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Rejected(r) => RpcError(-32000, r.to_string()),
            other => RpcError(-32603, other.to_string()),
        }
    }
}

/// A method's params (raw JSON, absent when the request has none) as the object every
/// method takes: absent and `null` are an empty object's equivalent (`Value::Null`).
pub(crate) fn object_params(raw: Option<&str>) -> Result<Value, RpcError> {
    let params = match raw {
        None => Value::Null,
        Some(raw) => serde_json::from_str(raw).map_err(|e| invalid(format!("params: {e}")))?,
    };
    if params.is_object() || params.is_null() {
        Ok(params)
    } else {
        Err(invalid("params must be an object"))
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> RpcError {
    RpcError(-32602, msg.into())
}

fn rejected(msg: impl ToString) -> RpcError {
    RpcError(-32000, msg.to_string())
}

/// A block in the JSON shape pushed to subscribers.
pub(crate) fn block_json(n: &BlockNotification) -> Value {
    let h = &n.signed_header.header;
    merged(
        header_json(h, &n.hash),
        json!({
            "transactions": n.receipts.iter().map(tx_summary_json).collect::<Vec<_>>(),
            "events": n.receipts.iter().flat_map(|r| r.events.iter().map(move |e| logged_event_json(h.height, &r.tx_hash, e, None))).collect::<Vec<_>>(),
        }),
    )
}

fn param<'a>(params: &'a Value, name: &str) -> Result<&'a Value, RpcError> {
    params
        .get(name)
        .ok_or_else(|| invalid(format!("missing parameter `{name}`")))
}

fn str_param<'a>(params: &'a Value, name: &str) -> Result<&'a str, RpcError> {
    param(params, name)?
        .as_str()
        .ok_or_else(|| invalid(format!("`{name}` must be a string")))
}

pub(crate) fn address(params: &Value, name: &str) -> Result<Address, RpcError> {
    let s = str_param(params, name)?;
    parse_hex(s)
        .filter(|b| b.len() == 20)
        .map(|b| Address::from_slice(&b))
        .ok_or_else(|| invalid(format!("`{name}` must be a 0x address")))
}

fn hash(params: &Value, name: &str) -> Result<H256, RpcError> {
    let s = str_param(params, name)?;
    parse_hex(s)
        .filter(|b| b.len() == 32)
        .map(|b| H256::from_slice(&b))
        .ok_or_else(|| invalid(format!("`{name}` must be a 0x 32-byte hash")))
}

fn bytes(params: &Value, name: &str) -> Result<Vec<u8>, RpcError> {
    let s = str_param(params, name)?;
    parse_hex(s).ok_or_else(|| invalid(format!("`{name}` must be 0x hex")))
}

/// An optional non-negative integer parameter; JSON numbers in exponent form (`1e15`) are
/// read too, saturating at `u64::MAX`.
pub(crate) fn opt_u64(params: &Value, name: &str) -> Result<Option<u64>, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| invalid(format!("`{name}` must be a non-negative integer"))),
    }
}

impl Node {
    fn height(&self, params: &Value) -> Result<u64, RpcError> {
        match params.get("height") {
            None | Some(Value::Null) => Ok(self.reader.height()?),
            Some(Value::String(s)) if s == "latest" => Ok(self.reader.height()?),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid("`height` must be a number or \"latest\"")),
        }
    }

    /// Admits a transaction into the pool (automine: and produces its block before
    /// answering). Checks that need no state, deploy code validation included, run before
    /// the chain lock is taken.
    fn send_raw(&self, params: &Value) -> Result<Value, RpcError> {
        let raw = bytes(params, "tx")?;
        let exec = self.reader.executor();
        let tx = exec.decode(&raw).map_err(rejected)?;
        exec.check_stateless(&tx, raw.len(), false)
            .map_err(rejected)?;
        // Checked here, on the request's thread, and remembered: the block skips it.
        if !self.reader.check_signature(&tx) {
            return Err(rejected(AdmissionError::BadSignature));
        }
        if let Payload::Deploy { code, .. } = &tx.body.payload {
            exec.check_code(code)
                .map_err(|e| rejected(format!("invalid contract code: {e}")))?;
        }
        if self.mode != Mode::Automine {
            // No chain lock: a block being produced meanwhile is counted by the pool until it
            // commits. The state is read under the pool lock, so it is never older than what
            // the pool knows.
            let mut pool = lock(&self.pool);
            let snap = self.reader.latest_state()?;
            let height = snap.version().map_or(0, |(h, _)| h);
            let account =
                chainvm_runtime::layout::account(&snap, &tx.sender()).map_err(ChainError::from)?;
            let account = pool.account_for_admission(&tx.sender(), account, height);
            let admitted = pool
                .insert(tx, &account, Instant::now())
                .map_err(rejected)?;
            drop(pool);
            // A client's transaction goes on to the other validators (a peer's is not sent
            // back out), so whichever proposes next can include it.
            let forwarded = params.get("forwarded").and_then(Value::as_bool) == Some(true);
            // The request's own hex is passed on: it decoded to `raw`, so it is well formed.
            if let (Some(f), false) = (&self.forward, forwarded) {
                f.forward(str_param(params, "tx")?.to_string());
            }
            return Ok(json!({"hash": format!("{:?}", admitted.hash)}));
        }
        let mut chain = lock(&self.chain);
        let account = chain.account(&tx.sender())?;
        let admitted = lock(&self.pool)
            .insert(tx, &account, Instant::now())
            .map_err(rejected)?;
        // Automine: the answer comes after the block holding it is committed. A gapped
        // transaction waits (no empty block for it).
        if admitted.ready {
            self.produce_locked(&mut chain)?;
        }
        Ok(json!({"hash": format!("{:?}", admitted.hash)}))
    }

    /// A slot to run a view or simulation in, or "busy" when all are taken.
    fn execution_slot(&self) -> Result<slots::Slot<'_>, RpcError> {
        self.executions.take().ok_or_else(|| {
            RpcError(
                -32005,
                format!(
                    "node busy: {} views or simulations are running (--max-concurrent-views); retry",
                    self.executions.max()
                ),
            )
        })
    }

    fn view(&self, params: &Value) -> Result<Value, RpcError> {
        let contract = address(params, "contract")?;
        let method = str_param(params, "method")?;
        // Present, even as `null` (no arguments), it asks for the ABI's encoding and decoding.
        let json_args = params.get("json_args");
        let given = |name| params.get(name).is_some_and(|v: &Value| !v.is_null());
        if json_args.is_some() && given("args") {
            return Err(invalid("give `args` (hex) or `json_args`, not both"));
        }
        // `json_args`: encoded through the contract's ABI, which then decodes the answer.
        let abi = json_args
            .map(|_| crate::decode::abi_for_json(&self.reader, &contract))
            .transpose()?;
        let args = match (&abi, json_args) {
            (Some(abi), Some(j)) => abi
                .encode_args(method, j)
                .map_err(|e| invalid(e.to_string()))?,
            _ if given("args") => bytes(params, "args")?,
            _ => Vec::new(),
        };
        let caller = match params.get("caller") {
            None | Some(Value::Null) => Address::zero(),
            Some(_) => address(params, "caller")?,
        };
        // More than the cap runs with the cap (and ends out of gas if it needs more).
        let gas = opt_u64(params, "gas")?
            .unwrap_or(chainvm_runtime::tx::default_gas::CALL)
            .min(self.max_view_gas);
        let _slot = self.execution_slot()?;
        let outcome = self.reader.view_raw(caller, contract, method, &args, gas)?;
        let mut answer = json!({
            "return": outcome.result.as_ref().ok().map(|d| hex(d)),
            "error": outcome.result.as_ref().err(),
            "gas": outcome.gas,
            "gas_limit": gas,
            "raw": hex(&borsh::to_vec(&outcome).unwrap_or_default()),
        });
        if let Some(abi) = &abi {
            // What does not decode is null, as in `decoded` receipts.
            match &outcome.result {
                Ok(data) => {
                    answer["value"] = abi.decode_return(method, data).unwrap_or(Value::Null);
                }
                Err(_) => {
                    answer["error_value"] = abi
                        .decode_error(method, &outcome.error_data)
                        .ok()
                        .flatten()
                        .unwrap_or(Value::Null);
                }
            }
        }
        Ok(answer)
    }

    fn events(&self, params: &Value) -> Result<Value, RpcError> {
        let filter = chainvm_runtime::EventFilter {
            contract: params
                .get("contract")
                .filter(|v| !v.is_null())
                .map(|_| address(params, "contract"))
                .transpose()?,
            topic: params
                .get("topic")
                .and_then(Value::as_str)
                .map(|t| t.as_bytes().to_vec()),
            from_block: opt_u64(params, "from_block")?,
            to_block: opt_u64(params, "to_block")?,
        };
        let cursor: Option<EventCursor> = match params.get("cursor") {
            None | Some(Value::Null) => None,
            Some(c) => Some(serde_json::from_value(c.clone()).map_err(|_| {
                invalid("`cursor` must be the `next` of the previous page: {\"block\", \"index\"}")
            })?),
        };
        let mut limits = EventLimits::default();
        if let Some(n) = opt_u64(params, "limit")? {
            limits.max_events = limits.max_events.min(n.max(1) as usize);
        }
        let page = self.reader.events_page(&filter, cursor, limits)?;
        Ok(json!({
            "events": page.events.iter().map(|e| logged_event_json(e.block, &e.tx_hash, &e.event, None)).collect::<Vec<_>>(),
            "next": page.next,
        }))
    }

    /// Handles one JSON-RPC method call (`params` an object or null).
    pub(crate) fn call(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let raw = |v: Vec<u8>| json!(hex(&v));
        let reader = &self.reader;
        match method {
            "chainvm_chainId" => Ok(json!(reader.params().chain_id)),
            "chainvm_blockNumber" => Ok(json!(reader.height()?)),
            "chainvm_validators" => {
                let snap = reader.latest_state()?;
                let vs = chainvm_runtime::staking::validators(&snap)
                    .map_err(|e| RpcError(-32603, e.to_string()))?;
                Ok(Value::Array(
                    vs.iter()
                        .map(|(a, v)| json!({"address": hex(a.as_bytes()), "stake": v.stake.to_string(), "shares": v.shares.to_string(), "commission_bps": v.commission_bps, "public_key": hex(&v.public_key)}))
                        .collect(),
                ))
            }
            "chainvm_sendRawTransaction" => self.send_raw(params),
            "chainvm_simulate" => {
                let bytes = bytes(params, "tx")?;
                let tx = SignedTransaction::decode(&bytes)
                    .map_err(|e| invalid(format!("not a transaction: {e}")))?;
                if tx.body.gas_limit > self.max_view_gas {
                    return Err(invalid(format!(
                        "gas limit {} exceeds this node's simulation cap of {} (--max-view-gas)",
                        tx.body.gas_limit, self.max_view_gas
                    )));
                }
                let _slot = self.execution_slot()?;
                // `profile: true` adds the call's gas profile (`chainvm_runtime::GasProfile`
                // in its serde form: a list of `{stack, gas}`; null for payloads that run no
                // contract). The receipt is the same either way.
                if params.get("profile").and_then(Value::as_bool) == Some(true) {
                    let (receipt, profile) = reader.simulate_profiled(&tx)?;
                    return Ok(
                        json!({"receipt": receipt, "raw": raw(receipt.encode()), "profile": profile}),
                    );
                }
                let receipt = reader.simulate(&tx)?;
                Ok(json!({"receipt": receipt, "raw": raw(receipt.encode())}))
            }
            "chainvm_view" => self.view(params),
            "chainvm_getAccount" | "chainvm_getBalance" | "chainvm_getNonce" => {
                let a = address(params, "address")?;
                let acct = reader.account(&a)?;
                Ok(match method {
                    "chainvm_getBalance" => json!(acct.balance.to_string()),
                    "chainvm_getNonce" => json!(acct.nonce),
                    _ => {
                        json!({"account": acct, "raw": raw(borsh::to_vec(&acct).unwrap_or_default())})
                    }
                })
            }
            "chainvm_getCode" => {
                let a = address(params, "address")?;
                Ok(reader.code(&a)?.map_or(Value::Null, raw))
            }
            "chainvm_getAbi" => self.get_abi(params),
            "chainvm_getBlockByNumber" => {
                let h = self.height(params)?;
                self.block_by_number(h)
            }
            "chainvm_getBlockByHash" => match reader.height_of(&hash(params, "hash")?)? {
                Some(h) => self.block_by_number(h),
                None => Ok(Value::Null),
            },
            "chainvm_getTransaction" | "chainvm_getReceipt" => {
                let h = hash(params, "hash")?;
                let Some(TxLocation {
                    height,
                    index,
                    transaction: tx,
                    receipt,
                }) = reader.transaction(&h)?
                else {
                    return Ok(Value::Null);
                };
                let mut answer = json!({
                    "block": height,
                    "index": index,
                    "from": hex(tx.sender().as_bytes()),
                    "receipt": receipt,
                    "tx_raw": raw(tx.encode()),
                    "receipt_raw": raw(receipt.encode()),
                });
                // `decode: true` adds what the contracts' ABIs make of it (`decode.rs`).
                if params.get("decode").and_then(Value::as_bool) == Some(true) {
                    answer["decoded"] = crate::decode::decoded(reader, &tx, &receipt)?;
                }
                Ok(answer)
            }
            "chainvm_getEvents" => self.events(params),
            "chainvm_getStateRoot" => {
                let h = self.height(params)?;
                let header = reader
                    .header(h)?
                    .ok_or_else(|| RpcError(-32001, format!("no block {h}")))?;
                Ok(json!(format!("{:?}", header.header.state_root)))
            }
            "chainvm_getProof" => {
                let key = bytes(params, "key")?;
                let height = match params.get("height") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(self.height(params)?),
                };
                let StateProof { value, proof, root } = reader.prove(&key, height)?;
                Ok(
                    json!({"value": value.map(|v| hex(&v)), "proof": hex(&proof.encode()), "state_root": format!("{root:?}")}),
                )
            }
            "chainvm_produceBlock" if self.mode == Mode::Network => Err(RpcError(
                -32000,
                "blocks are decided by the network's validators, not on request".into(),
            )),
            "chainvm_produceBlock" => Ok(json!(self.produce()?)),
            "chainvm_pending" => Ok(json!(lock(&self.pool).len())),
            _ => Err(RpcError(-32601, format!("method `{method}` not found"))),
        }
    }

    /// `chainvm_getAbi`: the ABI embedded in the contract's code, as `ContractAbi`'s JSON;
    /// `null` when the code carries none (or one this node's parser refuses), an error when
    /// no contract is at the address.
    fn get_abi(&self, params: &Value) -> Result<Value, RpcError> {
        let a = address(params, "contract")?;
        let code = self
            .reader
            .code(&a)?
            .ok_or_else(|| RpcError(-32001, format!("no contract at {}", hex(a.as_bytes()))))?;
        Ok(chainvm_runtime::abi::ContractAbi::from_wasm(&code)
            .ok()
            .and_then(|abi| serde_json::to_value(&abi).ok())
            .unwrap_or(Value::Null))
    }

    fn block_by_number(&self, height: u64) -> Result<Value, RpcError> {
        let Some(b) = self.reader.block(height)? else {
            return Ok(Value::Null);
        };
        let h = &b.signed_header.header;
        Ok(merged(
            header_json(h, &h.hash()),
            json!({
                "parent_hash": format!("{:?}", h.parent_hash),
                "proposer": hex(h.proposer.as_bytes()),
                "header_raw": hex(&b.signed_header.encode()),
                "certificate_raw": b.certificate.as_ref().map(|c| hex(&c.encode())),
                "transactions": b.txs.iter().map(|t| json!({"hash": format!("{:?}", t.transaction.hash()), "tx_raw": hex(&t.transaction.encode()), "receipt_raw": hex(&t.receipt.encode())})).collect::<Vec<_>>(),
            }),
        ))
    }

    /// A stored block in the same JSON shape live blocks are pushed in.
    pub(crate) fn replay_block(&self, height: u64) -> Option<Value> {
        let b = self.reader.block(height).ok().flatten()?;
        let note = BlockNotification {
            hash: b.signed_header.header.hash(),
            signed_header: b.signed_header,
            receipts: b.txs.into_iter().map(|t| t.receipt).collect(),
        };
        Some(block_json(&note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RpcHarness;
    use chainvm_runtime::{Chain, Transaction, U256};

    fn call(h: &RpcHarness, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        h.handle(body.to_string().as_bytes())
    }

    fn send(h: &RpcHarness, tx: &SignedTransaction) -> Value {
        call(
            h,
            "chainvm_sendRawTransaction",
            json!({"tx": hex(&tx.encode())}),
        )
    }

    #[test]
    fn every_listed_method_is_answered_and_no_other() {
        let (chain, _) = Chain::builder().dev_accounts().in_memory().unwrap();
        let node = Node::new(chain, Mode::Manual, crate::Settings::default(), 4);
        for method in METHODS {
            if let Err(RpcError(code, message)) = node.call(method, &Value::Null) {
                assert_ne!(code, -32601, "{method}: {message}");
            }
        }
        let unknown = node.call("chainvm_nope", &Value::Null);
        assert!(matches!(unknown, Err(RpcError(-32601, _))), "{unknown:?}");
    }

    #[test]
    fn params_are_an_object_or_nothing() {
        assert_eq!(object_params(None).unwrap(), Value::Null);
        assert_eq!(object_params(Some("null")).unwrap(), Value::Null);
        assert_eq!(object_params(Some(r#"{"a":1}"#)).unwrap(), json!({"a": 1}));
        for bad in ["[1,2]", "7", "\"x\""] {
            assert!(
                matches!(object_params(Some(bad)), Err(RpcError(-32602, _))),
                "{bad}"
            );
        }
    }

    #[test]
    fn deploy_code_is_validated_at_admission() {
        let h = RpcHarness::in_memory().unwrap();
        let key = &chainvm_runtime::genesis::dev_keys()[0];
        let deploy = |code: Vec<u8>| {
            Transaction::new(1337, 0, Payload::Deploy { code, args: vec![] }).sign(key)
        };
        // No exported memory: it could never deploy.
        let bad = wat::parse_str("(module (func (export \"f\")))").unwrap();
        let answer = send(&h, &deploy(bad));
        let message = answer["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("invalid contract code"), "{answer}");
        assert_eq!(call(&h, "chainvm_pending", Value::Null)["result"], 0);
        let good = wat::parse_str(chainvm_runtime::embed::EXAMPLE_COUNTER_WAT).unwrap();
        assert!(send(&h, &deploy(good)).get("result").is_some());
        assert_eq!(call(&h, "chainvm_pending", Value::Null)["result"], 1);
    }

    #[test]
    fn get_events_pages_with_a_cursor() {
        let h = RpcHarness::in_memory().unwrap();
        let key = &chainvm_runtime::genesis::dev_keys()[0];
        let tx = |nonce: u64, payload: Payload| Transaction::new(1337, nonce, payload).sign(key);
        let code = wat::parse_str(chainvm_runtime::embed::EXAMPLE_COUNTER_WAT).unwrap();
        let deploy = tx(0, Payload::Deploy { code, args: vec![] });
        assert!(send(&h, &deploy).get("result").is_some());
        call(&h, "chainvm_produceBlock", Value::Null);
        let receipt = call(
            &h,
            "chainvm_getReceipt",
            json!({"hash": format!("{:?}", deploy.hash())}),
        );
        let counter: Address =
            serde_json::from_value(receipt["result"]["receipt"]["contract_address"].clone())
                .unwrap();
        // Seven events over three blocks (3 + 3 + 1).
        for n in 1..=7u64 {
            let incr = Payload::Call {
                contract: counter,
                method: "incr".into(),
                args: vec![],
                value: U256::zero(),
            };
            assert!(send(&h, &tx(n, incr)).get("result").is_some());
            if n % 3 == 0 {
                call(&h, "chainvm_produceBlock", Value::Null);
            }
        }
        call(&h, "chainvm_produceBlock", Value::Null);
        let contract = hex(counter.as_bytes());
        let all = call(&h, "chainvm_getEvents", json!({"contract": contract}));
        assert_eq!(all["result"]["next"], Value::Null);
        let all = all["result"]["events"].as_array().unwrap().clone();
        assert_eq!(all.len(), 7);
        let (mut got, mut cursor, mut pages) = (Vec::new(), Value::Null, 0);
        loop {
            let page = call(
                &h,
                "chainvm_getEvents",
                json!({"contract": contract, "limit": 2, "cursor": cursor}),
            );
            let events = page["result"]["events"].as_array().unwrap();
            assert!(events.len() <= 2, "{page}");
            got.extend(events.iter().cloned());
            pages += 1;
            cursor = page["result"]["next"].clone();
            if cursor.is_null() {
                break;
            }
        }
        assert_eq!(got, all);
        assert_eq!(pages, 4);
        let bad = call(&h, "chainvm_getEvents", json!({"cursor": "here"}));
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
    }
}
