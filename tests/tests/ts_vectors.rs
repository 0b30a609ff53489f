//! Cross-language vectors for the TypeScript client (`clients/ts`): keys, addresses,
//! transactions of every payload kind (encoding, signing bytes, signature, hash), ABI
//! encodings of every type the ABI supports, and receipts, all computed here by the Rust
//! code the client must match byte for byte.
//!
//! `UPDATE_VECTORS=1 cargo test -p chainvm-tests --test ts_vectors` writes them to
//! `clients/ts/test/vectors.json`; otherwise the test fails unless the committed file equals
//! what the Rust code computes now, so an encoding change cannot go unnoticed by the client.
//! Everything is deterministic: fixed keys (ed25519 signing is deterministic), fixed inputs,
//! JSON objects with sorted keys.

use borsh::BorshSerialize;
use chainvm_runtime::abi::{ContractAbi, Field, Method, MethodKind, TypeDef, Variant};
use chainvm_runtime::block::{DoubleSign, Header, SignedHeader};
use chainvm_runtime::finality::{DoubleVote, SignedVote, VoteKind};
use chainvm_runtime::genesis::{DEV_ACCOUNTS, DEV_SEED};
use chainvm_runtime::receipt::{
    ErrorDetail, Event, ExecError, GasReport, HostCallGas, SourceLocation, Status, TrapCode,
};
use chainvm_runtime::types::{address_of, contract_address, hex, keccak};
use chainvm_runtime::{Address, H256, Keypair, Payload, Receipt, Transaction, U256};
use chainvm_tests::contract_wasm;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the TypeScript tests read the vectors.
fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clients/ts/test/vectors.json")
}

/// Integers a JavaScript number cannot hold exactly become decimal strings: the form the
/// TypeScript client decodes 64-bit integers to (it cannot read the others from JSON).
fn js_safe(v: &Value) -> Value {
    const MAX_SAFE: u64 = (1 << 53) - 1;
    match v {
        Value::Number(n) => {
            let unsafe_int = n.as_u64().is_some_and(|u| u > MAX_SAFE)
                || n.as_i64().is_some_and(|i| i < -(MAX_SAFE as i64));
            if unsafe_int {
                Value::String(n.to_string())
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(js_safe).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), js_safe(x))).collect()),
        other => other.clone(),
    }
}

fn key_json(phrase: &str, index: u32) -> Value {
    let k = Keypair::derive(phrase, index);
    json!({
        "phrase": phrase,
        "index": index,
        "secret": hex(&k.secret()),
        "public": hex(&k.public()),
        "address": hex(k.address().as_bytes()),
    })
}

fn keys() -> Value {
    let mut derived: Vec<Value> = (0..DEV_ACCOUNTS).map(|i| key_json(DEV_SEED, i)).collect();
    derived.push(key_json("vectors", 0));
    derived.push(key_json("", 7));
    let from_secret: Vec<Value> = [[0u8; 32], [7u8; 32], [0xffu8; 32]]
        .iter()
        .map(|s| {
            let k = Keypair::from_seed(s);
            json!({"secret": hex(s), "public": hex(&k.public()), "address": hex(k.address().as_bytes())})
        })
        .collect();
    let keccak_cases: Vec<Value> = [&b""[..], b"abc", &[0u8; 200][..]]
        .iter()
        .map(|d| json!({"input": hex(d), "hash": format!("{:?}", keccak(d))}))
        .collect();
    let public = Keypair::derive(DEV_SEED, 0).public();
    let deployer = address_of(&public);
    let contracts: Vec<Value> = [0u64, 1, 255, 1 << 40]
        .iter()
        .map(|n| json!({"deployer": hex(deployer.as_bytes()), "nonce": n, "address": hex(contract_address(&deployer, *n).as_bytes())}))
        .collect();
    json!({
        "dev_seed": DEV_SEED,
        "derived": derived,
        "from_secret": from_secret,
        "keccak": keccak_cases,
        "contract_addresses": contracts,
    })
}

fn u256_str(v: &U256) -> String {
    v.to_string()
}

