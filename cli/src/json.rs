//! The JSON shapes only the CLI prints: a receipt's events decoded with the contract's ABI.
//! The shapes the node serves too (events, block summaries, header fields) are written once,
//! in [`chainvm_node::json`], and used from there.

use chainvm_node::json::event_json;
use chainvm_runtime::Receipt;
use chainvm_runtime::abi::ContractAbi;
use serde_json::{Value, json};

/// A receipt's events as the CLI prints them: decoded with `abi` where it can (then named by
/// `event` instead of `topic`), raw otherwise.
pub fn receipt_events_json(receipt: &Receipt, abi: Option<&ContractAbi>) -> Vec<Value> {
    receipt
        .events
        .iter()
        .map(|e| {
            let decoded = abi.and_then(|a| a.decode_event(&e.topic, &e.data).ok().flatten());
            Value::Object(match decoded {
                Some((name, data)) => {
                    let mut m = event_json(e, Some(data));
                    m.remove("topic");
                    m.insert("event".into(), json!(name));
                    m
                }
                None => event_json(e, None),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::{Address, Event, H256};

    fn event(topic: &str, data: &[u8], reverted: bool) -> Event {
        Event {
            contract: Address::repeat_byte(0xab),
            topic: topic.as_bytes().to_vec(),
            data: data.to_vec(),
            reverted,
        }
    }

    #[test]
    fn receipt_events_without_an_abi_stay_raw_with_their_topic() {
        let receipt = Receipt {
            tx_hash: H256::zero(),
            status: chainvm_runtime::Status::Success,
            gas_used: 1,
            gas: Default::default(),
            return_data: vec![],
            events: vec![event("A", &[5], false), event("B", &[], true)],
            contract_address: None,
            error: None,
        };
        let v = receipt_events_json(&receipt, None);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["topic"], "A");
        assert_eq!(v[0]["data"], "0x05");
        assert_eq!(v[1]["reverted"], true);
        assert!(v[0].get("event").is_none());
        assert!(v[0].get("block").is_none());
    }
}
