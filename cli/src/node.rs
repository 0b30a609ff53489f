//! `chainvm node`: the single validator as a long-running process.
//!
//! - a mempool ordered by nonce per sender and by gas price across senders;
//! - blocks on every transaction (automine, the default), on an interval, or on demand;
//! - JSON-RPC 2.0 over HTTP (`POST /`), request bodies capped;
//! - new blocks and contract events over WebSocket (`/ws`), resumable from a height;
//! - SIGINT/SIGTERM stop taking requests, finish the block in progress, and close the store.
//!
//! Binary objects travel as hex of their canonical borsh encoding (`raw` fields), next to a
//! readable JSON form, so clients in any language can read results and the `chainvm` CLI can
//! print exactly what it prints for a local home.

use crate::util::{CliError, Res};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chainvm_runtime::abi::{hex, parse_hex};
use chainvm_runtime::embed::BlockNotification;
use chainvm_runtime::{Address, Chain, ChainError, H256, SignedTransaction};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Largest JSON-RPC request body.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most transactions per block.
const MAX_BLOCK_TXS: usize = 2_000;
/// How far ahead of an account's nonce the mempool holds transactions.
const MAX_NONCE_AHEAD: u64 = 1_000;
/// Most transactions waiting.
const MAX_POOL: usize = 50_000;

/// When blocks are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A block for every transaction, at once.
    Automine,
    /// A block every so many milliseconds (empty ones included).
    Interval(u64),
    /// Only on `chainvm_produceBlock`.
    Manual,
}

/// Transactions waiting for a block: per sender by nonce.
#[derive(Default)]
struct Mempool {
    by_sender: BTreeMap<Address, BTreeMap<u64, SignedTransaction>>,
    known: HashSet<H256>,
    len: usize,
}

impl Mempool {
    fn insert(&mut self, tx: SignedTransaction, account_nonce: u64) -> Result<H256, String> {
        let hash = tx.hash();
        if self.known.contains(&hash) {
            return Err("transaction already known".into());
        }
        let n = tx.tx.nonce;
        if n < account_nonce {
            return Err(format!(
                "nonce {n} already used (next nonce is {account_nonce})"
            ));
        }
        if n > account_nonce + MAX_NONCE_AHEAD {
            return Err(format!(
                "nonce {n} is too far ahead of the next nonce {account_nonce}"
            ));
        }
        if self.len >= MAX_POOL {
            return Err("mempool full".into());
        }
        let queue = self.by_sender.entry(tx.sender()).or_default();
        if let Some(old) = queue.get(&n) {
            if old.tx.gas_price >= tx.tx.gas_price {
                return Err(format!(
                    "a transaction with nonce {n} is already pending at a higher or equal gas price"
                ));
            }
            self.known.remove(&old.hash());
            self.len -= 1;
        }
        queue.insert(n, tx);
        self.known.insert(hash);
        self.len += 1;
        Ok(hash)
    }

    /// Takes up to `max` transactions for a block: each sender's in nonce order starting at
    /// its account nonce, highest gas price first across senders (ties by address).
    fn select(&mut self, nonce_of: impl Fn(&Address) -> u64, max: usize) -> Vec<SignedTransaction> {
        let mut next: BTreeMap<Address, u64> = BTreeMap::new();
        for (sender, queue) in self.by_sender.iter_mut() {
            let nonce = nonce_of(sender);
            let stale: Vec<u64> = queue.range(..nonce).map(|(n, _)| *n).collect();
            for n in stale {
                if let Some(t) = queue.remove(&n) {
                    self.known.remove(&t.hash());
                    self.len -= 1;
                }
            }
            next.insert(*sender, nonce);
        }
        let mut out = Vec::new();
        while out.len() < max {
            let best = next
                .iter()
                .filter_map(|(s, n)| {
                    self.by_sender
                        .get(s)
                        .and_then(|q| q.get(n))
                        .map(|t| (t.tx.gas_price, *s))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            let Some((_, sender)) = best else { break };
            let n = next[&sender];
            if let Some(t) = self.by_sender.get_mut(&sender).and_then(|q| q.remove(&n)) {
                self.known.remove(&t.hash());
                self.len -= 1;
                out.push(t);
            }
            next.insert(sender, n + 1);
        }
        self.by_sender.retain(|_, q| !q.is_empty());
        out
    }
}

/// Shared node state.
struct Node {
    chain: Mutex<Chain>,
    pool: Mutex<Mempool>,
    mode: Mode,
    blocks: broadcast::Sender<Value>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A JSON-RPC error: code and message.
struct RpcError(i64, String);

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Rejected(r) => RpcError(-32000, r.to_string()),
            other => RpcError(-32603, other.to_string()),
        }
    }
}

