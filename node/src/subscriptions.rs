//! `chainvm_subscribe`: blocks or contract events, replayed from a height and then pushed
//! live, as `chainvm_subscription` notifications (Ethereum's `eth_subscribe` shape:
//! `{"jsonrpc": "2.0", "method": "chainvm_subscription", "params": {"subscription": ID,
//! "result": …}}`); `chainvm_unsubscribe` with the ID ends one.
//!
//! Params: `["blocks", {"from"?: N}]` or `["events", {"from"?: N, "contract"?: "0x…",
//! "topic"?: "…"}]` (the options object may be left out). With `from`, every block (or
//! matching event) from height N on, then new ones as they come; without it, only new ones.
//!
//! Every block a subscriber gets is read from the store through the node's reader (never
//! under the chain lock), a step at a time, each step queued before the next is read: a step
//! is at most [`REPLAY_CHUNK`] blocks and stops once [`REPLAY_BYTES`] of messages are queued,
//! and queueing waits while the connection's buffer is full, so a subscriber holds about that
//! much memory (plus its buffer) however far back it starts and however large blocks are.
//! The broadcast channel carries only the heights of new blocks, to wake subscribers; one
//! that lags behind it simply reads on from the store. Progress is one height counter, so
//! nothing is skipped and nothing is sent twice.

use super::Node;
use crate::rpc::{RpcError, address, invalid, opt_u64};
use chainvm_runtime::types::hex;
use jsonrpsee::server::PendingSubscriptionSink;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Most blocks read from the store per step.
const REPLAY_CHUNK: u64 = 32;
/// A step stops reading blocks once this many bytes of messages are queued (it always takes
/// at least one block).
const REPLAY_BYTES: usize = 4 << 20;

/// What one subscriber asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Wanted {
    blocks: bool,
    /// The contract's address, as the events' `contract` field writes it.
    contract: Option<String>,
    topic: Option<String>,
}

impl Wanted {
    /// Queues the messages `block` gives this subscriber.
    fn push(&self, block: &Value, out: &mut Vec<Box<RawValue>>) {
        if self.blocks {
            out.extend(serde_json::value::to_raw_value(block));
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
                out.extend(serde_json::value::to_raw_value(e));
            }
        }
    }
}

/// Parses `chainvm_subscribe`'s params: what is wanted, and the height to start from.
fn parse(params: &Params) -> Result<(Wanted, Option<u64>), RpcError> {
    let usage =
        || invalid("params: [\"blocks\" or \"events\", {\"from\"?, \"contract\"?, \"topic\"?}]");
    let Ok(Value::Array(list)) = params.parse::<Value>() else {
        return Err(usage());
    };
    let blocks = match list.first().and_then(Value::as_str) {
        Some("blocks") => true,
        Some("events") => false,
        _ => return Err(usage()),
    };
    let options = match list.get(1) {
        None | Some(Value::Null) => Value::Null,
        Some(o @ Value::Object(_)) => o.clone(),
        Some(_) => return Err(invalid("the subscription's options must be an object")),
    };
    if list.len() > 2 {
        return Err(usage());
    }
    let contract = match options.get("contract") {
        None | Some(Value::Null) => None,
        Some(_) => Some(hex(address(&options, "contract")?.as_bytes())),
    };
    let topic = match options.get("topic") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("`topic` must be a string")),
    };
    if blocks && (contract.is_some() || topic.is_some()) {
        return Err(invalid("`contract` and `topic` filter events, not blocks"));
    }
    let wanted = Wanted {
        blocks,
        contract,
        topic,
    };
    Ok((wanted, opt_u64(&options, "from")?))
}

/// One subscription: accepted (or refused with a JSON-RPC error) and then fed until the
/// subscriber unsubscribes, goes away, or the node stops.
pub(crate) async fn subscribe(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    node: Arc<Node>,
) {
    let (wanted, from) = match parse(&params) {
        Ok(w) => w,
        Err(e) => {
            pending.reject(ErrorObjectOwned::from(e)).await;
            return;
        }
    };
    // Subscribe before reading the height so no new block goes unnoticed.
    let mut live = node.blocks.subscribe();
    let mut next = match from {
        Some(from) => from,
        None => node.reader.height().map_or(0, |h| h + 1),
    };
    let Ok(sink) = pending.accept().await else {
        return;
    };
    let wanted = Arc::new(wanted);
    loop {
        // Catch up from the store, one bounded step at a time.
        loop {
            let (n, w, start) = (node.clone(), wanted.clone(), next);
            let (out, read) = tokio::task::spawn_blocking(move || read_step(&n, &w, start))
                .await
                .unwrap_or_default();
            if read == 0 {
                break;
            }
            next += read;
            for m in out {
                if sink.send(m).await.is_err() {
                    return;
                }
            }
        }
        // Then wait for a new block (a lag only means several came: read on).
        tokio::select! {
            b = live.recv() => {
                if let Err(broadcast::error::RecvError::Closed) = b {
                    return;
                }
            }
            _ = sink.closed() => return,
        }
    }
}

/// Reads blocks from `start` on: the messages they give this subscriber, and how many blocks
/// were read (0 when `start` is past the latest block).
fn read_step(node: &Node, wanted: &Wanted, start: u64) -> (Vec<Box<RawValue>>, u64) {
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
        bytes += out[before..].iter().map(|m| m.get().len()).sum::<usize>();
        h += 1;
    }
    (out, h - start)
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
                serde_json::from_str::<Value>(m.get()).unwrap()["height"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(heights, (0..=40).collect::<Vec<_>>());
        let (none, zero) = read_step(&node, &all, 41);
        assert!(none.is_empty() && zero == 0, "nothing past the tip");
        // The live channel carries heights only: its ring never holds a block.
        let mut rx = node.blocks.subscribe();
        assert!(node.produce().is_ok());
        assert_eq!(rx.try_recv().unwrap(), 41);
    }

    #[test]
    fn subscription_params_name_a_kind_and_optional_filters() {
        let p = |json: &str| parse(&Params::new(Some(json)));
        let blocks = Wanted {
            blocks: true,
            contract: None,
            topic: None,
        };
        assert_eq!(p(r#"["blocks"]"#).unwrap(), (blocks.clone(), None));
        assert_eq!(p(r#"["blocks", {"from": 7}]"#).unwrap(), (blocks, Some(7)));
        let contract = format!("0x{}", "AB".repeat(20));
        let (events, from) = p(&format!(
            r#"["events", {{"contract": "{contract}", "topic": "Transfer"}}]"#
        ))
        .unwrap();
        assert_eq!(from, None);
        assert!(!events.blocks);
        assert_eq!(events.contract, Some(contract.to_lowercase()));
        assert_eq!(events.topic.as_deref(), Some("Transfer"));
        for bad in [
            r#"{"subscribe": "blocks"}"#,
            r#"["headers"]"#,
            r#"[]"#,
            r#"["events", 5]"#,
            r#"["events", {"contract": "0x12"}]"#,
            r#"["events", {"from": -1}]"#,
            r#"["blocks", {"topic": "Transfer"}]"#,
            r#"["blocks", {}, 1]"#,
        ] {
            assert!(matches!(p(bad), Err(RpcError(-32602, _))), "{bad}");
        }
    }
}