/// The payload in the JSON form the TypeScript client takes (`kind` + fields; amounts as
/// decimal strings, bytes and addresses as hex; evidence as its borsh bytes).
fn payload_json(p: &Payload) -> Value {
    let a = |x: &Address| hex(x.as_bytes());
    match p {
        Payload::Transfer { to, amount } => {
            json!({"kind": "Transfer", "to": a(to), "amount": u256_str(amount)})
        }
        Payload::Deploy { code, args } => {
            json!({"kind": "Deploy", "code": hex(code), "args": hex(args)})
        }
        Payload::Call {
            contract,
            method,
            args,
            value,
        } => {
            json!({"kind": "Call", "contract": a(contract), "method": method, "args": hex(args), "value": u256_str(value)})
        }
        Payload::Stake { validator, amount } => {
            json!({"kind": "Stake", "validator": a(validator), "amount": u256_str(amount)})
        }
        Payload::Unstake { validator, amount } => {
            json!({"kind": "Unstake", "validator": a(validator), "amount": u256_str(amount)})
        }
        Payload::ReportDoubleSign { evidence } => {
            json!({"kind": "ReportDoubleSign", "evidence": hex(&borsh::to_vec(evidence.as_ref()).unwrap())})
        }
        Payload::RegisterValidator {
            public_key,
            commission_bps,
            amount,
        } => {
            json!({"kind": "RegisterValidator", "public_key": hex(public_key), "commission_bps": commission_bps, "amount": u256_str(amount)})
        }
        Payload::ReportDoubleVote { evidence } => {
            json!({"kind": "ReportDoubleVote", "evidence": hex(&borsh::to_vec(evidence.as_ref()).unwrap())})
        }
    }
}

fn double_sign() -> DoubleSign {
    let key = Keypair::derive("vectors validator", 0);
    let header = |root: u8| Header {
        parent_hash: H256::repeat_byte(1),
        height: 42,
        timestamp: 1_700_000_000,
        state_root: H256::repeat_byte(root),
        txs_root: H256::repeat_byte(3),
        receipts_root: H256::repeat_byte(4),
        gas_used: 21_000,
        proposer: key.address(),
    };
    DoubleSign {
        a: SignedHeader::sign(header(5), &key),
        b: SignedHeader::sign(header(6), &key),
    }
}

fn double_vote() -> DoubleVote {
    let key = Keypair::derive("vectors validator", 0);
    DoubleVote {
        a: SignedVote::sign(VoteKind::Precommit, 9, 2, Some(H256::repeat_byte(7)), &key),
        b: SignedVote::sign(VoteKind::Precommit, 9, 2, None, &key),
    }
}

