//! The JSON shapes the node serves and the CLI prints, each written once: events (with or
//! without where they were logged), a block's transaction list, and the header fields every
//! block shape shares. The CLI builds its own shapes (ABI-decoded events) on these.

use chainvm_runtime::block::Header;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Event, H256, Receipt};
use serde_json::{Map, Value, json};

/// An event: its `contract`, `topic` (as text), `data` and whether it was `reverted`. `data`
/// is the ABI-decoded value where the caller has one, the raw bytes in hex otherwise.
pub fn event_json(e: &Event, data: Option<Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("contract".into(), json!(hex(e.contract.as_bytes())));
    m.insert("topic".into(), json!(String::from_utf8_lossy(&e.topic)));
    m.insert("data".into(), data.unwrap_or_else(|| json!(hex(&e.data))));
    m.insert("reverted".into(), json!(e.reverted));
    m
}

/// An event with where it was logged (`block`, `tx_hash`): the shape of `chainvm events`,
/// `chainvm_getEvents` and the events of pushed blocks.
pub fn logged_event_json(block: u64, tx_hash: &H256, e: &Event, data: Option<Value>) -> Value {
    let mut m = event_json(e, data);
    m.insert("block".into(), json!(block));
    m.insert("tx_hash".into(), json!(format!("{tx_hash:?}")));
    Value::Object(m)
}

/// A transaction in a block's list, from its receipt: `hash`, `status` and `gas_used`.
pub fn tx_summary_json(receipt: &Receipt) -> Value {
    json!({"hash": format!("{:?}", receipt.tx_hash), "status": receipt.status, "gas_used": receipt.gas_used})
}

/// The header fields every block shape has: `height`, `hash` (the header's, passed in where
/// the caller has it already), `timestamp`, `state_root` and `gas_used`.
pub fn header_json(h: &Header, hash: &H256) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("height".into(), json!(h.height));
    m.insert("hash".into(), json!(format!("{hash:?}")));
    m.insert("timestamp".into(), json!(h.timestamp));
    m.insert("state_root".into(), json!(format!("{:?}", h.state_root)));
    m.insert("gas_used".into(), json!(h.gas_used));
    m
}

/// `base` with the fields of the object `extra` added: a shared shape plus a caller's own.
pub fn merged(mut base: Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        base.extend(extra);
    }
    Value::Object(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::Address;

    fn event(topic: &str, data: &[u8], reverted: bool) -> Event {
        Event {
            contract: Address::repeat_byte(0xab),
            topic: topic.as_bytes().to_vec(),
            data: data.to_vec(),
            reverted,
        }
    }

    #[test]
    fn an_event_shows_decoded_data_where_given_and_hex_otherwise() {
        let e = event("Moved", &[1, 2], true);
        let raw = Value::Object(event_json(&e, None));
        assert_eq!(raw["contract"], hex(&[0xab; 20]));
        assert_eq!(raw["topic"], "Moved");
        assert_eq!(raw["data"], "0x0102");
        assert_eq!(raw["reverted"], true);
        assert_eq!(raw.as_object().map(Map::len), Some(4));
        let decoded = Value::Object(event_json(&e, Some(json!({"n": 7}))));
        assert_eq!(decoded["data"], json!({"n": 7}));
        assert_eq!(decoded["topic"], "Moved");
    }

    #[test]
    fn a_logged_event_adds_its_block_and_transaction() {
        let e = event("Moved", &[], false);
        let tx = H256::repeat_byte(0x11);
        let v = logged_event_json(9, &tx, &e, None);
        assert_eq!(v["block"], 9);
        assert_eq!(v["tx_hash"], format!("{tx:?}"));
        assert_eq!(v["data"], "0x");
        assert_eq!(v.as_object().map(Map::len), Some(6));
    }
}
