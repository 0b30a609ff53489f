//! Forwarding admitted transactions to the other nodes of a network, so whichever validator
//! proposes next can include them (the engine gossips consensus messages, not transactions).
//!
//! A transaction a client sent is posted to every peer's `chainvm_sendRawTransaction` with
//! `"forwarded": true`; a forwarded one is never forwarded again, so a transaction crosses
//! each link at most once. Delivery is best effort: a peer that is down misses it, and the
//! node that admitted it still proposes it in its own turn.

use std::sync::mpsc;
use std::time::Duration;

/// How long one post to a peer may take.
const POST_TIMEOUT: Duration = Duration::from_secs(2);
/// Most transactions waiting to be forwarded; more are not forwarded (the admitting node
/// still holds them).
const QUEUE: usize = 16_384;

/// Sends admitted transactions to the peers' RPC on a thread of its own.
pub struct Forwarder {
    queue: mpsc::SyncSender<String>,
}

impl Forwarder {
    /// A forwarder to the JSON-RPC URLs `peers`.
    pub fn new(peers: Vec<String>) -> Forwarder {
        let (queue, rx) = mpsc::sync_channel::<String>(QUEUE);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(POST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        std::thread::Builder::new()
            .name("chainvm-forward".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    // Batch what is queued: one request per peer per batch.
                    let mut batch = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                        if batch.len() >= crate::MAX_BATCH {
                            break;
                        }
                    }
                    let body: Vec<serde_json::Value> = batch
                        .iter()
                        .enumerate()
                        .map(|(i, tx)| {
                            serde_json::json!({"jsonrpc": "2.0", "id": i,
                                "method": "chainvm_sendRawTransaction",
                                "params": {"tx": tx, "forwarded": true}})
                        })
                        .collect();
                    let body = serde_json::Value::Array(body).to_string();
                    for peer in &peers {
                        // A peer that is down or refuses misses these: best effort.
                        let _ = agent
                            .post(peer)
                            .header("content-type", "application/json")
                            .send(body.as_str());
                    }
                }
            })
            .ok();
        Forwarder { queue }
    }

    /// Queues the hex encoding of an admitted transaction for the peers.
    pub fn forward(&self, raw_hex: String) {
        let _ = self.queue.try_send(raw_hex);
    }
}
