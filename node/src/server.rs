//! The JSON-RPC 2.0 server (jsonrpsee): HTTP `POST` and WebSocket on one port, every method
//! of [`crate::rpc::METHODS`], the `chainvm_subscribe`/`chainvm_unsubscribe` subscriptions,
//! the limits, and [`RpcHarness`] (the same HTTP handling without a socket, for the fuzz
//! target and tests).
//!
//! Each call runs on the blocking pool, since views and block production may run long,
//! except a single small `chainvm_sendRawTransaction` outside automine, answered on the
//! connection's own task (see [`answers_at_once`]).

use crate::explorer::ExplorerLayer;
use crate::origin::OriginLayer;
use crate::rpc::{METHODS, RpcError, object_params};
use crate::{Mode, Node, NodeError, Result, Settings, subscriptions};
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, ConnectionGuard, ConnectionState, HttpBody, IdProvider, Methods, RpcModule,
    ServerConfig, ServerHandle, StopHandle, stop_channel,
};
use jsonrpsee::types::{ErrorObjectOwned, SubscriptionId};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::layer::util::{Identity, Stack};

/// Largest JSON-RPC request body (HTTP) or message (WebSocket).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most requests in one JSON-RPC batch.
pub const MAX_BATCH: usize = 100;
/// Most connections (HTTP and WebSocket) open at once; more are answered HTTP 429.
pub const MAX_CONNECTIONS: u32 = 1024;
/// Messages (answers and notifications) queued per WebSocket connection: a subscriber that
/// reads slowly holds up its own subscriptions at this many, never the node.
const MESSAGE_BUFFER: u32 = 64;
/// Largest raw transaction (in hex characters) admitted on the connection's own task.
const INLINE_TX_HEX: usize = 16 << 10;

/// The server's settings: the limits above, subscription ids `0x1`, `0x2`, …; answers are
/// not capped in size (the chain bounds blocks, and event pages are bounded).
pub(crate) fn config() -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(MAX_BODY as u32)
        .max_response_body_size(u32::MAX)
        .max_connections(MAX_CONNECTIONS)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH as u32))
        .set_message_buffer_capacity(MESSAGE_BUFFER)
        .set_id_provider(HexIds::default())
        .build()
}

/// Subscription ids as Ethereum nodes write them: `0x` and hex digits, here of a counter
/// (ids are per connection in jsonrpsee, so they need not be unguessable).
#[derive(Debug, Default)]
struct HexIds(AtomicU64);

impl IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        SubscriptionId::Str(format!("0x{n:x}").into())
    }
}

/// Whether a call is answered on the connection's task instead of the blocking pool: a
/// single small transaction when blocks are not produced per transaction. Its admission never
/// waits for the chain lock and costs about one signature check, less than the hand-off to
/// another thread would; everything else (views, deploys with code to validate, automine's
/// block per transaction) may run long and goes to the blocking pool.
fn answers_at_once(node: &Node, method: &str, params: &Value) -> bool {
    node.mode != Mode::Automine
        && method == "chainvm_sendRawTransaction"
        && params
            .get("tx")
            .and_then(Value::as_str)
            .is_some_and(|tx| tx.len() <= INLINE_TX_HEX)
}

/// Answers one call of `method`.
async fn answer(
    node: Arc<Node>,
    method: &'static str,
    raw: Option<&str>,
) -> std::result::Result<Value, RpcError> {
    let params = object_params(raw)?;
    if answers_at_once(&node, method, &params) {
        return node.call(method, &params);
    }
    tokio::task::spawn_blocking(move || node.call(method, &params))
        .await
        .map_err(|e| RpcError(-32603, e.to_string()))?
}

/// The HTTP layers in front of jsonrpsee, outermost first.
type HttpLayers = Stack<ExplorerLayer, Stack<OriginLayer, Identity>>;

/// The HTTP layers in front of jsonrpsee: the `Origin` check ([`crate::origin`]) on every
/// request, WebSocket upgrades included, then the explorer's files ([`crate::explorer`]) for
/// `GET`s.
pub(crate) fn http_middleware(cors: crate::Cors) -> tower::ServiceBuilder<HttpLayers> {
    tower::ServiceBuilder::new()
        .layer(OriginLayer::new(cors))
        .layer(ExplorerLayer)
}

/// Every method and the subscriptions, over `node`.
pub(crate) fn methods(node: Arc<Node>) -> Result<Methods> {
    let mut module = RpcModule::from_arc(node);
    for &method in METHODS {
        module.register_async_method(method, move |params, node, _| async move {
            answer(node, method, params.as_str())
                .await
                .map_err(ErrorObjectOwned::from)
        })?;
    }
    module.register_subscription(
        "chainvm_subscribe",
        "chainvm_subscription",
        "chainvm_unsubscribe",
        |params, pending, node, _| subscriptions::subscribe(params, pending, node),
    )?;
    Ok(module.into())
}