fn invalid(msg: impl Into<String>) -> RpcError {
    RpcError(-32602, msg.into())
}

fn block_json(n: &BlockNotification) -> Value {
    let h = &n.header.header;
    json!({
        "height": h.height,
        "hash": format!("{:?}", n.hash),
        "timestamp": h.timestamp,
        "state_root": format!("{:?}", h.state_root),
        "gas_used": h.gas_used,
        "transactions": n.receipts.iter().map(|(t, r)| json!({"hash": format!("{t:?}"), "status": r.status, "gas_used": r.gas_used})).collect::<Vec<_>>(),
        "events": n.receipts.iter().flat_map(|(t, r)| r.events.iter().map(move |e| event_json(h.height, t, e))).collect::<Vec<_>>(),
    })
}

fn event_json(height: u64, tx: &H256, e: &chainvm_runtime::Event) -> Value {
    json!({
        "block": height,
        "tx_hash": format!("{tx:?}"),
        "contract": hex(e.contract.as_bytes()),
        "topic": String::from_utf8_lossy(&e.topic),
        "data": hex(&e.data),
        "reverted": e.reverted,
    })
}

impl Node {
    /// Produces a block from the mempool and announces it.
    fn produce(&self) -> Result<u64, RpcError> {
        let mut chain = lock(&self.chain);
        let txs = {
            let mut pool = lock(&self.pool);
            pool.select(
                |a| chain.account(a).map(|x| x.nonce).unwrap_or(0),
                MAX_BLOCK_TXS,
            )
        };
        let block = chain.produce_block(&txs)?;
        let note = BlockNotification {
            header: block.header.clone(),
            hash: block.hash,
            receipts: txs
                .iter()
                .zip(&block.results)
                .filter_map(|(t, r)| r.as_ref().ok().map(|r| (t.hash(), r.clone())))
                .collect(),
        };
        let _ = self.blocks.send(block_json(&note));
        Ok(block.header.header.height)
    }

