//! ABI JSON encoding and decoding on the real sample contracts' ABIs: arbitrary JSON for any
//! method's arguments is encoded or refused with an error, and arbitrary bytes decode as a
//! return value, typed error or event, or are refused; nothing panics.
#![no_main]

use chainvm_runtime::abi::ContractAbi;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static ABIS: OnceLock<Vec<ContractAbi>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let abis = ABIS.get_or_init(|| {
        ["escrow", "voting", "token"]
            .iter()
            .map(|n| ContractAbi::from_wasm(&chainvm_tests::contract_wasm(n)).expect("abi"))
            .collect()
    });
    let [a, m, rest @ ..] = data else {
        return;
    };
    let abi = &abis[*a as usize % abis.len()];
    let method = &abi.methods[*m as usize % abi.methods.len()].name;
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) {
        if let Ok(encoded) = abi.encode_args(method, &value) {
            // Encoding is a function of the value: twice gives the same bytes.
            assert_eq!(abi.encode_args(method, &value).ok(), Some(encoded));
        }
    }
    let _ = abi.decode_return(method, rest);
    let _ = abi.decode_error(method, rest);
    for event in abi.events() {
        let _ = abi.decode_event(event.as_bytes(), rest);
    }
});
