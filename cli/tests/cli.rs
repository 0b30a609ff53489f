//! Drives the real `chainvm` binary: init, deploy, call, view and the other commands, every
//! error path a contract author meets, and persistence across processes.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn chainvm(home: &Path) -> Command {
    let mut c = Command::cargo_bin("chainvm").unwrap();
    c.arg("--home").arg(home);
    c
}

/// Runs and expects success; returns stdout.
fn ok(home: &Path, args: &[&str]) -> String {
    let out = chainvm(home).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "chainvm {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(home: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(home, &a)).unwrap()
}

/// Runs and expects failure; returns the single stderr line.
fn err(home: &Path, args: &[&str]) -> String {
    let out = chainvm(home).args(args).output().unwrap();
    assert!(!out.status.success(), "chainvm {args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line expected, got: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn wasm(name: &str) -> String {
    chainvm_tests::contracts_dir()
        .join(format!("{name}.wasm"))
        .display()
        .to_string()
}

fn addr(home: &Path, i: usize) -> String {
    json(home, &["accounts"])[i]["address"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn init_deploy_call_view_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let init = json(&home, &["init", "--chain-id", "42"]);
    assert_eq!(init["chain_id"], 42);
    assert_eq!(init["accounts"].as_array().unwrap().len(), 10);
    assert_eq!(
        init["accounts"][0]["private_key"].as_str().unwrap().len(),
        66
    );
    let human = ok(&home, &["accounts"]);
    assert_eq!(human.lines().count(), 10);

    let d = json(&home, &["deploy", &wasm("escrow"), "--alias", "escrow"]);
    assert_eq!(d["status"], "success");
    let escrow = d["contract_address"].as_str().unwrap().to_string();
    let seller = addr(&home, 1);
    let args = format!(r#"{{"seller": "{seller}", "deadline_blocks": 10}}"#);
    let c = json(
        &home,
        &["call", "escrow", "create", &args, "--value", "5000"],
    );
    assert_eq!(c["return"], 0);
    assert_eq!(c["events"][0]["event"], "DealCreated");
    assert_eq!(c["events"][0]["data"]["amount"], "5000");
    let v = json(&home, &["view", &escrow, "get_deal", r#"{"id": 0}"#]);
    assert_eq!(v["return"]["state"], "Funded");
    assert_eq!(v["return"]["seller"], seller.as_str());
    // Human output of a call shows the return value and the gas table on request.
    let human = ok(
        &home,
        &[
            "call",
            "escrow",
            "mark_delivered",
            "[0]",
            "--from",
            "1",
            "--gas-report",
        ],
    );
    assert!(human.contains("event  Delivered"), "{human}");
    assert!(human.contains("host storage_get"), "{human}");
    let b = json(&home, &["balance", "escrow"]);
    assert_eq!(b["balance"], "5000");

    let block = json(&home, &["block", "latest"]);
    assert_eq!(block["height"], 3);
    let tx = block["transactions"][0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let t = json(&home, &["tx", &tx]);
    assert_eq!(t["block"], 3);
    assert_eq!(t["events"][0]["event"], "Delivered");
    let ev = json(&home, &["events", "--contract", "escrow"]);
    assert_eq!(ev.as_array().unwrap().len(), 2);
    assert_eq!(
        json(&home, &["events", "--topic", "Delivered"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let p = json(&home, &["proof", &format!("account:{}", addr(&home, 0))]);
    assert_eq!(p["verified"], true);
    assert!(p["value"].is_string());
    let p = json(&home, &["proof", "storage:escrow:0x6400000000000000ff"]);
    assert_eq!(p["verified"], true);
    assert!(p["value"].is_null(), "absent key proven absent");

    let before = json(&home, &["balance", "3"])["balance"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&home, &["transfer", "3", "1234", "--from", "2"]);
    let after = json(&home, &["balance", "3"])["balance"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        after.parse::<u128>().unwrap(),
        before.parse::<u128>().unwrap() + 1234
    );
    assert_eq!(
        json(&home, &["stake", "1000", "--from", "4"])["status"],
        "success"
    );
    assert_eq!(
        json(&home, &["unstake", "400", "--from", "4"])["status"],
        "success"
    );
    let v = json(&home, &["verify"]);
    assert_eq!(
        v["blocks"],
        json(&home, &["block"])["height"].as_u64().unwrap() + 1
    );
}

#[test]
fn every_failure_is_one_clear_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    assert!(err(&home, &["balance"]).contains("run `chainvm init`"));
    ok(&home, &["init"]);
    assert!(err(&home, &["init"]).contains("already holds a chain"));

    let missing = dir.path().join("nope.wasm");
    assert!(err(&home, &["deploy", missing.to_str().unwrap()]).contains("No such file"));
    let text = dir.path().join("text.wasm");
    std::fs::write(&text, "hello").unwrap();
    assert!(err(&home, &["deploy", text.to_str().unwrap()]).contains("is not a wasm module"));
    let bad = dir.path().join("bad.wasm");
    std::fs::write(
        &bad,
        wat::parse_str(r#"(module (import "env" "system" (func)) (memory (export "memory") 1))"#)
            .unwrap(),
    )
    .unwrap();
    assert!(err(&home, &["deploy", bad.to_str().unwrap()]).contains("unknown import `env.system`"));
    let start = dir.path().join("start.wasm");
    std::fs::write(
        &start,
        wat::parse_str(r#"(module (memory (export "memory") 1) (func $f) (start $f))"#).unwrap(),
    )
    .unwrap();
    assert!(
        err(&home, &["deploy", start.to_str().unwrap()])
            .contains("start functions are not allowed")
    );

    ok(&home, &["deploy", &wasm("escrow"), "--alias", "escrow"]);
    let e = err(&home, &["call", "escrow", "crate", "{}"]);
    assert!(
        e.contains("unknown method `crate`")
            && e.contains("create")
            && e.contains("mark_delivered"),
        "{e}"
    );
    assert!(err(&home, &["call", "escrow", "confirm", "{id: 1}"]).contains("not valid JSON"));
    assert!(
        err(&home, &["call", "escrow", "confirm", r#"{"id": "x"}"#]).contains("`id`: expected u64")
    );
    assert!(err(&home, &["call", "escrow", "create", "{}"]).contains("missing argument `seller`"));
    assert!(err(&home, &["call", "nowhere", "confirm"]).contains("not an address"));
    // Contract errors carry the typed error and the location.
    let e = err(&home, &["call", "escrow", "confirm", r#"{"id": 7}"#]);
    assert!(
        e.contains("contract returned error \"NotFound\" at escrow/src/lib.rs:"),
        "{e}"
    );
    // Out of gas says how much was used.
    let e = err(&home, &["call", "escrow", "deal_count", "--gas", "400000"]);
    assert!(
        e.contains("out of gas: used 400000 of the 400000 gas limit"),
        "{e}"
    );
    // Insufficient funds.
    let e = err(&home, &["transfer", "1", "999999999999999999999999999999"]);
    assert!(e.contains("insufficient funds"), "{e}");
    assert!(err(&home, &["transfer", "1", "12x"]).contains("not an amount"));
    assert!(err(&home, &["transfer", "1", "-5"]).contains("unexpected argument"));
    assert!(err(&home, &["call", "escrow", "deal_count", "--from", "12"]).contains("dev accounts"));
    assert!(err(&home, &["block", "99"]).contains("no block 99"));
    assert!(err(&home, &["tx", "0x1234"]).contains("32-byte hex hash"));
    // A home held by another process (here: this test, as a running node would).
    let held = chainvm_runtime::Chain::open(&home).unwrap();
    assert!(err(&home, &["balance"]).contains("locked by another process"));
    drop(held);
    ok(&home, &["balance"]);
    // A corrupt data directory.
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("chain.redb"), vec![7u8; 4096]).unwrap();
    assert!(err(&corrupt, &["balance"]).contains("corrupt"));
}

#[test]
fn a_second_process_sees_the_first_ones_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    ok(&home, &["init"]);
    ok(
        &home,
        &[
            "deploy",
            &wasm("token"),
            "--alias",
            "tok",
            "--args",
            r#"{"name": "T", "symbol": "T", "supply": "1000"}"#,
        ],
    );
    let to = addr(&home, 5);
    ok(
        &home,
        &["call", "tok", "transfer", &format!(r#"["{to}", "250"]"#)],
    );
    let height = json(&home, &["block"])["height"].as_u64().unwrap();
    // Every command above ran in its own process; the state and blocks are all there.
    assert_eq!(height, 2);
    assert_eq!(
        json(
            &home,
            &["view", "tok", "balance_of", &format!(r#"["{to}"]"#)]
        )["return"],
        "250"
    );
    assert_eq!(json(&home, &["balance", "0"])["nonce"], 2);
    json(&home, &["verify"]);
}

#[test]
fn help_exists_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "init", "accounts", "build", "deploy", "call", "view", "transfer", "balance", "stake",
        "unstake", "block", "tx", "events", "proof", "verify", "demo",
    ] {
        let out = ok(dir.path(), &[cmd, "--help"]);
        assert!(out.contains("Usage: chainvm"), "{cmd}: {out}");
    }
}

#[test]
fn build_reports_the_wasm_of_a_contract_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let contracts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    let out = json(dir.path(), &["build", contracts.to_str().unwrap()]);
    let names: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for want in ["escrow", "token", "voting"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for b in out.as_array().unwrap() {
        let size = b["size"].as_u64().unwrap();
        assert_eq!(
            size,
            std::fs::metadata(b["path"].as_str().unwrap())
                .unwrap()
                .len()
        );
    }
    assert!(
        err(dir.path(), &["build", dir.path().to_str().unwrap()]).contains("has no Cargo.toml")
    );
}

#[test]
fn gas_report_aggregates_a_scenario_per_method() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.json");
    let token = wasm("token");
    std::fs::write(
        &scenario,
        format!(
            r#"{{"contracts": {{"token": "{token}"}}, "steps": [
                {{"deploy": "token", "args": {{"name": "T", "symbol": "T", "supply": "1000"}}}},
                {{"call": "token", "method": "transfer", "args": ["@1", "10"]}},
                {{"call": "token", "method": "transfer", "args": ["@2", "10"]}},
                {{"call": "token", "method": "transfer", "from": 5, "args": ["@2", "10"]}},
                {{"advance": 2}},
                {{"call": "token", "method": "balance_of", "args": ["@1"]}}]}}"#
        ),
    )
    .unwrap();
    let r = json(dir.path(), &["gas-report", scenario.to_str().unwrap()]);
    let t = &r["token"]["methods"]["transfer"];
    assert_eq!(t["calls"], 3);
    assert_eq!(t["failed"], 1, "account 5 has no tokens");
    assert!(t["min"].as_u64().unwrap() <= t["avg"].as_u64().unwrap());
    assert!(t["avg"].as_u64().unwrap() <= t["max"].as_u64().unwrap());
    assert_eq!(r["token"]["methods"]["balance_of"]["calls"], 1);
    assert!(r["token"]["deployment_gas"].as_u64().unwrap() > 0);
    let human = ok(dir.path(), &["gas-report", scenario.to_str().unwrap()]);
    assert!(
        human.contains("token contract") && human.contains("transfer"),
        "{human}"
    );
    std::fs::write(
        &scenario,
        r#"{"contracts": {}, "steps": [{"call": "nope", "method": "x"}]}"#,
    )
    .unwrap();
    assert!(
        err(dir.path(), &["gas-report", scenario.to_str().unwrap()])
            .contains("step 1: `nope` was not deployed")
    );
}

#[test]
fn staking_from_a_dev_account_delegates_and_the_chain_keeps_producing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(home, &["init"]);
    // The validator key is secret: owner-only, and not the derivable key of earlier versions.
    let key_file = home.join("validator.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "validator.key mode {mode:o}");
    }
    let secret = std::fs::read_to_string(&key_file).unwrap();
    let other = tempfile::tempdir().unwrap();
    ok(other.path(), &["init"]);
    assert_ne!(
        secret,
        std::fs::read_to_string(other.path().join("validator.key")).unwrap(),
        "two homes, two validator keys"
    );
    // The command that used to halt the chain.
    let out = ok(home, &["stake", "900000000000000000000000", "--from", "1"]);
    assert!(out.contains("delegated"), "{out}");
    for i in 0..5 {
        ok(
            home,
            &["transfer", "3", "1000", "--from", &(i % 3).to_string()],
        );
    }
    let v = json(home, &["block", "latest"]);
    assert_eq!(v["height"].as_u64(), Some(6), "{v}");
    // Registering a dev account as a validator is refused on the permissioned dev chain.
    let e = err(home, &["register-validator", "1000", "--from", "2"]);
    assert!(e.contains("registration refused: not permitted"), "{e}");
    ok(home, &["verify"]);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    // `chainvm accounts | head -0`: the reader is gone before anything is written. Rust
    // ignores SIGPIPE, so without restoring it every print would panic.
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init"]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("chainvm"))
        .arg("--home")
        .arg(dir.path())
        .arg("accounts")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