    fn param<'a>(params: &'a Value, name: &str) -> Result<&'a Value, RpcError> {
        params
            .get(name)
            .ok_or_else(|| invalid(format!("missing parameter `{name}`")))
    }

    fn str_param<'a>(params: &'a Value, name: &str) -> Result<&'a str, RpcError> {
        Self::param(params, name)?
            .as_str()
            .ok_or_else(|| invalid(format!("`{name}` must be a string")))
    }

    fn address(params: &Value, name: &str) -> Result<Address, RpcError> {
        let s = Self::str_param(params, name)?;
        parse_hex(s)
            .filter(|b| b.len() == 20)
            .map(|b| Address::from_slice(&b))
            .ok_or_else(|| invalid(format!("`{name}` must be a 0x address")))
    }

    fn hash(params: &Value, name: &str) -> Result<H256, RpcError> {
        let s = Self::str_param(params, name)?;
        parse_hex(s)
            .filter(|b| b.len() == 32)
            .map(|b| H256::from_slice(&b))
            .ok_or_else(|| invalid(format!("`{name}` must be a 0x 32-byte hash")))
    }

    fn bytes(params: &Value, name: &str) -> Result<Vec<u8>, RpcError> {
        let s = Self::str_param(params, name)?;
        parse_hex(s).ok_or_else(|| invalid(format!("`{name}` must be 0x hex")))
    }

    fn height(&self, params: &Value) -> Result<u64, RpcError> {
        match params.get("height") {
            None | Some(Value::Null) => Ok(lock(&self.chain).height()?),
            Some(Value::String(s)) if s == "latest" => Ok(lock(&self.chain).height()?),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid("`height` must be a number or \"latest\"")),
        }
    }

    /// Handles one JSON-RPC method call.
    fn call(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let raw = |v: Vec<u8>| json!(hex(&v));
        match method {
            "chainvm_chainId" => Ok(json!(lock(&self.chain).params().chain_id)),
            "chainvm_blockNumber" => Ok(json!(lock(&self.chain).height()?)),
            "chainvm_validators" => {
                let chain = lock(&self.chain);
                let snap = chain.snapshot()?;
                let vs = chainvm_runtime::staking::validators(&snap)
                    .map_err(|e| RpcError(-32603, e.to_string()))?;
                Ok(Value::Array(
                    vs.iter()
                        .map(|(a, v)| json!({"address": hex(a.as_bytes()), "stake": v.stake.to_string(), "public_key": hex(&v.public_key)}))
                        .collect(),
                ))
            }
            "chainvm_sendRawTransaction" => {
                let bytes = Self::bytes(params, "tx")?;
                let hash = {
                    let chain = lock(&self.chain);
                    let exec = chainvm_runtime::Executor::new(chain.vm(), chain.params());
                    let tx = exec
                        .decode(&bytes)
                        .map_err(|e| RpcError(-32000, e.to_string()))?;
                    exec.check_stateless(&tx, bytes.len(), true)
                        .map_err(|e| RpcError(-32000, e.to_string()))?;
                    let nonce = chain.account(&tx.sender())?.nonce;
                    // The sender's next transaction must be admissible now (funds for value
                    // plus the maximum fee): never acknowledge one no block will include.
                    // Later nonces wait in the pool; their funds depend on what precedes them.
                    if tx.tx.nonce == nonce {
                        exec.check_stateful(&chain.snapshot()?, &tx)
                            .map_err(|e| RpcError(-32000, e.to_string()))?;
                    }
                    lock(&self.pool)
                        .insert(tx, nonce)
                        .map_err(|e| RpcError(-32000, e))?
                };
                if self.mode == Mode::Automine {
                    self.produce()?;
                }
                Ok(json!({"hash": format!("{hash:?}")}))
            }
            "chainvm_simulate" => {
                let bytes = Self::bytes(params, "tx")?;
                let tx = SignedTransaction::decode(&bytes)
                    .map_err(|e| invalid(format!("not a transaction: {e}")))?;
                let receipt = lock(&self.chain).simulate(&tx)?;
                Ok(json!({"receipt": receipt, "raw": raw(receipt.encode())}))
            }
            "chainvm_view" => {
                let contract = Self::address(params, "contract")?;
                let method = Self::str_param(params, "method")?;
                let args = match params.get("args") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => Self::bytes(params, "args")?,
                };
                let caller = match params.get("caller") {
                    None | Some(Value::Null) => Address::zero(),
                    Some(_) => Self::address(params, "caller")?,
                };
                let gas = params
                    .get("gas")
                    .and_then(Value::as_u64)
                    .unwrap_or(crate::commands::CALL_GAS);
                let (out, report) = lock(&self.chain).view(caller, contract, method, &args, gas)?;
                let result: Result<Vec<u8>, chainvm_runtime::ExecError> = out;
                Ok(json!({
                    "return": result.as_ref().ok().map(|d| hex(d)),
                    "error": result.as_ref().err(),
                    "gas": report,
                    "raw": raw(borsh::to_vec(&(result, report)).unwrap_or_default()),
                }))
            }
            "chainvm_getAccount" | "chainvm_getBalance" | "chainvm_getNonce" => {
                let a = Self::address(params, "address")?;
                let acct = lock(&self.chain).account(&a)?;
                Ok(match method {
                    "chainvm_getBalance" => json!(acct.balance.to_string()),
                    "chainvm_getNonce" => json!(acct.nonce),
                    _ => {
                        json!({"account": acct, "raw": raw(borsh::to_vec(&acct).unwrap_or_default())})
                    }
                })
            }
            "chainvm_getCode" => {
                let a = Self::address(params, "address")?;
                Ok(lock(&self.chain).code(&a)?.map_or(Value::Null, raw))
            }
            "chainvm_getBlockByNumber" => {
                let h = self.height(params)?;
                self.block_by_number(h)
            }
            "chainvm_getBlockByHash" => {
                let hash = Self::hash(params, "hash")?;
                // Release the chain lock before block_by_number takes it again.
                let height = lock(&self.chain).height_of(&hash)?;
                match height {
                    Some(h) => self.block_by_number(h),
                    None => Ok(Value::Null),
                }
            }
            "chainvm_getTransaction" | "chainvm_getReceipt" => {
                let h = Self::hash(params, "hash")?;
                let Some((height, index, tx, receipt)) = lock(&self.chain).transaction(&h)? else {
                    return Ok(Value::Null);
                };
                Ok(json!({
                    "block": height,
                    "index": index,
                    "from": hex(tx.sender().as_bytes()),
                    "receipt": receipt,
                    "tx_raw": raw(tx.encode()),
                    "receipt_raw": raw(receipt.encode()),
                }))
            }
            "chainvm_getEvents" => {
                let filter = chainvm_runtime::EventFilter {
                    contract: params
                        .get("contract")
                        .filter(|v| !v.is_null())
                        .map(|_| Self::address(params, "contract"))
                        .transpose()?,
                    topic: params
                        .get("topic")
                        .and_then(Value::as_str)
                        .map(|t| t.as_bytes().to_vec()),
                    from_block: params.get("from_block").and_then(Value::as_u64),
                    to_block: params.get("to_block").and_then(Value::as_u64),
                };
                let events = lock(&self.chain).events(&filter)?;
                Ok(Value::Array(
                    events
                        .iter()
                        .map(|e| event_json(e.block, &e.tx_hash, &e.event))
                        .collect(),
                ))
            }
            "chainvm_getStateRoot" => {
                let h = self.height(params)?;
                let chain = lock(&self.chain);
                let header = chain
                    .header(h)?
                    .ok_or_else(|| RpcError(-32001, format!("no block {h}")))?;
                Ok(json!(format!("{:?}", header.header.state_root)))
            }
            "chainvm_getProof" => {
                let key = Self::bytes(params, "key")?;
                let height = match params.get("height") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(self.height(params)?),
                };
                let (value, proof, root) = lock(&self.chain).prove(&key, height)?;
                Ok(
                    json!({"value": value.map(|v| hex(&v)), "proof": hex(&proof.encode()), "state_root": format!("{root:?}")}),
                )
            }
            "chainvm_produceBlock" => Ok(json!(self.produce()?)),
            "chainvm_pending" => Ok(json!(lock(&self.pool).len)),
            _ => Err(RpcError(-32601, format!("method `{method}` not found"))),
        }
    }

    fn block_by_number(&self, height: u64) -> Result<Value, RpcError> {
        let Some(b) = lock(&self.chain).block(height)? else {
            return Ok(Value::Null);
        };
        let h = &b.header.header;
        Ok(json!({
            "height": h.height,
            "hash": format!("{:?}", h.hash()),
            "parent_hash": format!("{:?}", h.parent_hash),
            "timestamp": h.timestamp,
            "state_root": format!("{:?}", h.state_root),
            "gas_used": h.gas_used,
            "proposer": hex(h.proposer.as_bytes()),
            "header_raw": hex(&b.header.encode()),
            "transactions": b.txs.iter().map(|(t, r)| json!({"hash": format!("{:?}", t.hash()), "tx_raw": hex(&t.encode()), "receipt_raw": hex(&r.encode())})).collect::<Vec<_>>(),
        }))
    }
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn handle_one(node: &Node, req: Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return rpc_error(id, -32600, "not a JSON-RPC 2.0 request");
    }
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return rpc_error(id, -32600, "missing method");
    };
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    if !(params.is_object() || params.is_null()) {
        return rpc_error(id, -32602, "params must be an object");
    }
    match node.call(method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(RpcError(code, msg)) => rpc_error(id, code, msg),
    }
}