/// The node's JSON-RPC handling without a socket, on an in-memory dev chain: what the RPC
/// fuzz target and tests drive with arbitrary request bodies.
pub struct RpcHarness {
    methods: Methods,
    runtime: tokio::runtime::Runtime,
    stop: StopHandle,
    /// Keeps `stop` from firing.
    _handle: ServerHandle,
    connections: ConnectionGuard,
}

impl RpcHarness {
    /// A node over a fresh in-memory chain with the dev accounts, blocks on demand only.
    pub fn in_memory() -> Result<RpcHarness> {
        let (chain, _) = chainvm_runtime::Chain::builder()
            .dev_accounts()
            .in_memory()?;
        let node = Arc::new(Node::new(chain, Mode::Manual, Settings::default(), 16));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Execution needs a deep native stack (see the vm crate's README).
            .thread_stack_size(40 << 20)
            .build()
            .map_err(NodeError::Runtime)?;
        let (stop, handle) = stop_channel();
        Ok(RpcHarness {
            methods: methods(node)?,
            runtime,
            stop,
            _handle: handle,
            connections: ConnectionGuard::new(MAX_CONNECTIONS as usize),
        })
    }

    /// Answers `body` exactly as an HTTP `POST /` would: the JSON answer, or `Null` where
    /// there is none (a notification, a request without an id, is not answered).
    pub fn handle(&self, body: &[u8]) -> Value {
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri("/")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(HttpBody::from(body.to_vec()));
        let (Ok(request), Some(permit)) = (request, self.connections.try_acquire()) else {
            return Value::Null;
        };
        let connection = ConnectionState::new(self.stop.clone(), 0, permit);
        self.runtime.block_on(async {
            let response = jsonrpsee::server::http::call_with_service_builder(
                request,
                config(),
                connection,
                self.methods.clone(),
                RpcServiceBuilder::new(),
            )
            .await;
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::types::hex;
    use chainvm_runtime::{Address, Payload, Transaction, U256};
    use serde_json::json;

    #[test]
    fn the_rpc_harness_answers_bad_bodies_with_error_objects() {
        let h = RpcHarness::in_memory().unwrap();
        let code = |body: &[u8]| h.handle(body)["error"]["code"].as_i64();
        assert_eq!(code(b"{"), Some(-32700));
        assert_eq!(code(b"\xff\xfe"), Some(-32700));
        assert_eq!(code(b"7"), Some(-32700), "not an object or array");
        assert_eq!(code(b"[]"), Some(-32600));
        assert_eq!(
            code(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            Some(-32600)
        );
        let one = r#"{"jsonrpc":"2.0","id":1,"method":"chainvm_chainId"}"#;
        let batch = |n: usize| format!("[{}]", vec![one; n].join(","));
        assert_eq!(
            h.handle(batch(MAX_BATCH).as_bytes())
                .as_array()
                .map(Vec::len),
            Some(MAX_BATCH)
        );
        assert_eq!(code(batch(MAX_BATCH + 1).as_bytes()), Some(-32010));
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#),
            Some(-32601)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"chainvm_chainId","params":[1]}"#),
            Some(-32602)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"chainvm_sendRawTransaction","params":{"tx":"0x00"}}"#),
            Some(-32000)
        );
        // A transaction the sender cannot pay for is refused at once, not acknowledged.
        let key = &chainvm_runtime::genesis::dev_keys()[1];
        let broke = Payload::Transfer {
            to: Address::zero(),
            amount: U256::MAX / 2,
        };
        let broke = Transaction::new(1337, 0, broke).sign(key);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_sendRawTransaction", "params": {"tx": hex(&broke.encode())}});
        let answer = h.handle(body.to_string().as_bytes());
        assert_eq!(answer["error"]["code"], json!(-32000), "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("insufficient funds")
        );
        let ok = h.handle(one.as_bytes());
        assert_eq!(ok["result"], json!(1337));
        assert_eq!(ok["id"], json!(1));
    }

    #[test]
    fn a_request_without_an_id_is_a_notification_and_gets_no_answer() {
        let h = RpcHarness::in_memory().unwrap();
        let answer = h.handle(br#"{"jsonrpc":"2.0","method":"chainvm_produceBlock"}"#);
        assert_eq!(answer, Value::Null);
        let height = h.handle(br#"{"jsonrpc":"2.0","id":"h","method":"chainvm_blockNumber"}"#);
        assert_eq!(height["result"], json!(0), "a notification is not run");
        assert_eq!(height["id"], json!("h"));
    }

    #[test]
    fn the_harness_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<RpcHarness>();
    }

    #[test]
    fn subscription_ids_are_hex_and_distinct() {
        let ids = HexIds::default();
        let (a, b) = (ids.next_id(), ids.next_id());
        assert_eq!(a, SubscriptionId::Str("0x1".into()));
        assert_eq!(b, SubscriptionId::Str("0x2".into()));
    }
}
