//! Hostile contract ABIs and hostile value bytes: each ends in one clear error naming the
//! limit, without a panic, a stack overflow or an unbounded allocation; the runtime still
//! deploys and runs such contracts (consensus never reads the ABI).

use chainvm_runtime::abi::{
    ABI_SECTION, AbiError, ContractAbi, LimitError, MAX_ABI_BYTES, MAX_ARRAY_LEN,
    MAX_DECODED_BYTES, MAX_METHODS, MAX_TYPE_DEPTH, MAX_TYPES, TYPES_SECTION,
};
use chainvm_runtime::embed::EXAMPLE_COUNTER_WAT;
use chainvm_runtime::{Chain, Payload, U256};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A custom section (id 0): LEB128 size, then the name and the payload.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = vec![0u8];
    leb(body.len(), &mut out);
    out.extend(body);
    out
}

/// An empty wasm module carrying `methods` (the [`ABI_SECTION`] JSON) and one line per type.
fn wasm(methods: &Value, types: &[Value]) -> Vec<u8> {
    let mut code = b"\0asm\x01\0\0\0".to_vec();
    code.extend(custom_section(
        ABI_SECTION,
        json!({"contract": "Bomb", "methods": methods})
            .to_string()
            .as_bytes(),
    ));
    let lines: String = types.iter().map(|t| format!("{t}\n")).collect();
    code.extend(custom_section(TYPES_SECTION, lines.as_bytes()));
    code
}

/// One view method `get` returning `returns`.
fn returning(returns: &str) -> Value {
    json!([{"name": "get", "kind": "view", "args": [], "returns": returns, "error": null}])
}

fn strukt(name: &str, fields: &[(&str, &str)]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(n, t)| json!({"name": n, "type": t}))
        .collect();
    json!({"kind": "struct", "name": name, "fields": fields})
}