fn transactions() -> Value {
    let to = Keypair::derive(DEV_SEED, 1).address();
    let big = U256::from_dec_str(
        "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    )
    .unwrap();
    let cases: Vec<(&str, u32, Transaction)> = vec![
        (
            "transfer",
            0,
            Transaction::new(
                1337,
                0,
                Payload::Transfer {
                    to,
                    amount: U256::exp10(18),
                },
            ),
        ),
        (
            "transfer_max_amount",
            2,
            Transaction::new(1, u64::MAX, Payload::Transfer { to, amount: big })
                .with_gas_limit(u64::MAX)
                .with_gas_price(big),
        ),
        (
            "deploy",
            0,
            Transaction::new(
                1337,
                5,
                Payload::Deploy {
                    code: b"\0asm\x01\0\0\0".to_vec(),
                    args: vec![],
                },
            ),
        ),
        (
            "deploy_with_args",
            3,
            Transaction::new(
                1337,
                6,
                Payload::Deploy {
                    code: vec![0xab; 300],
                    args: vec![1, 2, 3],
                },
            )
            .with_gas_price(7),
        ),
        (
            "call",
            0,
            Transaction::new(
                1337,
                1,
                Payload::Call {
                    contract: Address::repeat_byte(0x11),
                    method: "create".into(),
                    args: vec![9; 41],
                    value: U256::from(1000),
                },
            )
            .with_gas_limit(123_456),
        ),
        (
            "call_unicode_method",
            1,
            Transaction::new(
                1337,
                2,
                Payload::Call {
                    contract: Address::repeat_byte(0x22),
                    method: "größe".into(),
                    args: vec![],
                    value: U256::zero(),
                },
            ),
        ),
        (
            "stake",
            4,
            Transaction::new(
                1337,
                3,
                Payload::Stake {
                    validator: to,
                    amount: U256::exp10(20),
                },
            ),
        ),
        (
            "unstake",
            4,
            Transaction::new(
                1337,
                4,
                Payload::Unstake {
                    validator: to,
                    amount: U256::from(5),
                },
            ),
        ),
        (
            "report_double_sign",
            5,
            Transaction::new(
                1337,
                0,
                Payload::ReportDoubleSign {
                    evidence: Box::new(double_sign()),
                },
            ),
        ),
        (
            "register_validator",
            6,
            Transaction::new(
                1337,
                0,
                Payload::RegisterValidator {
                    public_key: Keypair::derive(DEV_SEED, 6).public(),
                    commission_bps: 500,
                    amount: U256::exp10(21),
                },
            ),
        ),
        (
            "report_double_vote",
            7,
            Transaction::new(
                1337,
                8,
                Payload::ReportDoubleVote {
                    evidence: Box::new(double_vote()),
                },
            ),
        ),
    ];
    let kinds: Vec<String> = cases
        .iter()
        .map(|(_, _, t)| {
            payload_json(&t.payload)["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for kind in [
        "Transfer",
        "Deploy",
        "Call",
        "Stake",
        "Unstake",
        "ReportDoubleSign",
        "RegisterValidator",
        "ReportDoubleVote",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no vector for {kind}");
    }
    let out: Vec<Value> = cases
        .into_iter()
        .map(|(name, key_index, tx)| {
            let key = Keypair::derive(DEV_SEED, key_index);
            let unsigned = borsh::to_vec(&tx).unwrap();
            let signing = tx.signing_message();
            let signed = tx.clone().sign(&key);
            assert!(signed.verify_signature());
            json!({
                "name": name,
                "key": {"phrase": DEV_SEED, "index": key_index},
                "tx": {
                    "chain_id": tx.chain_id.to_string(),
                    "nonce": tx.nonce.to_string(),
                    "gas_limit": tx.gas_limit.to_string(),
                    "gas_price": u256_str(&tx.gas_price),
                    "payload": payload_json(&tx.payload),
                },
                "default_gas_limit": tx.payload.default_gas_limit().to_string(),
                "unsigned": hex(&unsigned),
                "signing_message": hex(&signing),
                "public_key": hex(&signed.public_key),
                "signature": hex(&signed.signature),
                "signed": hex(&signed.encode()),
                "hash": format!("{:?}", signed.hash()),
                "sender": hex(signed.sender().as_bytes()),
            })
        })
        .collect();
    Value::Array(out)
}

fn field(name: &str, ty: &str) -> Field {
    Field {
        name: name.into(),
        ty: ty.into(),
    }
}

fn variant(name: &str, fields: Vec<Field>) -> Variant {
    Variant {
        name: name.into(),
        fields,
    }
}

/// A made-up ABI declaring one struct, event and enum of every shape.
fn synthetic_types() -> BTreeMap<String, TypeDef> {
    let mut t = BTreeMap::new();
    let mut add = |d: TypeDef| {
        let name = match &d {
            TypeDef::Struct { name, .. }
            | TypeDef::Event { name, .. }
            | TypeDef::Enum { name, .. } => name.clone(),
        };
        t.insert(name, d);
    };
    add(TypeDef::Struct {
        name: "Point".into(),
        fields: vec![
            field("x", "i32"),
            field("y", "i32"),
            field("label", "Option<String>"),
        ],
    });
    add(TypeDef::Struct {
        name: "Pair".into(),
        fields: vec![field("0", "u8"), field("1", "String")],
    });
    add(TypeDef::Struct {
        name: "Id".into(),
        fields: vec![field("0", "u64")],
    });
    add(TypeDef::Struct {
        name: "Nested".into(),
        fields: vec![
            field("points", "Vec<Point>"),
            field("owner", "chainvm_sdk::Address"),
            field("shape", "Shape"),
            field("id", "Id"),
        ],
    });
    add(TypeDef::Enum {
        name: "Color".into(),
        variants: vec![
            variant("Red", vec![]),
            variant("Green", vec![]),
            variant("Blue", vec![]),
        ],
    });
    add(TypeDef::Enum {
        name: "Shape".into(),
        variants: vec![
            variant("Empty", vec![]),
            variant("Circle", vec![field("radius", "u32")]),
            variant("Rect", vec![field("w", "u16"), field("h", "u16")]),
            variant("Tagged", vec![field("0", "String")]),
            variant("Line", vec![field("0", "Point"), field("1", "Point")]),
        ],
    });
    add(TypeDef::Event {
        name: "Moved".into(),
        fields: vec![
            field("who", "Address"),
            field("to", "Point"),
            field("amount", "u128"),
        ],
    });
    add(TypeDef::Enum {
        name: "Failure".into(),
        variants: vec![
            variant("NotFound", vec![]),
            variant("TooLow", vec![field("need", "u64")]),
        ],
    });
    t
}

/// `(type, JSON input)` pairs the ABI encodes; each becomes a vector with its borsh bytes
/// and what decoding them gives back.
fn value_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("bool", json!(true)),
        ("bool", json!(false)),
        ("u8", json!(0)),
        ("u8", json!(255)),
        ("u8", json!("17")),
        ("u16", json!(65535)),
        ("u32", json!(4294967295u64)),
        ("u64", json!(0)),
        ("u64", json!(9007199254740991u64)),
        ("u64", json!("18446744073709551615")),
        ("u128", json!("340282366920938463463374607431768211455")),
        ("u128", json!(5)),
        ("u128", json!("0")),
        ("i8", json!(-128)),
        ("i8", json!(127)),
        ("i16", json!(-32768)),
        ("i32", json!(-1)),
        ("i32", json!(2147483647)),
        ("i64", json!("-9223372036854775808")),
        ("i64", json!(-42)),
        ("i128", json!("-170141183460469231731687303715884105728")),
        ("i128", json!(-3)),
        ("String", json!("")),
        ("String", json!("héllo ✓ 🦀")),
        (
            "Address",
            json!("0x00112233445566778899aabbccddeeff00112233"),
        ),
        (
            "Address",
            json!("0xABCDEF0123456789ABCDEF0123456789ABCDEF01"),
        ),
        (
            "chainvm_sdk::Address",
            json!("0x1111111111111111111111111111111111111111"),
        ),
        ("Vec<u8>", json!("0x")),
        ("Vec<u8>", json!("0x01ff")),
        ("Vec<u8>", json!([1, 255])),
        ("Vec<u64>", json!([1, 2, 3])),
        ("Vec<String>", json!(["a", "bc"])),
        ("Vec<Vec<u8>>", json!(["0x01", "0x"])),
        ("Vec<Address>", json!([])),
        ("Option<u64>", json!(null)),
        ("Option<u64>", json!(7)),
        (
            "Option<Address>",
            json!("0x2222222222222222222222222222222222222222"),
        ),
        ("Option<Vec<Address>>", json!(null)),
        ("Option<Option<u8>>", json!(5)),
        ("[u8; 4]", json!("0x01020304")),
        ("[u8; 2]", json!([9, 8])),
        ("[u16; 2]", json!([1, 2])),
        (
            "[Address; 1]",
            json!(["0x3333333333333333333333333333333333333333"]),
        ),
        ("[bool; 0]", json!([])),
        ("()", json!([])),
        ("(u8,)", json!([1])),
        (
            "(Address, u64)",
            json!(["0x4444444444444444444444444444444444444444", 9]),
        ),
        (
            "(String, Vec<bool>, Option<i32>)",
            json!(["x", [true, false], null]),
        ),
        ("Point", json!({"x": 1, "y": -2, "label": "p"})),
        ("Point", json!({"x": 1, "y": -2})),
        ("Point", json!([3, 4, null])),
        ("Pair", json!([7, "seven"])),
        ("Id", json!(99)),
        ("Id", json!([99])),
        ("Color", json!("Green")),
        ("Color", json!({"Blue": null})),
        ("Shape", json!("Empty")),
        ("Shape", json!({"Circle": {"radius": 10}})),
        ("Shape", json!({"Rect": {"w": 3, "h": 4}})),
        ("Shape", json!({"Rect": [3, 4]})),
        ("Shape", json!({"Tagged": "t"})),
        (
            "Shape",
            json!({"Line": [{"x": 0, "y": 0}, {"x": 1, "y": 1, "label": null}]}),
        ),
        (
            "Nested",
            json!({"points": [{"x": 5, "y": 6}], "owner": "0x5555555555555555555555555555555555555555", "shape": "Empty", "id": 1}),
        ),
        (
            "Vec<Point>",
            json!([{"x": 1, "y": 1}, {"x": 2, "y": 2, "label": "two"}]),
        ),
        ("Option<Shape>", json!({"Circle": {"radius": 1}})),
        (
            "Moved",
            json!({"who": "0x6666666666666666666666666666666666666666", "to": {"x": 1, "y": 2}, "amount": "1000"}),
        ),
        ("Failure", json!({"TooLow": {"need": 10}})),
    ]
}

/// `(type, JSON input)` pairs the ABI refuses; the client must refuse them too.
fn invalid_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("bool", json!("true")),
        ("bool", json!(1)),
        ("u8", json!(256)),
        ("u8", json!(-1)),
        ("u8", json!("x")),
        ("u8", json!(1.5)),
        ("u32", json!("4294967296")),
        ("u64", json!("18446744073709551616")),
        ("u64", json!(null)),
        ("u128", json!("340282366920938463463374607431768211456")),
        ("u128", json!(-1)),
        ("u128", json!("-1")),
        ("i8", json!(128)),
        ("i8", json!(-129)),
        ("i64", json!("9223372036854775808")),
        ("i128", json!("170141183460469231731687303715884105728")),
        ("String", json!(5)),
        ("Address", json!("0x12")),
        (
            "Address",
            json!("0x00112233445566778899aabbccddeeff0011223"),
        ),
        (
            "Address",
            json!("0xzz112233445566778899aabbccddeeff00112233"),
        ),
        ("Vec<u8>", json!("0x123")),
        ("Vec<u8>", json!([256])),
        ("Vec<u64>", json!({})),
        ("[u8; 4]", json!("0x010203")),
        ("[u16; 2]", json!([1])),
        ("(u8, u8)", json!([1])),
        ("(u8, u8)", json!([1, 2, 3])),
        ("Point", json!({"x": 1})),
        ("Point", json!({"x": 1, "y": 2, "z": 3})),
        ("Point", json!([1, 2])),
        ("Color", json!("Purple")),
        ("Color", json!(0)),
        ("Shape", json!({"Circle": {"radius": 1}, "Empty": null})),
        ("Shape", json!({"Rect": {"w": 1}})),
        ("Undeclared", json!(1)),
    ]
}