async fn rpc(
    State(node): State<Arc<Node>>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Json<Value> {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return Json(rpc_error(
                Value::Null,
                -32600,
                format!("request rejected: {e}"),
            ));
        }
    };
    let out = tokio::task::spawn_blocking(move || handle_body(&node, &body))
        .await
        .unwrap_or_else(|e| rpc_error(Value::Null, -32603, e.to_string()));
    Json(out)
}

/// Answers one HTTP body: a JSON-RPC request or a batch of them.
fn handle_body(node: &Node, body: &[u8]) -> Value {
    match serde_json::from_slice(body) {
        Err(e) => rpc_error(Value::Null, -32700, format!("parse error: {e}")),
        Ok(Value::Array(batch)) if batch.is_empty() => {
            rpc_error(Value::Null, -32600, "empty batch")
        }
        Ok(Value::Array(batch)) => {
            Value::Array(batch.into_iter().map(|r| handle_one(node, r)).collect())
        }
        Ok(one) => handle_one(node, one),
    }
}

/// The node's JSON-RPC handling without the HTTP server, on an in-memory dev chain: what the
/// RPC fuzz target and tests drive with arbitrary request bodies.
pub struct RpcHarness {
    node: Node,
}

impl RpcHarness {
    /// A node over a fresh in-memory chain with the dev accounts, blocks on demand only.
    pub fn in_memory() -> Res<RpcHarness> {
        let (chain, _) = Chain::builder().dev_accounts().in_memory()?;
        let (blocks, _) = broadcast::channel(16);
        Ok(RpcHarness {
            node: Node {
                chain: Mutex::new(chain),
                pool: Mutex::new(Mempool::default()),
                mode: Mode::Manual,
                blocks,
            },
        })
    }

