//! JSON-RPC request handling of `chainvm node` (its HTTP handling without a socket): any body
//! gets a JSON-RPC answer (a result or an error object, or an array of them for a batch), or
//! none for notifications (requests without an id); nothing panics.
#![no_main]

use chainvm_node::RpcHarness;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static NODE: OnceLock<RpcHarness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let node = NODE.get_or_init(|| RpcHarness::in_memory().expect("in-memory node"));
    let answer = node.handle(data);
    let ok = |v: &serde_json::Value| v.get("result").is_some() || v.get("error").is_some();
    match &answer {
        serde_json::Value::Null => {}
        serde_json::Value::Array(items) => assert!(items.iter().all(ok)),
        one => assert!(ok(one), "{one}"),
    }
});
