//! A small DApp backend embedding chainvm: an HTTP service over an in-process chain with the
//! escrow and voting contracts deployed. Clients name dev accounts by index (0-9); the backend
//! signs for them, the way a custodial backend or a test harness would.
//!
//! | method | path | body | does |
//! |---|---|---|---|
//! | POST | `/escrow` | `{buyer, seller, arbiter?, amount, deadline_blocks}` | create a deal |
//! | POST | `/escrow/{id}/deliver` | `{seller}` | seller marks delivered |
//! | POST | `/escrow/{id}/confirm` | `{buyer}` | buyer releases the funds |
//! | GET | `/escrow/{id}` | | the deal |
//! | POST | `/proposals` | `{creator, title, options, duration_blocks}` | create a proposal |
//! | POST | `/proposals/{id}/vote` | `{voter, option}` | vote |
//! | POST | `/proposals/{id}/finalize` | `{}` | close and pick the winner |
//! | GET | `/proposals/{id}` | | the proposal |
//! | GET | `/events?since=N` | | decoded events from block N on |
//! | GET | `/status` | | height, state root, contract addresses |
//!
//! Contract errors come back as `400 {"error": "<typed error>"}`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chainvm_runtime::embed::EventFilter;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, Chain, ChainError, Keypair, U256};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The chain and what the backend knows about it.
pub struct Backend {
    chain: Chain,
    keys: Vec<Keypair>,
    escrow: Address,
    voting: Address,
}

/// Shared handle used by the HTTP handlers.
pub type Shared = Arc<Mutex<Backend>>;

impl Backend {
    /// A fresh in-memory chain with the escrow and voting contracts deployed.
    pub fn new(escrow_wasm: &[u8], voting_wasm: &[u8]) -> Result<Backend, ChainError> {
        let (mut chain, keys) = Chain::builder().dev_accounts().in_memory()?;
        let escrow = chain.deploy(&keys[0], escrow_wasm, Value::Null)?.address;
        let voting = chain.deploy(&keys[0], voting_wasm, Value::Null)?.address;
        Ok(Backend {
            chain,
            keys,
            escrow,
            voting,
        })
    }

    fn key(&self, i: usize) -> Result<&Keypair, ApiError> {
        self.keys
            .get(i)
            .ok_or_else(|| ApiError::bad(format!("no dev account {i}")))
    }

    fn addr(&self, i: usize) -> Result<Value, ApiError> {
        Ok(json!(hex(self.key(i)?.address().as_bytes())))
    }

    fn call(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: Value,
        value: u128,
    ) -> Result<Value, ApiError> {
        let key = self.key(from)?.clone();
        let r = self
            .chain
            .call(&key, contract, method, args, U256::from(value))
            .map_err(ApiError::from)?;
        if !r.receipt.is_success() {
            let reason = if r.value.is_null() {
                r.receipt.error.map(|e| e.to_string()).unwrap_or_default()
            } else {
                r.value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| r.value.to_string())
            };
            return Err(ApiError::bad(reason));
        }
        Ok(json!({
            "result": r.value,
            "tx_hash": format!("{:?}", r.receipt.tx_hash),
            "gas_used": r.receipt.gas_used,
            "events": r.events.iter().map(|(n, d)| json!({"event": n, "data": d})).collect::<Vec<_>>(),
        }))
    }

    fn view(&self, contract: Address, method: &str, args: Value) -> Result<Value, ApiError> {
        self.chain
            .view(contract, method, args)
            .map_err(ApiError::from)
    }
}

/// An HTTP error with a JSON body.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Rejected(r) => ApiError::bad(r.to_string()),
            ChainError::Config(c) => ApiError::bad(c),
            // The caller's doing: a bad method or argument, no contract, a failed deploy/view.
            e @ (ChainError::Abi(_)
            | ChainError::NoContract(_)
            | ChainError::DeployFailed { .. }
            | ChainError::ViewFailed(_)
            | ChainError::Io { .. }
            | ChainError::Json { .. }
            | ChainError::KeyGeneration(_)) => ApiError::bad(e.to_string()),
            other => ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

type Reply = Result<Json<Value>, ApiError>;

/// Runs `f` on the backend on a blocking thread (execution is CPU work, not async work).
async fn with<F>(state: Shared, f: F) -> Reply
where
    F: FnOnce(&mut Backend) -> Result<Value, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut b = state
            .lock()
            .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "backend poisoned".into()))?;
        f(&mut b).map(Json)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

#[derive(Deserialize)]
struct CreateDeal {
    buyer: usize,
    seller: usize,
    arbiter: Option<usize>,
    amount: u128,
    deadline_blocks: u64,
}

#[derive(Deserialize)]
struct Party {
    #[serde(alias = "seller", alias = "buyer", alias = "voter", alias = "creator")]
    account: usize,
}