fn limit_of(code: &[u8]) -> LimitError {
    match ContractAbi::from_wasm(code) {
        Err(AbiError::Limit(l)) => l,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn self_referential_structs_are_refused_when_read() {
    // Directly, through a Vec (legal Rust, unbounded nesting in data), through an Option and
    // an enum variant, and through another type.
    let cases = [
        (vec![strukt("A", &[("a", "A")])], "A -> A"),
        (
            vec![strukt("Node", &[("children", "Vec<Node>")])],
            "Node -> Node",
        ),
        (
            vec![
                strukt("A", &[("x", "u8"), ("b", "B")]),
                strukt("B", &[("a", "Option<(u64, [A; 2])>")]),
            ],
            "A -> B -> A",
        ),
        (
            vec![json!({"kind": "enum", "name": "E", "variants": [
                {"name": "Leaf", "fields": []},
                {"name": "More", "fields": [{"name": "0", "type": "Vec<E>"}]}]})],
            "E -> E",
        ),
    ];
    for (types, path) in cases {
        let err = limit_of(&wasm(&returning("u64"), &types));
        match &err {
            LimitError::Recursive { path: p, .. } => assert_eq!(p, path),
            other => panic!("expected Recursive, got {other:?}"),
        }
        let msg = AbiError::Limit(err).to_string();
        assert!(
            msg.contains("contains itself") && msg.contains(path),
            "{msg}"
        );
    }
    // A type nobody uses is still checked: the limits hold for the whole ABI.
    let unused = wasm(&json!([]), &[strukt("Loop", &[("l", "Vec<Loop>")])]);
    assert!(matches!(limit_of(&unused), LimitError::Recursive { .. }));
}

#[test]
fn huge_array_types_are_refused_without_allocating() {
    let start = Instant::now();
    for ty in [
        "[();1000000000000]",
        "[u8; 18446744073709551616]",
        "Vec<[u64; 65537]>",
    ] {
        let err = limit_of(&wasm(&returning(ty), &[]));
        assert!(matches!(err, LimitError::ArrayLen { .. }), "{ty}: {err:?}");
        assert!(err.to_string().contains("MAX_ARRAY_LEN"), "{err}");
    }
    // Each array within the limit, the product far over the decoded-size limit.
    let err = limit_of(&wasm(&returning("[[();60000];60000]"), &[]));
    assert!(matches!(err, LimitError::FixedSize { .. }), "{err:?}");
    assert!(err.to_string().contains("MAX_DECODED_BYTES"), "{err}");
    // Types that each hold the previous one twice: 2^24 copies of the first if inlined. The
    // resolved tree references them by index, so reading is instant and the size is refused.
    let mut types = vec![strukt("T0", &[("x", "[u64; 4]")])];
    for i in 1..=24 {
        let prev = format!("T{}", i - 1);
        types.push(strukt(&format!("T{i}"), &[("a", &prev), ("b", &prev)]));
    }
    let err = limit_of(&wasm(&returning("T24"), &types));
    assert!(matches!(err, LimitError::FixedSize { .. }), "{err:?}");
    // Arrays at the limit are fine.
    let abi = ContractAbi::from_wasm(&wasm(&returning(&format!("[u8; {MAX_ARRAY_LEN}]")), &[]));
    assert!(abi.is_ok(), "{abi:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn deeply_nested_types_are_refused_without_deep_recursion() {
    // In one type string: Vec<Vec<...>> and ((((...)))) ten thousand deep.
    let deep_vec = format!("{}u8{}", "Vec<".repeat(10_000), ">".repeat(10_000));
    let deep_tuple = format!("{}{}", "(".repeat(10_000), ")".repeat(10_000));
    for ty in [&deep_vec, &deep_tuple] {
        let err = limit_of(&wasm(&returning(ty), &[]));
        assert!(matches!(err, LimitError::TypeDepth { .. }), "{err:?}");
        assert!(err.to_string().contains("MAX_TYPE_DEPTH"), "{err}");
    }
    // Through a chain of named types, each holding the next.
    let mut types = Vec::new();
    for i in 0..200 {
        types.push(strukt(
            &format!("N{i}"),
            &[("next", &format!("N{}", i + 1))],
        ));
    }
    types.push(strukt("N200", &[("end", "u8")]));
    assert!(matches!(
        limit_of(&wasm(&returning("N0"), &types)),
        LimitError::TypeDepth { .. }
    ));
    // Just under the limit reads and round-trips.
    let ok = format!(
        "{}u8{}",
        "Option<".repeat(MAX_TYPE_DEPTH - 1),
        ">".repeat(MAX_TYPE_DEPTH - 1)
    );
    let abi = ContractAbi::from_wasm(&wasm(&returning(&ok), &[])).unwrap();
    let mut bytes = vec![1u8; MAX_TYPE_DEPTH - 1];
    bytes.push(7);
    assert_eq!(abi.decode_return("get", &bytes).unwrap(), json!(7));
    let over = format!("Option<{ok}>");
    assert!(matches!(
        limit_of(&wasm(&returning(&over), &[])),
        LimitError::TypeDepth { .. }
    ));
}

#[test]
fn oversized_abi_sections_and_counts_are_refused() {
    // One huge type line (a valid struct with a long name).
    let big = strukt(&"X".repeat(MAX_ABI_BYTES), &[]);
    let err = limit_of(&wasm(&returning("u64"), &[big]));
    assert!(matches!(err, LimitError::AbiBytes { .. }), "{err:?}");
    assert!(err.to_string().contains("MAX_ABI_BYTES"), "{err}");
    // Many small sections that add up.
    let mut code = wasm(&returning("u64"), &[]);
    let line = format!("{}\n", strukt("S", &[("a", "u8")]));
    for _ in 0..(MAX_ABI_BYTES / line.len() + 1) {
        code.extend(custom_section(TYPES_SECTION, line.as_bytes()));
    }
    assert!(matches!(limit_of(&code), LimitError::AbiBytes { .. }));
    // Too many types, too many methods (each small).
    let types: Vec<Value> = (0..=MAX_TYPES)
        .map(|i| strukt(&format!("T{i}"), &[]))
        .collect();
    assert!(matches!(
        limit_of(&wasm(&returning("u64"), &types)),
        LimitError::Types { .. }
    ));
    let methods: Vec<Value> = (0..=MAX_METHODS)
        .map(|i| json!({"name": format!("m{i}"), "kind": "call", "args": [], "returns": null, "error": null}))
        .collect();
    assert!(matches!(
        limit_of(&wasm(&Value::Array(methods), &[])),
        LimitError::Methods { .. }
    ));
}

#[test]
fn hostile_length_prefixes_in_value_bytes_are_refused_up_front() {
    let start = Instant::now();
    let types = [strukt("Pair", &[("a", "u64"), ("b", "String")])];
    let cases = [
        ("Vec<u64>", "length prefix 4294967295 needs at least"),
        ("Vec<Pair>", "length prefix 4294967295 needs at least"),
        ("String", "unexpected end of data"),
        ("Vec<u8>", "unexpected end of data"),
    ];
    for (ty, want) in cases {
        let abi = ContractAbi::from_wasm(&wasm(&returning(ty), &types)).unwrap();
        let err = abi.decode_return("get", &[0xff; 4]).unwrap_err();
        assert!(
            matches!(&err, AbiError::Decode { reason, .. } if reason.starts_with(want)),
            "{ty}: {err}"
        );
    }
    // Elements that take no bytes: refused by the decoded-size budget before any element is
    // built, nested or not.
    for ty in ["Vec<()>", "Vec<[(); 1000]>", "(u8, Vec<Vec<()>>)"] {
        let abi = ContractAbi::from_wasm(&wasm(&returning(ty), &types)).unwrap();
        let mut data = if ty.starts_with('(') {
            vec![0u8, 1, 0, 0, 0]
        } else {
            Vec::new()
        };
        data.extend([0xff; 4]);
        let err = abi.decode_return("get", &data).unwrap_err();
        assert_eq!(
            err,
            AbiError::Limit(LimitError::Decoded {
                what: "return value of `get`".into()
            }),
            "{ty}"
        );
        assert!(err.to_string().contains("MAX_DECODED_BYTES"), "{err}");
    }
    // Many small vectors, each within budget, that add up: stopped by the same budget.
    let abi = ContractAbi::from_wasm(&wasm(&returning("Vec<Vec<()>>"), &[])).unwrap();
    let per = 100_000u32;
    let outer = (MAX_DECODED_BYTES as u32 / (per * 3)) + 2;
    let mut data = outer.to_le_bytes().to_vec();
    for _ in 0..outer {
        data.extend(per.to_le_bytes());
    }
    assert!(matches!(
        abi.decode_return("get", &data),
        Err(AbiError::Limit(LimitError::Decoded { .. }))
    ));
    // Events go through the same decoder.
    let ev =
        json!({"kind": "event", "name": "Boom", "fields": [{"name": "xs", "type": "Vec<()>"}]});
    let abi = ContractAbi::from_wasm(&wasm(&json!([]), &[ev])).unwrap();
    assert!(matches!(
        abi.decode_event(b"Boom", &[0xff; 4]),
        Err(AbiError::Limit(LimitError::Decoded { .. }))
    ));
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// The counter example with a recursive type added to its ABI.
fn counter_with_bad_abi() -> Vec<u8> {
    let mut code = wat::parse_str(EXAMPLE_COUNTER_WAT).unwrap();
    let bad = format!("{}\n", strukt("Loop", &[("l", "Vec<Loop>")]));
    code.extend(custom_section(TYPES_SECTION, bad.as_bytes()));
    code
}

#[test]
fn the_runtime_deploys_a_bad_abi_and_the_json_helpers_report_it() {
    let (mut chain, keys) = Chain::builder().dev_accounts().in_memory().unwrap();
    let code = counter_with_bad_abi();
    // The JSON deploy helper needs the ABI, so it says why it cannot read it.
    let err = chain.deploy(&keys[0], &code, json!(null)).unwrap_err();
    assert!(err.to_string().contains("contains itself"), "{err}");
    // Consensus does not read the ABI: a plain deploy and call succeed.
    let receipt = chain
        .sign_and_submit(
            &keys[0],
            Payload::Deploy {
                code,
                args: Vec::new(),
            },
        )
        .unwrap();
    assert!(receipt.is_success(), "{receipt:?}");
    let address = receipt.contract_address.unwrap();
    let receipt = chain
        .sign_and_submit(
            &keys[0],
            Payload::Call {
                contract: address,
                method: "incr".into(),
                args: Vec::new(),
                value: U256::zero(),
            },
        )
        .unwrap();
    assert!(receipt.is_success(), "{receipt:?}");
    assert_eq!(receipt.return_data, 1u64.to_le_bytes());
    // The JSON call and view helpers report the ABI error instead of overflowing the stack.
    let err = chain
        .call(&keys[0], address, "incr", json!(null), U256::zero())
        .unwrap_err();
    assert!(
        err.to_string().contains("type `Loop` contains itself"),
        "{err}"
    );
    let err = chain.view(address, "get", json!(null)).unwrap_err();
    assert!(err.to_string().contains("contains itself"), "{err}");
}

/// Type strings from Rust's type grammar (with some garbage), some referring to the ABI's own
/// (possibly recursive) types or to types it does not define.
fn type_string() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    const LEAVES: &[&str] = &[
        "u8", "u64", "i128", "bool", "String", "Address", "A", "B", "E", "()",
    ];
    const GARBAGE: &[&str] = &["Missing", "Vec<", ">", "[u8;", "(,)"];
    prop_oneof![
        20 => prop::sample::select(LEAVES),
        1 => prop::sample::select(GARBAGE),
    ]
    .prop_map(str::to_string)
    .prop_recursive(12, 64, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| format!("Vec<{t}>")),
            inner.clone().prop_map(|t| format!("Option<{t}>")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}, {b})")),
            (inner, prop::sample::select(&[0usize, 3, 70_000][..]))
                .prop_map(|(t, n)| format!("[{t}; {n}]")),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever the ABI's types, reading it and decoding bytes or encoding JSON with it ends
    /// in a value or an error: no panic, no overflow, and output within the budget.
    #[test]
    fn random_abis_read_and_decode_without_panicking(
        ret in type_string(),
        a in type_string(),
        b in type_string(),
        e in type_string(),
        // Mostly zeros and ones (empty vectors, `None`, first variants) so that values decode.
        data in proptest::collection::vec(proptest::prop_oneof![
            3 => proptest::strategy::Just(0u8),
            1 => proptest::strategy::Just(1u8),
            1 => proptest::prelude::any::<u8>(),
        ], 0..64),
    ) {
        let types = [
            strukt("A", &[("x", &a), ("y", &b)]),
            strukt("B", &[("0", &a)]),
            json!({"kind": "enum", "name": "E", "variants": [
                {"name": "One", "fields": []},
                {"name": "Two", "fields": [{"name": "v", "type": e}]}]}),
        ];
        let methods = json!([{"name": "get", "kind": "call", "args": [{"name": "v", "type": ret}],
            "returns": ret, "error": "E"}]);
        if let Ok(abi) = ContractAbi::from_wasm(&wasm(&methods, &types)) {
            // Every prefix, so that some decode exactly (most bytes leave a trailing rest).
            for n in 0..=data.len() {
                if let Ok(v) = abi.decode_return("get", &data[..n]) {
                    proptest::prop_assert!(v.to_string().len() <= MAX_DECODED_BYTES);
                    let _ = abi.encode_args("get", &json!([v]));
                }
            }
            let _ = abi.decode_error("get", &data);
            let _ = abi.encode_args("get", &json!([null]));
        }
    }
}
