//! `chainvm proof --light` against a real `chainvm node`: the value is believed only after
//! the light client followed the node's certificates from the genesis file; a node (here a
//! proxy in front of a real one) that answers for another key, edits a value or a header is
//! refused with one line and a non-zero exit.

use chainvm_runtime::block::SignedHeader;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::layout;
use chainvm_runtime::types::{hex, parse_hex};
use chainvm_runtime::{Payload, Transaction, U256};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainvm"))
}

/// A `chainvm node` on a loopback port, killed on drop.
struct NodeProc {
    child: Child,
    url: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(home: &Path) -> NodeProc {
    let mut child = bin()
        .arg("--home")
        .arg(home)
        .args(["node", "--rpc", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    NodeProc {
        child,
        url: format!("http://{addr}/"),
    }
}

fn post(url: &str, body: &Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut resp = agent.post(url).send_json(body).unwrap();
    resp.body_mut().read_json().unwrap()
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    let r = post(
        url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    );
    assert!(r.get("error").is_none(), "{method}: {r}");
    r["result"].clone()
}

/// Edits a request body before it reaches the node.
type RequestEdit = Arc<dyn Fn(&mut Value) + Send + Sync>;
/// Edits the node's answer (given the request).
type ResponseEdit = Arc<dyn Fn(&Value, &mut Value) + Send + Sync>;

/// A JSON-RPC proxy in front of `node` that edits requests and answers: a node that lies.
/// Returns its URL; it serves until the test process ends.
fn lying_proxy(node: &str, request: RequestEdit, response: ResponseEdit) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let node = node.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (node, request, response) = (node.clone(), request.clone(), response.clone());
            std::thread::spawn(move || serve(stream, &node, &*request, &*response));
        }
    });
    url
}

/// One HTTP request: read it, forward its edited body, write back the edited answer.
fn serve(
    mut stream: TcpStream,
    node: &str,
    request: &(dyn Fn(&mut Value) + Send + Sync),
    response: &(dyn Fn(&Value, &mut Value) + Send + Sync),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut req: Value = serde_json::from_slice(&body).unwrap();
    request(&mut req);
    let mut answer = post(node, &req);
    if let Some(result) = answer.get_mut("result") {
        response(&req, result);
    }
    let text = answer.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        text.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(text.as_bytes());
}