#[derive(Deserialize)]
struct CreateProposal {
    creator: usize,
    title: String,
    options: Vec<String>,
    duration_blocks: u64,
}

#[derive(Deserialize)]
struct Vote {
    voter: usize,
    option: u32,
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

/// The HTTP routes over `state`.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/escrow", post(create_deal))
        .route("/escrow/{id}", get(get_deal))
        .route("/escrow/{id}/deliver", post(deliver))
        .route("/escrow/{id}/confirm", post(confirm))
        .route("/proposals", post(create_proposal))
        .route("/proposals/{id}", get(get_proposal))
        .route("/proposals/{id}/vote", post(vote))
        .route("/proposals/{id}/finalize", post(finalize))
        .route("/events", get(events))
        .with_state(state)
}

async fn status(State(s): State<Shared>) -> Reply {
    with(s, |b| {
        Ok(json!({
            "height": b.chain.height()?,
            "state_root": format!("{:?}", b.chain.state_root()?),
            "escrow": hex(b.escrow.as_bytes()),
            "voting": hex(b.voting.as_bytes()),
        }))
    })
    .await
}

async fn create_deal(State(s): State<Shared>, Json(d): Json<CreateDeal>) -> Reply {
    with(s, move |b| {
        let arbiter = d.arbiter.map(|a| b.addr(a)).transpose()?.unwrap_or(Value::Null);
        let args = json!({"seller": b.addr(d.seller)?, "arbiter": arbiter, "deadline_blocks": d.deadline_blocks});
        let escrow = b.escrow;
        b.call(d.buyer, escrow, "create", args, d.amount)
    })
    .await
}

async fn get_deal(State(s): State<Shared>, Path(id): Path<u64>) -> Reply {
    with(s, move |b| {
        match b.view(b.escrow, "get_deal", json!({"id": id}))? {
            Value::Null => Err(ApiError(StatusCode::NOT_FOUND, format!("no deal {id}"))),
            deal => Ok(deal),
        }
    })
    .await
}

async fn deliver(State(s): State<Shared>, Path(id): Path<u64>, Json(p): Json<Party>) -> Reply {
    with(s, move |b| {
        let escrow = b.escrow;
        b.call(p.account, escrow, "mark_delivered", json!({"id": id}), 0)
    })
    .await
}

async fn confirm(State(s): State<Shared>, Path(id): Path<u64>, Json(p): Json<Party>) -> Reply {
    with(s, move |b| {
        let escrow = b.escrow;
        b.call(p.account, escrow, "confirm", json!({"id": id}), 0)
    })
    .await
}

async fn create_proposal(State(s): State<Shared>, Json(p): Json<CreateProposal>) -> Reply {
    with(s, move |b| {
        let start = b.chain.height()? + 1;
        let args = json!({"title": p.title, "options": p.options, "start": start, "end": start + p.duration_blocks});
        let voting = b.voting;
        b.call(p.creator, voting, "create_proposal", args, 0)
    })
    .await
}

async fn get_proposal(State(s): State<Shared>, Path(id): Path<u64>) -> Reply {
    with(s, move |b| {
        match b.view(b.voting, "get_proposal", json!({"id": id}))? {
            Value::Null => Err(ApiError(StatusCode::NOT_FOUND, format!("no proposal {id}"))),
            p => Ok(p),
        }
    })
    .await
}

async fn vote(State(s): State<Shared>, Path(id): Path<u64>, Json(v): Json<Vote>) -> Reply {
    with(s, move |b| {
        let voting = b.voting;
        b.call(
            v.voter,
            voting,
            "vote",
            json!({"id": id, "option": v.option}),
            0,
        )
    })
    .await
}

async fn finalize(State(s): State<Shared>, Path(id): Path<u64>) -> Reply {
    with(s, move |b| {
        // Close the window first if it is still open: a backend for a demo may fast-forward.
        let end = b.view(b.voting, "get_proposal", json!({"id": id}))?["end"]
            .as_u64()
            .unwrap_or(0);
        while b.chain.height()? <= end {
            b.chain.produce_block(&[])?;
        }
        let voting = b.voting;
        b.call(0, voting, "finalize", json!({"id": id}), 0)
    })
    .await
}

async fn events(State(s): State<Shared>, Query(q): Query<Since>) -> Reply {
    with(s, move |b| {
        let logged = b.chain.events(&EventFilter { from_block: q.since, ..Default::default() })?;
        let mut out = Vec::new();
        for e in logged {
            let abi = b.chain.abi(&e.event.contract)?;
            let decoded = abi.decode_event(&e.event.topic, &e.event.data).ok().flatten();
            let (name, data) = decoded.unwrap_or((String::from_utf8_lossy(&e.event.topic).into_owned(), json!(hex(&e.event.data))));
            out.push(json!({"block": e.block, "contract": hex(e.event.contract.as_bytes()), "event": name, "data": data}));
        }
        Ok(Value::Array(out))
    })
    .await
}