fn synthetic_abi() -> (ContractAbi, Vec<Value>, Vec<Value>) {
    let values = value_cases();
    let invalid = invalid_cases();
    let mut methods = Vec::new();
    let method = |name: String, ty: &str, error: Option<&str>| Method {
        name,
        kind: MethodKind::Call,
        args: vec![field("v", ty)],
        returns: Some(ty.to_string()),
        error: error.map(str::to_string),
    };
    for (i, (ty, _)) in values.iter().enumerate() {
        methods.push(method(format!("v{i}"), ty, None));
    }
    for (i, (ty, _)) in invalid.iter().enumerate() {
        methods.push(method(format!("x{i}"), ty, None));
    }
    methods.push(Method {
        name: "multi".into(),
        kind: MethodKind::Call,
        args: vec![
            field("a", "u64"),
            field("b", "Option<String>"),
            field("c", "Option<u8>"),
        ],
        returns: Some("u64".into()),
        error: Some("Failure".into()),
    });
    methods.push(Method {
        name: "nothing".into(),
        kind: MethodKind::View,
        args: vec![],
        returns: None,
        error: None,
    });
    let abi = ContractAbi::new("Synthetic".into(), methods, synthetic_types()).unwrap();
    let value_vectors = values
        .iter()
        .enumerate()
        .map(|(i, (ty, v))| {
            let m = format!("v{i}");
            let bytes = abi
                .encode_args(&m, &json!([v]))
                .unwrap_or_else(|e| panic!("{ty} {v}: {e}"));
            let decoded = abi.decode_return(&m, &bytes).unwrap();
            json!({"type": ty, "json": v, "borsh": hex(&bytes), "decoded": decoded, "js": js_safe(&decoded)})
        })
        .collect();
    let invalid_vectors = invalid
        .iter()
        .enumerate()
        .map(|(i, (ty, v))| {
            let err = abi.encode_args(&format!("x{i}"), &json!([v]));
            assert!(err.is_err(), "{ty} {v} encodes");
            json!({"type": ty, "json": v, "error": err.err().map(|e| e.to_string())})
        })
        .collect();
    (abi, value_vectors, invalid_vectors)
}

