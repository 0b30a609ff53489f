//! The testing crate on a real contract crate (`contracts/token`, built by `compile_project`
//! as an author's test would build its own crate).

use chainvm_testing::{TestChain, TestingError, compile_project, decode_return, json};
use std::path::Path;

fn token_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/token")
}

#[test]
fn builds_once_deploys_calls_with_json_and_typed_arguments_and_moves_time() {
    let wasm = compile_project(token_dir()).unwrap();
    // Built once per process: a second call is the same build.
    let again = compile_project(token_dir()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&wasm, &again));
    assert_eq!(wasm.name, "token");
    assert!(wasm.code.starts_with(b"\0asm"));

    let mut t = TestChain::new();
    let supply = json!({"name": "T", "symbol": "T", "supply": "1000"});
    let token = t.deploy(0, &wasm, supply).unwrap().address;
    let bob = t.address_json(1).unwrap();
    let sent = t
        .call(0, token, "transfer", json!([bob.clone(), "250"]))
        .unwrap();
    assert!(sent.receipt.is_success(), "{:?}", sent.receipt.error);
    assert_eq!(sent.events[0].0, "Transfer");
    assert_eq!(
        t.view(token, "balance_of", json!([bob])).unwrap(),
        json!("250")
    );

    // The same query with borsh arguments, decoded with borsh.
    let bob_bytes: [u8; 20] = t.address(1).unwrap().0;
    let r = t
        .call_typed(0, token, "balance_of", &(bob_bytes,), 0u64.into())
        .unwrap();
    assert!(r.is_success());
    assert_eq!(decode_return::<u128>(&r).unwrap(), 250);

    // A refused call: the typed error comes back decoded.
    let refused = t
        .call(
            1,
            token,
            "transfer",
            json!([t.address_json(2).unwrap(), "999"]),
        )
        .unwrap();
    assert!(!refused.receipt.is_success());
    assert_eq!(refused.value, json!("InsufficientBalance"));

    let time = |t: &TestChain| {
        let h = t.height().unwrap();
        t.header(h).unwrap().unwrap().header.timestamp
    };
    let (h, before) = (t.height().unwrap(), time(&t));
    t.advance_blocks(3).unwrap();
    assert_eq!(t.height().unwrap(), h + 3);
    t.advance_time(3600).unwrap();
    t.advance_blocks(1).unwrap();
    assert!(time(&t) >= before + 3600, "{} vs {before}", time(&t));
    assert!(matches!(t.key(10), Err(TestingError::NoAccount(10, 10))));
}

#[test]
fn a_profiled_call_adds_up_to_its_receipt_and_names_the_contract_functions() {
    let wasm = compile_project(token_dir()).unwrap();
    let mut t = TestChain::new();
    let supply = json!({"name": "T", "symbol": "T", "supply": "1000"});
    let token = t.deploy(0, &wasm, supply).unwrap().address;
    let to = t.address_json(1).unwrap();
    let p = t
        .call_profiled(0, &wasm, token, "transfer", json!([to, "5"]))
        .unwrap();
    assert!(p.receipt.is_success());
    assert_eq!(p.profile.total(), p.receipt.gas.total);
    let sum: u64 = p
        .folded
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, p.receipt.gas.total);
    assert!(
        p.folded.iter().any(|l| l.contains("token::move_tokens")),
        "{:#?}",
        p.folded
    );
    assert!(p.folded.iter().all(|l| l.starts_with("token.transfer;")));
    let svg = tempfile::NamedTempFile::new().unwrap();
    p.write_svg(svg.path()).unwrap();
    assert!(
        std::fs::read_to_string(svg.path())
            .unwrap()
            .contains("move_tokens")
    );
    // The call really happened.
    assert_eq!(
        t.view(token, "balance_of", json!([t.address_json(1).unwrap()]))
            .unwrap(),
        json!("5")
    );
    // A build that is not the deployed code is refused.
    let mut other = (*wasm).clone();
    other.code.push(0);
    assert!(matches!(
        t.call_profiled(
            0,
            &other,
            token,
            "transfer",
            json!([t.address_json(1).unwrap(), "1"])
        ),
        Err(TestingError::Profile(_))
    ));
}

#[test]
fn a_crate_that_does_not_compile_fails_with_the_compilers_words() {
    let tmp = tempfile::Builder::new()
        .prefix("chainvm-testing")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let sdk = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/sdk"))
        .unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[lib]\ncrate-type = [\"cdylib\"]\n[dependencies]\nchainvm-sdk = {{ path = \"{}\" }}\n",
            sdk.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        "#![no_std]\npub fn f() -> u32 { \"x\" }\n",
    )
    .unwrap();
    let e = compile_project(dir).unwrap_err().to_string();
    assert!(e.contains("does not compile"), "{e}");
    assert!(e.contains("error[E0308]: mismatched types"), "{e}");
    // The failure is cached like a success: the same words again, no second build.
    assert_eq!(compile_project(dir).unwrap_err().to_string(), e);
}