fn chainvm(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The one line a refused answer prints.
fn refusal(out: &Output) -> String {
    assert!(!out.status.success(), "accepted a lie");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: light client: "), "{err}");
    err
}

#[test]
fn proof_light_follows_a_real_node_and_refuses_its_lies() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    assert!(
        bin()
            .arg("--home")
            .arg(&home)
            .arg("init")
            .status()
            .unwrap()
            .success()
    );
    // The trust root, copied out of the node's home; the client's own home is empty.
    let genesis = dir.path().join("trusted-genesis.json");
    std::fs::copy(home.join("genesis.json"), &genesis).unwrap();
    let client_home = dir.path().join("client");
    let node = start(&home);
    let chain_id = rpc(&node.url, "chainvm_chainId", Value::Null)
        .as_u64()
        .unwrap();

    // Eleven blocks (automine): transfers, and a delegation that moves the validator's power.
    let keys = dev_keys();
    let send = |key: usize, nonce: u64, payload: Payload| {
        let tx = Transaction::new(chain_id, nonce, payload).sign(&keys[key]);
        rpc(
            &node.url,
            "chainvm_sendRawTransaction",
            json!({"tx": hex(&tx.encode())}),
        );
    };
    let validator = rpc(&node.url, "chainvm_validators", Value::Null)[0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    for nonce in 0..10u64 {
        let to = keys[2].address();
        send(
            1,
            nonce,
            Payload::Transfer {
                to,
                amount: U256::from(1_000 + nonce),
            },
        );
    }
    let validator_address = chainvm_runtime::Address::from_slice(&parse_hex(&validator).unwrap());
    send(
        3,
        0,
        Payload::Stake {
            validator: validator_address,
            amount: U256::exp10(23),
        },
    );
    let height = rpc(&node.url, "chainvm_blockNumber", Value::Null)
        .as_u64()
        .unwrap();
    assert_eq!(height, 11);

    let who = hex(keys[2].address().as_bytes());
    let key = format!("account:{who}");
    let light = |url: &str, extra: &[&str]| {
        let mut args = vec!["--home", client_home.to_str().unwrap(), "--node", url];
        args.extend_from_slice(extra);
        chainvm(&args)
    };
    let trusted = ["--genesis", genesis.to_str().unwrap()];
    let v = json_out(&light(
        &node.url,
        &[&["--json", "proof", &key, "--light"][..], &trusted].concat(),
    ));
    let balance = rpc(&node.url, "chainvm_getBalance", json!({"address": who}));
    assert_eq!(v["account"]["balance"], balance, "{v}");
    assert_eq!(v["verified"], true);
    assert_eq!(v["height"], height);
    // Block 1, then two heights per certificate: 1, 3, 5, 7, 9, 11.
    assert_eq!(v["certificates_checked"], 1 + (height - 1).div_ceil(2));
    let block = rpc(
        &node.url,
        "chainvm_getBlockByNumber",
        json!({"height": height}),
    );
    assert_eq!(v["block_hash"], block["hash"]);
    let genesis_block = rpc(&node.url, "chainvm_getBlockByNumber", json!({"height": 0}));
    assert_eq!(v["genesis_hash"], genesis_block["hash"]);
    // At an earlier height, the value then; the delegator's stake is provable too.
    let v5 = json_out(&light(
        &node.url,
        &[
            &["--json", "proof", &key, "--light", "--height", "5"][..],
            &trusted,
        ]
        .concat(),
    ));
    assert_eq!(v5["height"], 5);
    assert_ne!(v5["account"]["balance"], v["account"]["balance"]);
    let validator_key = format!("validator:{validator}");
    assert!(
        json_out(&light(
            &node.url,
            &[
                &["--json", "proof", &validator_key, "--light"][..],
                &trusted
            ]
            .concat()
        ))["value"]
            .is_string()
    );

    // People's output, with the genesis taken from the node's --home.
    let out = chainvm(&[
        "--home",
        home.to_str().unwrap(),
        "--node",
        &node.url,
        "proof",
        &key,
        "--light",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("verified  at header {height} ")),
        "{text}"
    );
    assert!(text.contains("checked   6 certificates"), "{text}");

    // A node that answers with the proof of another account: a valid proof, of the wrong key.
    let other = hex(&layout::account_key(&keys[4].address()));
    let wanted = hex(&layout::account_key(&keys[2].address()));
    let swap_key: RequestEdit = Arc::new(move |req| {
        if req["method"] == "chainvm_getProof" && req["params"]["key"] == wanted.as_str() {
            req["params"]["key"] = json!(other);
        }
    });
    let honest: ResponseEdit = Arc::new(|_, _| {});
    let liar = lying_proxy(&node.url, swap_key, honest.clone());
    let err = refusal(&light(
        &liar,
        &[&["proof", &key, "--light"][..], &trusted].concat(),
    ));
    assert!(err.contains("state proof of key"), "{err}");

    // A node that edits the value (keeping the proof) or the header's state root.
    let pass: RequestEdit = Arc::new(|_| {});
    let account_key = hex(&layout::account_key(&keys[2].address()));
    let edit_value: ResponseEdit = Arc::new(move |req, result| {
        if req["method"] == "chainvm_getProof" && req["params"]["key"] == account_key.as_str() {
            let mut v = parse_hex(result["value"].as_str().unwrap()).unwrap();
            v[20] ^= 1;
            result["value"] = json!(hex(&v));
        }
    });
    let liar = lying_proxy(&node.url, pass.clone(), edit_value);
    let err = refusal(&light(
        &liar,
        &[&["proof", &key, "--light"][..], &trusted].concat(),
    ));
    assert!(err.contains("state proof of key"), "{err}");
    let edit_header: ResponseEdit = Arc::new(|req, result| {
        if req["method"] == "chainvm_getBlockByNumber" && result["height"] == 3 {
            let raw = parse_hex(result["header_raw"].as_str().unwrap()).unwrap();
            let mut h = SignedHeader::decode(&raw).unwrap();
            h.header.state_root.0[0] ^= 1;
            result["header_raw"] = json!(hex(&h.encode()));
        }
    });
    let liar = lying_proxy(&node.url, pass, edit_header);
    let err = refusal(&light(
        &liar,
        &[&["proof", &key, "--light"][..], &trusted].concat(),
    ));
    assert!(err.contains("tampered header 3"), "{err}");

    // Another chain's genesis is not this chain's trust root.
    let mut foreign: Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).unwrap()).unwrap();
    foreign["timestamp"] = json!(foreign["timestamp"].as_u64().unwrap() + 1);
    let foreign_file = dir.path().join("foreign-genesis.json");
    std::fs::write(&foreign_file, foreign.to_string()).unwrap();
    let err = refusal(&light(
        &node.url,
        &[
            "proof",
            &key,
            "--light",
            "--genesis",
            foreign_file.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("does not extend the trusted chain"), "{err}");

    // Without a node, or without a genesis, there is nothing to check.
    let out = chainvm(&[
        "--home",
        client_home.to_str().unwrap(),
        "proof",
        &key,
        "--light",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --node URL"));
    let out = light(&node.url, &["proof", &key, "--light"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no genesis to trust"));
}