/// Method-level encodings: arguments by name or position, `null`, omitted options, and
/// the argument lists the ABI refuses; returns, typed errors and events.
fn synthetic_calls(abi: &ContractAbi) -> Value {
    let args: Vec<Value> = [
        ("multi", json!({"a": 1, "b": "x", "c": 2})),
        ("multi", json!({"a": 1})),
        ("multi", json!([1])),
        ("multi", json!([1, null, 3])),
        ("nothing", json!(null)),
        ("nothing", json!({})),
        ("nothing", json!([])),
        ("multi", json!({})),
        ("multi", json!({"a": 1, "d": 0})),
        ("multi", json!([1, null, 3, 4])),
        ("multi", json!("1")),
        ("nope", json!({})),
    ]
    .iter()
    .map(|(m, a)| match abi.encode_args(m, a) {
        Ok(b) => json!({"method": m, "args": a, "borsh": hex(&b)}),
        Err(e) => json!({"method": m, "args": a, "error": e.to_string()}),
    })
    .collect();
    let method_of = |ty: &str| {
        let i = value_cases().iter().position(|(t, _)| *t == ty).unwrap();
        format!("v{i}")
    };
    let failure = |v: Value| hex(&abi.encode_args(&method_of("Failure"), &json!([v])).unwrap());
    let errors: Vec<Value> = [json!("NotFound"), json!({"TooLow": {"need": 3}})]
        .iter()
        .map(|e| {
            let data = chainvm_runtime::types::parse_hex(&failure(e.clone())).unwrap();
            json!({"method": "multi", "borsh": hex(&data), "decoded": abi.decode_error("multi", &data).unwrap()})
        })
        .collect();
    let moved = json!({"who": "0x6666666666666666666666666666666666666666", "to": {"x": 1, "y": 2, "label": "here"}, "amount": "340282366920938463463374607431768211455"});
    let data = abi
        .encode_args(&method_of("Moved"), &json!([moved]))
        .unwrap();
    let (name, decoded) = abi.decode_event(b"Moved", &data).unwrap().unwrap();
    let events = json!([
        {"topic": "Moved", "data": hex(&data), "name": name, "decoded": decoded},
        // Not an event of the ABI (a struct's name, an unknown name): no decoding.
        {"topic": "Point", "data": "0x", "name": null, "decoded": null},
        {"topic": "Other", "data": "0x01", "name": null, "decoded": null},
    ]);
    for e in events.as_array().unwrap() {
        let topic = e["topic"].as_str().unwrap();
        if e["name"].is_null() {
            assert_eq!(abi.decode_event(topic.as_bytes(), &[]).unwrap(), None);
        }
    }
    json!({"args": args, "errors": errors, "events": events})
}

