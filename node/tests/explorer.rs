//! The explorer's files served on the JSON-RPC port over real HTTP, next to JSON-RPC `POST`
//! and WebSocket subscriptions on the same port.

mod common;

use chainvm_node::{Mode, Settings};
use common::*;
use serde_json::json;
use std::time::Duration;

/// `GET path`: status, content type, body.
fn get(node: &Node, path: &str, origin: Option<&str>) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("http://{}{path}", node.running.addr());
    let mut req = agent.get(&url);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let mut r = req.call().unwrap();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        r.status().as_u16(),
        kind,
        r.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn the_explorer_is_served_at_root_beside_json_rpc() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());
    // Every file of node/explorer/ (so a new module cannot be left out of FILES) as it is on
    // disk, index.html at `/`.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("explorer");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 11, "{names:?}");
    for name in &names {
        let path = if name == "index.html" {
            "/".to_string()
        } else {
            format!("/{name}")
        };
        let want = match name.rsplit_once('.') {
            Some((_, "js")) => "text/javascript",
            Some((_, "css")) => "text/css",
            Some((_, "html")) => "text/html",
            _ => panic!("an explorer file of unknown type: {name}"),
        };
        let (status, kind, body) = get(&node, &path, None);
        assert_eq!(status, 200, "{path}");
        assert!(kind.starts_with(want), "{path}: {kind}");
        assert_eq!(
            body,
            std::fs::read_to_string(dir.join(name)).unwrap(),
            "{path}"
        );
    }
    // A query string is the page's own business.
    assert_eq!(get(&node, "/?block=3", None).0, 200);
    for path in [
        "/nope",
        "/index.html",
        "/app.js/x",
        "/tx.js/",
        "/../Cargo.toml",
    ] {
        assert_eq!(get(&node, path, None).0, 404, "{path}");
    }
    // The page as a loopback page fetches its modules (allowed); a foreign page cannot.
    assert_eq!(get(&node, "/app.js", Some("http://localhost:8000")).0, 200);
    assert_eq!(get(&node, "/rpc.js", Some("http://localhost:8000")).0, 200);
    assert_eq!(get(&node, "/rpc.js", Some("https://evil.example")).0, 403);
    assert_eq!(get(&node, "/", Some("https://evil.example")).0, 403);

    // JSON-RPC POST / and WebSocket on the same port, as before.
    node.send(&transfer(0, 0, 1, 5));
    assert_eq!(node.ok("chainvm_blockNumber", json!(null)), 1);
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/", node.running.addr())).unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_chainId"});
    ws.send(tungstenite::Message::Text(call.to_string().into()))
        .unwrap();
    let reply: serde_json::Value =
        serde_json::from_str(ws.read().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(reply["result"], CHAIN_ID);
    node.stop();
}
