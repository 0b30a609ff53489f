//! The host-side ABI tooling on the real contracts: reading the embedded ABI, encoding JSON
//! arguments, decoding results and events, and clear errors for wrong input.

use chainvm_runtime::abi::{AbiError, ContractAbi, MethodKind};
use chainvm_tests::contract_wasm;
use serde_json::json;

fn escrow() -> ContractAbi {
    ContractAbi::from_wasm(&contract_wasm("escrow")).unwrap()
}

#[test]
fn embedded_abi_lists_methods_kinds_types_events_and_errors() {
    let abi = escrow();
    assert_eq!(abi.contract, "Escrow");
    let create = abi.method("create").unwrap();
    assert_eq!(create.kind, MethodKind::Call);
    assert_eq!(
        create.signature(),
        "(seller: Address, arbiter: Option<Address>, deadline_blocks: u64)"
    );
    assert_eq!(create.returns.as_deref(), Some("u64"));
    assert_eq!(create.error.as_deref(), Some("EscrowError"));
    assert_eq!(abi.method("get_deal").unwrap().kind, MethodKind::View);
    assert!(abi.types.contains_key("Deal") && abi.types.contains_key("DealState"));
    let mut events = abi.events();
    events.sort();
    assert_eq!(
        events,
        [
            "DealCreated",
            "Delivered",
            "Disputed",
            "Refunded",
            "Released"
        ]
    );
    let token = ContractAbi::from_wasm(&contract_wasm("token")).unwrap();
    assert_eq!(token.method("init").unwrap().kind, MethodKind::Init);
    let voting = ContractAbi::from_wasm(&contract_wasm("voting")).unwrap();
    assert_eq!(
        voting.method("create_proposal").unwrap().signature(),
        "(title: String, options: Vec<String>, start: u64, end: u64, voters: Option<Vec<Address>>)"
    );
}

#[test]
fn json_arguments_round_trip_through_borsh() {
    let abi = ContractAbi::from_wasm(&contract_wasm("voting")).unwrap();
    let args = json!({"title": "t", "options": ["a", "b"], "start": 3, "end": 9, "voters": ["0x0101010101010101010101010101010101010101"]});
    let bytes = abi.encode_args("create_proposal", &args).unwrap();
    // borsh: u32 length + bytes for strings, u32 count for vectors, 1-byte option tag.
    let mut want = vec![
        1, 0, 0, 0, b't', 2, 0, 0, 0, 1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b',
    ];
    want.extend(3u64.to_le_bytes());
    want.extend(9u64.to_le_bytes());
    want.extend([1, 1, 0, 0, 0]);
    want.extend([1u8; 20]);
    assert_eq!(bytes, want);
    // Positional arguments and a missing optional give the same encoding as named ones.
    let positional = json!([
        "t",
        ["a", "b"],
        3,
        9,
        ["0x0101010101010101010101010101010101010101"]
    ]);
    assert_eq!(
        abi.encode_args("create_proposal", &positional).unwrap(),
        bytes
    );
    let no_voters = abi
        .encode_args(
            "create_proposal",
            &json!({"title": "t", "options": ["a", "b"], "start": 3, "end": 9}),
        )
        .unwrap();
    assert_eq!(no_voters.last(), Some(&0u8));
    // Structs and enums decode back to JSON.
    let abi = escrow();
    let deal = json!({"buyer": "0x0000000000000000000000000000000000000001", "seller": "0x0000000000000000000000000000000000000002",
        "arbiter": null, "amount": "340282366920938463463374607431768211455", "deadline": 7, "state": "Disputed"});
    let mut bytes = vec![0u8; 19];
    bytes.push(1);
    bytes.extend([0u8; 19]);
    bytes.push(2);
    bytes.push(0);
    bytes.extend(u128::MAX.to_le_bytes());
    bytes.extend(7u64.to_le_bytes());
    bytes.push(2);
    let mut some = vec![1u8];
    some.extend(&bytes);
    assert_eq!(abi.decode_return("get_deal", &some).unwrap(), deal);
    assert_eq!(abi.decode_return("get_deal", &[0]).unwrap(), json!(null));
    assert_eq!(
        abi.decode_error("confirm", &[5]).unwrap(),
        Some(json!("WrongState"))
    );
    assert!(abi.decode_return("get_deal", &[1, 2, 3]).is_err());
    assert!(
        abi.decode_return("deal_count", &[0; 9]).is_err(),
        "trailing bytes are an error"
    );
}

#[test]
fn wrong_method_missing_or_mistyped_arguments_get_clear_errors() {
    let abi = escrow();
    let err = abi.encode_args("crate", &json!({})).unwrap_err();
    assert!(matches!(err, AbiError::UnknownMethod { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("unknown method `crate`") && msg.contains("create") && msg.contains("confirm"),
        "{msg}"
    );

    let err = abi
        .encode_args("create", &json!({"arbiter": null, "deadline_blocks": 5}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing argument `seller` of `create` (expects (seller: Address, arbiter: Option<Address>, deadline_blocks: u64))"
    );
    let err = abi
        .encode_args("create", &json!({"seller": "0x12", "deadline_blocks": 5}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`seller`: expected an address (0x + 40 hex digits), got string \"0x12\""
    );
    let err = abi
        .encode_args(
            "create",
            &json!({"seller": "0x0000000000000000000000000000000000000002", "deadline_blocks": -1}),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("`deadline_blocks`: expected u64"),
        "{err}"
    );
    let err = abi
        .encode_args("confirm", &json!({"id": 1, "extra": 2}))
        .unwrap_err();
    assert!(matches!(err, AbiError::UnexpectedArgument { .. }));
    assert!(matches!(
        abi.encode_args("confirm", &json!([1, 2])),
        Err(AbiError::UnexpectedArgument { .. })
    ));
    assert!(matches!(
        abi.encode_args("confirm", &json!("1")),
        Err(AbiError::BadJson(_))
    ));
    let voting = ContractAbi::from_wasm(&contract_wasm("voting")).unwrap();
    let err = voting
        .encode_args(
            "create_proposal",
            &json!({"title": "t", "options": ["a", 5], "start": 1, "end": 2}),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`options[1]`: expected a string, got number 5"
    );
    // Code without an embedded ABI.
    let plain = b"\0asm\x01\0\0\0";
    assert_eq!(ContractAbi::from_wasm(plain).unwrap_err(), AbiError::NoAbi);
}

#[test]
fn contract_sizes_are_small() {
    for name in ["escrow", "voting", "token"] {
        let size = contract_wasm(name).len();
        println!("{name}.wasm: {size} bytes");
        assert!(size < 64 * 1024, "{name} is {size} bytes");
    }
}

#[test]
fn sample_contracts_are_far_inside_the_abi_limits() {
    use chainvm_runtime::abi::MAX_ABI_BYTES;
    for name in ["escrow", "voting", "token", "probe"] {
        let abi = ContractAbi::from_wasm(&contract_wasm(name)).unwrap();
        let size = serde_json::to_string(&abi).unwrap().len();
        println!("{name}: ABI about {size} bytes");
        assert!(size < MAX_ABI_BYTES / 8, "{name}: {size}");
    }
}