/// The sample contracts' ABIs with the calls the client makes against a node.
fn contract_abis() -> Value {
    let mut out = serde_json::Map::new();
    let escrow = ContractAbi::from_wasm(&contract_wasm("escrow")).unwrap();
    let voting = ContractAbi::from_wasm(&contract_wasm("voting")).unwrap();
    let seller = hex(Keypair::derive(DEV_SEED, 1).address().as_bytes());
    let buyer = hex(Keypair::derive(DEV_SEED, 0).address().as_bytes());
    let enc = |abi: &ContractAbi, m: &str, a: Value| json!({"method": m, "args": a, "borsh": hex(&abi.encode_args(m, &a).unwrap())});
    let deal = json!({"buyer": buyer, "seller": seller, "arbiter": null, "amount": "1000", "deadline": 12, "state": "Delivered"});
    let deal_bytes = {
        let mut abi_methods = escrow.methods.clone();
        abi_methods.push(Method {
            name: "__deal".into(),
            kind: MethodKind::View,
            args: vec![field("d", "Option<Deal>")],
            returns: None,
            error: None,
        });
        let with =
            ContractAbi::new(escrow.contract.clone(), abi_methods, escrow.types.clone()).unwrap();
        with.encode_args("__deal", &json!([deal])).unwrap()
    };
    let created = {
        let mut abi_methods = escrow.methods.clone();
        abi_methods.push(Method {
            name: "__ev".into(),
            kind: MethodKind::View,
            args: vec![field("e", "DealCreated")],
            returns: None,
            error: None,
        });
        let with =
            ContractAbi::new(escrow.contract.clone(), abi_methods, escrow.types.clone()).unwrap();
        with.encode_args(
            "__ev",
            &json!([{"id": 0, "buyer": buyer, "seller": seller, "amount": "1000", "deadline": 12}]),
        )
        .unwrap()
    };
    let not_seller = vec![2u8];
    out.insert(
        "escrow".into(),
        json!({
            "abi": escrow,
            "args": [
                enc(&escrow, "create", json!({"seller": seller, "arbiter": null, "deadline_blocks": 100})),
                enc(&escrow, "create", json!({"seller": seller, "deadline_blocks": 100})),
                enc(&escrow, "create", json!([seller, buyer, 5])),
                enc(&escrow, "mark_delivered", json!({"id": 0})),
                enc(&escrow, "get_deal", json!({"id": 3})),
                enc(&escrow, "deal_count", json!(null)),
            ],
            "returns": [
                {"method": "create", "borsh": "0x0700000000000000", "decoded": escrow.decode_return("create", &7u64.to_le_bytes()).unwrap()},
                {"method": "get_deal", "borsh": hex(&deal_bytes), "decoded": escrow.decode_return("get_deal", &deal_bytes).unwrap()},
                {"method": "get_deal", "borsh": "0x00", "decoded": escrow.decode_return("get_deal", &[0]).unwrap()},
                {"method": "mark_delivered", "borsh": "0x", "decoded": escrow.decode_return("mark_delivered", &[]).unwrap()},
            ],
            "errors": [
                {"method": "mark_delivered", "borsh": hex(&not_seller), "decoded": escrow.decode_error("mark_delivered", &not_seller).unwrap()},
            ],
            "events": [
                {"topic": "DealCreated", "data": hex(&created), "name": "DealCreated", "decoded": escrow.decode_event(b"DealCreated", &created).unwrap().unwrap().1},
            ],
        }),
    );
    out.insert(
        "voting".into(),
        json!({
            "abi": voting,
            "args": [
                enc(&voting, "create_proposal", json!({"title": "Lunch", "options": ["pizza", "sushi"], "start": 1, "end": 10, "voters": null})),
                enc(&voting, "create_proposal", json!({"title": "Board", "options": ["a", "b", "c"], "start": 0, "end": 5, "voters": [seller, buyer]})),
                enc(&voting, "vote", json!({"id": 0, "option": 1})),
                enc(&voting, "vote_of", json!({"id": 0, "voter": seller})),
            ],
            "returns": [
                {"method": "tally", "borsh": "0x020000000300000000000000ffffffffffffffff", "decoded": js_safe(&voting.decode_return("tally", &chainvm_runtime::types::parse_hex("0x020000000300000000000000ffffffffffffffff").unwrap()).unwrap())},
            ],
            "errors": [],
            "events": [],
        }),
    );
    Value::Object(out)
}