    /// Answers `body` exactly as `POST /` would.
    pub fn handle(&self, body: &[u8]) -> Value {
        handle_body(&self.node, body)
    }
}

async fn ws(State(node): State<Arc<Node>>, upgrade: WebSocketUpgrade) -> axum::response::Response {
    upgrade.on_upgrade(move |socket| subscription(node, socket))
}

/// One WebSocket client: it sends `{"subscribe": "blocks" | "events", "from": N,
/// "contract"?: "0x..", "topic"?: ".."}`; it gets every block (or matching event) from height N
/// on, then new ones as they come.
async fn subscription(node: Arc<Node>, mut socket: WebSocket) {
    let Some(Ok(Message::Text(first))) = socket.recv().await else {
        return;
    };
    let Ok(req) = serde_json::from_str::<Value>(&first) else {
        refuse(&mut socket, "send a JSON subscription").await;
        return;
    };
    let kind = req
        .get("subscribe")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind != "blocks" && kind != "events" {
        refuse(&mut socket, "subscribe to \"blocks\" or \"events\"").await;
        return;
    }
    let contract = req
        .get("contract")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let topic = req.get("topic").and_then(Value::as_str).map(str::to_string);
    let from = req.get("from").and_then(Value::as_u64);
    // Subscribe before replaying so nothing falls between history and live blocks.
    let mut live = node.blocks.subscribe();
    let n2 = node.clone();
    let history = tokio::task::spawn_blocking(move || -> Vec<Value> {
        let Some(from) = from else { return Vec::new() };
        let latest = lock(&n2.chain).height().unwrap_or(0);
        (from..=latest).filter_map(|h| n2.replay_block(h)).collect()
    })
    .await
    .unwrap_or_default();
    let mut last_sent = None;
    let matches = |e: &Value| {
        contract
            .as_ref()
            .is_none_or(|c| e["contract"].as_str() == Some(c))
            && topic
                .as_ref()
                .is_none_or(|t| e["topic"].as_str() == Some(t))
    };
    let mut send_block = |b: &Value, out: &mut Vec<String>| {
        let h = b["height"].as_u64();
        if h.is_some() && h <= last_sent {
            return;
        }
        last_sent = h;
        if kind == "blocks" {
            out.push(b.to_string());
        } else {
            for e in b["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| matches(e))
            {
                out.push(e.to_string());
            }
        }
    };
    let mut out = Vec::new();
    for b in &history {
        send_block(b, &mut out);
    }
    if !send_all(&mut socket, &mut out).await {
        return;
    }
    loop {
        tokio::select! {
            b = live.recv() => match b {
                Ok(b) => {
                    send_block(&b, &mut out);
                    if !send_all(&mut socket, &mut out).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    refuse(&mut socket, "subscriber lagged; resubscribe from your last height").await;
                    return;
                }
                Err(_) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}

/// Sends `{"error": message}` to a subscriber (which is then closed by the caller).
async fn refuse(socket: &mut WebSocket, message: &str) {
    let text = json!({ "error": message }).to_string();
    let _ = socket.send(Message::Text(text.into())).await;
}

/// Sends and clears the queued messages; false once the subscriber has gone.
async fn send_all(socket: &mut WebSocket, out: &mut Vec<String>) -> bool {
    for m in out.drain(..) {
        if socket.send(Message::Text(m.into())).await.is_err() {
            return false;
        }
    }
    true
}

impl Node {
    /// A stored block in the same JSON shape live blocks are pushed in.
    fn replay_block(&self, height: u64) -> Option<Value> {
        let b = lock(&self.chain).block(height).ok().flatten()?;
        let note = BlockNotification {
            hash: b.header.header.hash(),
            header: b.header,
            receipts: b.txs.into_iter().map(|(t, r)| (t.hash(), r)).collect(),
        };
        Some(block_json(&note))
    }
}

/// Writes a status line to stdout, ignoring a closed stdout.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the node until SIGINT or SIGTERM.
pub fn run(home: &Path, listen: &str, mode: Mode) -> Res<()> {
    let chain = Chain::open(home)?;
    let (blocks, _) = broadcast::channel(1024);
    let node = Arc::new(Node {
        chain: Mutex::new(chain),
        pool: Mutex::new(Mempool::default()),
        mode,
        blocks,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Block execution needs a deep native stack (see the vm crate's README).
        .thread_stack_size(40 << 20)
        .build()
        .map_err(|e| CliError(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr()?;
        // Printing must never take the node down (stdout may be a closed pipe).
        say(&format!(
            "chainvm node listening on http://{addr} (ws://{addr}/ws), {mode:?}"
        ));
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let producer = if let Mode::Interval(ms) = mode {
            let node = node.clone();
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(ms.max(1)));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            let n = node.clone();
                            let _ = tokio::task::spawn_blocking(move || n.produce()).await;
                        }
                        _ = stop.changed() => return,
                    }
                }
            }))
        } else {
            None
        };
        let app = Router::new()
            .route("/", post(rpc))
            .route("/ws", get(ws))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(node.clone());
        let shutdown = async move {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = ctrl_c => {}, _ = term => {} }
            let _ = stop_tx.send(true);
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        let _ = stop_rx.changed().await;
        if let Some(p) = producer {
            // Lets a block in progress finish.
            let _ = p.await;
        }
        // Any block being produced holds the chain lock; taking it waits for that block.
        let height = lock(&node.chain).height().unwrap_or(0);
        say(&format!("chainvm node stopped at block {height}"));
        Ok::<(), CliError>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::{Keypair, Payload, Transaction, U256};

    #[test]
    fn the_rpc_harness_answers_bad_bodies_with_error_objects() {
        let h = RpcHarness::in_memory().unwrap();
        let code = |body: &[u8]| h.handle(body)["error"]["code"].as_i64();
        assert_eq!(code(b"{"), Some(-32700));
        assert_eq!(code(b"\xff\xfe"), Some(-32700));
        assert_eq!(code(b"[]"), Some(-32600));
        assert_eq!(code(b"7"), Some(-32600));
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#),
            Some(-32601)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"chainvm_sendRawTransaction","params":{"tx":"0x00"}}"#),
            Some(-32000)
        );
        // A transaction the sender cannot pay for is refused at once, not acknowledged.
        let key = &chainvm_runtime::chain::dev_keys()[1];
        let broke = Transaction {
            chain_id: 1337,
            nonce: 0,
            gas_limit: 1_000_000,
            gas_price: U256::one(),
            payload: Payload::Transfer {
                to: Address::zero(),
                amount: U256::MAX / 2,
            },
        }
        .sign(key);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction",
            "params": {"tx": hex(&broke.encode())}});
        let answer = h.handle(body.to_string().as_bytes());
        assert_eq!(answer["error"]["code"], json!(-32000), "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("insufficient funds")
        );
        let ok = h.handle(br#"{"jsonrpc":"2.0","id":1,"method":"chainvm_chainId"}"#);
        assert_eq!(ok["result"], json!(1337));
    }

    fn tx(key: &Keypair, nonce: u64, price: u64) -> SignedTransaction {
        Transaction {
            chain_id: 1,
            nonce,
            gas_limit: 1_000_000,
            gas_price: U256::from(price),
            payload: Payload::Transfer {
                to: Address::zero(),
                amount: U256::one(),
            },
        }
        .sign(key)
    }

    #[test]
    fn mempool_orders_by_nonce_per_sender_and_price_across_senders() {
        let (a, b) = (Keypair::derive("a", 0), Keypair::derive("b", 0));
        let mut pool = Mempool::default();
        pool.insert(tx(&a, 1, 10), 0).unwrap();
        pool.insert(tx(&a, 0, 1), 0).unwrap();
        pool.insert(tx(&b, 0, 5), 0).unwrap();
        pool.insert(tx(&b, 2, 50), 0).unwrap(); // gapped: waits
        assert!(pool.insert(tx(&a, 0, 1), 0).is_err(), "duplicate");
        assert!(pool.insert(tx(&a, 5, 1), 6).is_err(), "nonce too low");
        let picked = pool.select(|_| 0, 10);
        let order: Vec<(Address, u64)> = picked.iter().map(|t| (t.sender(), t.tx.nonce)).collect();
        // b's nonce 0 (price 5) beats a's nonce 0 (price 1); then a's 0 and a's 1 in nonce order.
        assert_eq!(
            order,
            vec![(b.address(), 0), (a.address(), 0), (a.address(), 1)]
        );
        assert_eq!(pool.len, 1, "the gapped transaction stays");
        // A higher price replaces a pending transaction with the same nonce.
        pool.insert(tx(&b, 1, 3), 1).unwrap();
        assert!(pool.insert(tx(&b, 1, 2), 1).is_err());
        pool.insert(tx(&b, 1, 4), 1).unwrap();
        let picked = pool.select(|_| 1, 10);
        assert_eq!(picked.len(), 2);
        assert_eq!(picked[0].tx.gas_price, U256::from(4));
        assert_eq!(picked[1].tx.nonce, 2);
    }
}
