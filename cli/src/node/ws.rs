//! WebSocket subscriptions at `/ws`: blocks or contract events, replayed from a height and
//! then pushed live.
//!
//! History is streamed from the store a chunk of blocks at a time through the node's
//! reader (never under the chain lock), each chunk sent before the next is read, so a
//! subscriber costs at most one chunk of memory however far back it starts. Live blocks
//! come from a broadcast channel of bounded capacity; a subscriber that falls behind it (or
//! sees a gap) goes back to the store and catches up from there, so nothing is skipped and
//! nothing is sent twice.

use super::Node;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Blocks read from the store per replay step.
const REPLAY_CHUNK: u64 = 32;

/// `GET /ws`.
pub(super) async fn ws(
    State(node): State<Arc<Node>>,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    upgrade.on_upgrade(move |socket| subscription(node, socket))
}

/// What one subscriber asked for.
struct Wanted {
    blocks: bool,
    contract: Option<String>,
    topic: Option<String>,
}

impl Wanted {
    /// Queues the messages `block` gives this subscriber.
    fn push(&self, block: &Value, out: &mut Vec<String>) {
        if self.blocks {
            out.push(block.to_string());
            return;
        }
        for e in block["events"].as_array().into_iter().flatten() {
            let contract_ok = self
                .contract
                .as_ref()
                .is_none_or(|c| e["contract"].as_str() == Some(c));
            let topic_ok = self
                .topic
                .as_ref()
                .is_none_or(|t| e["topic"].as_str() == Some(t));
            if contract_ok && topic_ok {
                out.push(e.to_string());
            }
        }
    }
}

/// One WebSocket client: it sends `{"subscribe": "blocks" | "events", "from": N,
/// "contract"?: "0x..", "topic"?: ".."}`; it gets every block (or matching event) from height N
/// on, then new ones as they come (without `from`: only new ones).
async fn subscription(node: Arc<Node>, mut socket: WebSocket) {
    let Some(Ok(Message::Text(first))) = socket.recv().await else {
        return;
    };
    let Ok(req) = serde_json::from_str::<Value>(&first) else {
        refuse(&mut socket, "send a JSON subscription").await;
        return;
    };
    let kind = req.get("subscribe").and_then(Value::as_str).unwrap_or("");
    if kind != "blocks" && kind != "events" {
        refuse(&mut socket, "subscribe to \"blocks\" or \"events\"").await;
        return;
    }
    let wanted = Wanted {
        blocks: kind == "blocks",
        contract: req
            .get("contract")
            .and_then(Value::as_str)
            .map(str::to_lowercase),
        topic: req.get("topic").and_then(Value::as_str).map(str::to_string),
    };
    // Subscribe before reading the height so nothing falls between history and live blocks.
    let mut live = node.blocks.subscribe();
    let mut next = match req.get("from").and_then(Value::as_u64) {
        Some(from) => from,
        None => node.reader.height().map_or(0, |h| h + 1),
    };
    let mut out = Vec::new();
    loop {
        // Catch up from the store, one chunk at a time.
        loop {
            let n = node.clone();
            let start = next;
            let chunk = tokio::task::spawn_blocking(move || -> Vec<Value> {
                let Ok(latest) = n.reader.height() else {
                    return Vec::new();
                };
                let end = latest.min(start.saturating_add(REPLAY_CHUNK - 1));
                (start..=end).map_while(|h| n.replay_block(h)).collect()
            })
            .await
            .unwrap_or_default();
            if chunk.is_empty() {
                break;
            }
            for b in &chunk {
                wanted.push(b, &mut out);
            }
            next += chunk.len() as u64;
            if !send_all(&mut socket, &mut out).await {
                return;
            }
        }
        // Then live blocks, until a gap or a lag sends us back to the store.
        loop {
            tokio::select! {
                b = live.recv() => match b {
                    Ok(b) => {
                        let Some(h) = b["height"].as_u64() else { continue };
                        if h < next {
                            continue;
                        }
                        if h > next {
                            break;
                        }
                        wanted.push(&b, &mut out);
                        next += 1;
                        if !send_all(&mut socket, &mut out).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    _ => {}
                },
            }
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