fn gas_report(code_hash: Option<H256>) -> GasReport {
    let mut host = BTreeMap::new();
    host.insert(
        "emit".to_string(),
        HostCallGas {
            calls: 1,
            gas: 3_000,
        },
    );
    host.insert(
        "storage_read".to_string(),
        HostCallGas {
            calls: 4,
            gas: 80_000,
        },
    );
    GasReport {
        total: 1_234_567,
        intrinsic: 220_000,
        loading: 500_000,
        memory: 65_536,
        wasm: 365_031,
        host,
        storage_bytes_read: 120,
        storage_bytes_written: 64,
        code_hash,
    }
}

fn receipts() -> Value {
    let event = |topic: &str, data: Vec<u8>, reverted: bool| Event {
        contract: Address::repeat_byte(0xcc),
        topic: topic.as_bytes().to_vec(),
        data,
        reverted,
    };
    let cases = vec![
        (
            "transfer",
            Receipt {
                tx_hash: H256::repeat_byte(0x01),
                status: Status::Success,
                gas_used: 220_000,
                gas: GasReport {
                    total: 220_000,
                    intrinsic: 220_000,
                    ..GasReport::default()
                },
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: None,
            },
        ),
        (
            "deploy",
            Receipt {
                tx_hash: H256::repeat_byte(0x02),
                status: Status::Success,
                gas_used: 1_234_567,
                gas: gas_report(Some(H256::repeat_byte(0xee))),
                return_data: vec![],
                events: vec![],
                contract_address: Some(Address::repeat_byte(0xdd)),
                error: None,
            },
        ),
        (
            "call_with_events",
            Receipt {
                tx_hash: H256::repeat_byte(0x03),
                status: Status::Success,
                gas_used: 1_234_567,
                gas: gas_report(Some(H256::repeat_byte(0xef))),
                return_data: 7u64.to_le_bytes().to_vec(),
                events: vec![
                    event("DealCreated", vec![1, 2, 3], false),
                    event("Inner", vec![], true),
                ],
                contract_address: None,
                error: None,
            },
        ),
        (
            "out_of_gas",
            Receipt {
                tx_hash: H256::repeat_byte(0x04),
                status: Status::Failed,
                gas_used: 50_000,
                gas: gas_report(Some(H256::repeat_byte(0xef))),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::OutOfGas)),
            },
        ),
        (
            "typed_error",
            Receipt {
                tx_hash: H256::repeat_byte(0x05),
                status: Status::Failed,
                gas_used: 300_000,
                gas: gas_report(None),
                return_data: vec![2],
                events: vec![event("Gone", vec![9], true)],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::Panic {
                    message: "NotSeller".into(),
                    location: Some(SourceLocation {
                        file: "src/lib.rs".into(),
                        line: 10,
                        column: 5,
                    }),
                })),
            },
        ),
        (
            "panic_without_location",
            Receipt {
                tx_hash: H256::repeat_byte(0x06),
                status: Status::Failed,
                gas_used: 1,
                gas: GasReport::default(),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::Panic {
                    message: "boom".into(),
                    location: None,
                })),
            },
        ),
        (
            "trap",
            Receipt {
                tx_hash: H256::repeat_byte(0x07),
                status: Status::Failed,
                gas_used: 2,
                gas: GasReport::default(),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::Trap(TrapCode::DivisionByZero))),
            },
        ),
        (
            "no_such_method",
            Receipt {
                tx_hash: H256::repeat_byte(0x08),
                status: Status::Failed,
                gas_used: 3,
                gas: GasReport::default(),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::NoSuchMethod {
                    method: "nope".into(),
                })),
            },
        ),
        (
            "insufficient_balance",
            Receipt {
                tx_hash: H256::repeat_byte(0x09),
                status: Status::Failed,
                gas_used: 4,
                gas: GasReport::default(),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::InsufficientBalance {
                    needed: U256::exp10(30),
                    available: U256::from(12),
                })),
            },
        ),
        (
            "no_contract",
            Receipt {
                tx_hash: H256::repeat_byte(0x0a),
                status: Status::Failed,
                gas_used: 5,
                gas: GasReport::default(),
                return_data: vec![],
                events: vec![],
                contract_address: None,
                error: Some(ExecError::new(ErrorDetail::NoContract {
                    address: Address::repeat_byte(0x42),
                })),
            },
        ),
    ];
    Value::Array(
        cases
            .into_iter()
            .map(|(name, r)| {
                let mut bytes = Vec::new();
                r.serialize(&mut bytes).unwrap();
                assert_eq!(bytes, r.encode());
                json!({"name": name, "borsh": hex(&r.encode()), "json": r})
            })
            .collect(),
    )
}

fn vectors() -> Value {
    let (abi, values, invalid) = synthetic_abi();
    json!({
        "format": "chainvm-ts-vectors/1",
        "keys": keys(),
        "transactions": transactions(),
        "abi": {
            "synthetic": {
                "abi": &abi,
                "values": values,
                "invalid": invalid,
                "calls": synthetic_calls(&abi),
            },
            "contracts": contract_abis(),
        },
        "receipts": receipts(),
    })
}

#[test]
fn typescript_vectors_match_the_rust_encodings() {
    let generated = vectors();
    // Sorted keys and two-space indentation, one newline at the end.
    let text = format!("{}\n", serde_json::to_string_pretty(&generated).unwrap());
    let path = vectors_path();
    if std::env::var("UPDATE_VECTORS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with UPDATE_VECTORS=1 cargo test -p chainvm-tests --test ts_vectors",
            path.display()
        )
    });
    let committed_value: Value = serde_json::from_str(&committed).unwrap();
    assert!(
        committed_value == generated && committed == text,
        "{} is out of date with the Rust encodings: regenerate it with \
         UPDATE_VECTORS=1 cargo test -p chainvm-tests --test ts_vectors, then run the \
         TypeScript tests (cd clients/ts && npm test)",
        path.display()
    );
}
