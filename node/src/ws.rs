//! WebSocket subscriptions at `/ws`: blocks or contract events, replayed from a height and
//! then pushed live.
//!
//! Every block a subscriber gets is read from the store through the node's reader (never
//! under the chain lock), a step at a time, each step sent before the next is read: a step is
//! at most [`REPLAY_CHUNK`] blocks and stops once [`REPLAY_BYTES`] of messages are queued, so
//! a subscriber holds about that much memory (plus one block) however far back it starts and
//! however large blocks are. The broadcast channel carries only the heights of new blocks, to
//! wake subscribers; one that lags behind it simply reads on from the store. Progress is one
//! height counter, so nothing is skipped and nothing is sent twice.

use super::Node;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Most blocks read from the store per step.
const REPLAY_CHUNK: u64 = 32;
/// A step stops reading blocks once this many bytes of messages are queued (it always takes
/// at least one block).
const REPLAY_BYTES: usize = 4 << 20;

/// `GET /ws`.
pub(super) async fn ws(
    State(node): State<Arc<Node>>,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    upgrade.on_upgrade(move |socket| subscription(node, socket))
}

/// What one subscriber asked for.
#[derive(Clone)]
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
    // Subscribe before reading the height so no new block goes unnoticed.
    let mut live = node.blocks.subscribe();
    let mut next = match req.get("from").and_then(Value::as_u64) {
        Some(from) => from,
        None => node.reader.height().map_or(0, |h| h + 1),
    };
    let wanted = Arc::new(wanted);
    loop {
        // Catch up from the store, one bounded step at a time.
        loop {
            let (n, w, start) = (node.clone(), wanted.clone(), next);
            let (mut out, read) = tokio::task::spawn_blocking(move || read_step(&n, &w, start))
                .await
                .unwrap_or_default();
            if read == 0 {
                break;
            }
            next += read;
            if !send_all(&mut socket, &mut out).await {
                return;
            }
        }
        // Then wait for a new block (a lag only means several came: read on).
        tokio::select! {
            b = live.recv() => {
                if let Err(broadcast::error::RecvError::Closed) = b {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}

/// Reads blocks from `start` on: the messages they give this subscriber, and how many blocks
/// were read (0 when `start` is past the latest block).
fn read_step(node: &Node, wanted: &Wanted, start: u64) -> (Vec<String>, u64) {
    let Ok(latest) = node.reader.height() else {
        return (Vec::new(), 0);
    };
    let (mut out, mut bytes, mut h) = (Vec::new(), 0usize, start);
    while h <= latest && h - start < REPLAY_CHUNK && bytes < REPLAY_BYTES {
        let Some(block) = node.replay_block(h) else {
            break;
        };
        let before = out.len();
        wanted.push(&block, &mut out);
        bytes += out[before..].iter().map(String::len).sum::<usize>();
        h += 1;
    }
    (out, h - start)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mode, Settings};
    use chainvm_runtime::Chain;

    #[test]
    fn replay_reads_bounded_steps_in_height_order_from_the_store() {
        let (mut chain, _) = Chain::builder().dev_accounts().in_memory().unwrap();
        chain.advance_blocks(40).unwrap();
        let node = Node::new(chain, Mode::Manual, Settings::default(), 4);
        let all = Wanted {
            blocks: true,
            contract: None,
            topic: None,
        };
        let (first, read) = read_step(&node, &all, 0);
        assert_eq!(read, REPLAY_CHUNK, "one step reads at most a chunk");
        assert_eq!(first.len() as u64, read);
        let (rest, more) = read_step(&node, &all, read);
        assert_eq!(more, 41 - REPLAY_CHUNK, "heights 0..=40 in two steps");
        let heights: Vec<u64> = first
            .iter()
            .chain(&rest)
            .map(|m| {
                serde_json::from_str::<Value>(m).unwrap()["height"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(heights, (0..=40).collect::<Vec<_>>());
        assert_eq!(
            read_step(&node, &all, 41),
            (Vec::new(), 0),
            "nothing past the tip"
        );
        // The live channel carries heights only: its ring never holds a block.
        let mut rx = node.blocks.subscribe();
        assert!(node.produce().is_ok());
        assert_eq!(rx.try_recv().unwrap(), 41);
    }
}
