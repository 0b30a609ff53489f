//! The `Origin` check over real sockets: what a browser page sends (an `Origin` header on
//! `POST`, on a preflight `OPTIONS` and on the WebSocket upgrade) against the default
//! (loopback pages), a `--cors` list and `*`.

mod common;

use chainvm_node::{Cors, Mode, Settings};
use common::*;
use serde_json::json;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;

/// What a request got back: status, `Access-Control-Allow-Origin`, `Vary`, the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    allow_origin: Option<String>,
    vary: Vec<String>,
    header: http::HeaderMap,
    body: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn answer(mut r: http::Response<ureq::Body>) -> Answer {
    let h = r.headers().clone();
    let text =
        |name: http::header::HeaderName| h.get(name).map(|v| v.to_str().unwrap_or("?").to_string());
    Answer {
        status: r.status().as_u16(),
        allow_origin: text(http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
        vary: h
            .get_all(http::header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase())
            .collect(),
        header: h,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// `chainvm_chainId` posted with `origin` (none: no header).
fn post(node: &Node, origin: Option<&str>) -> Answer {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_chainId"}).to_string();
    let mut req = agent()
        .post(&node.url)
        .header("content-type", "application/json");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    answer(req.send(&body).unwrap())
}

/// A browser's preflight before a JSON `POST` from `origin`.
fn preflight(node: &Node, origin: &str) -> Answer {
    let r = agent()
        .options(&node.url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .call()
        .unwrap();
    answer(r)
}

/// Opens a WebSocket with `origin`: `Ok` if upgraded (after one call over it), else the
/// HTTP status the upgrade was refused with.
fn websocket(node: &Node, origin: &str) -> Result<(), u16> {
    let mut request = format!("ws://{}/", node.running.addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    match tungstenite::connect(request) {
        Ok((mut ws, response)) => {
            assert_eq!(
                response
                    .headers()
                    .get("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap()),
                Some(origin)
            );
            let call = json!({"jsonrpc": "2.0", "id": 1, "method": "chainvm_chainId"});
            ws.send(tungstenite::Message::Text(call.to_string().into()))
                .unwrap();
            let reply = ws.read().unwrap();
            let reply: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
            assert_eq!(reply["result"], CHAIN_ID);
            Ok(())
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("websocket with origin {origin}: {e}"),
    }
}

fn with_cors(home: &std::path::Path, cors: &str) -> Node {
    let settings = Settings {
        cors: Cors::parse(cors).unwrap(),
        ..Settings::default()
    };
    start(home, Mode::Automine, settings)
}

#[test]
fn by_default_loopback_pages_are_served_and_others_refused() {
    let (_dir, home) = fresh_home();
    let node = start(&home, Mode::Automine, Settings::default());

    // Allowed: served, the origin echoed, Vary: Origin.
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "https://[::1]",
    ] {
        let a = post(&node, Some(origin));
        assert_eq!(a.status, 200, "{origin}: {a:?}");
        assert_eq!(a.allow_origin.as_deref(), Some(origin));
        assert!(a.vary.iter().any(|v| v == "origin"), "{a:?}");
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["result"], CHAIN_ID);
    }

    // Preflight: 204 with the methods and headers a page may use.
    let p = preflight(&node, "http://localhost:5173");
    assert_eq!(p.status, 204, "{p:?}");
    assert_eq!(p.allow_origin.as_deref(), Some("http://localhost:5173"));
    assert_eq!(
        p.header["access-control-allow-methods"],
        "POST, GET, OPTIONS"
    );
    assert_eq!(p.header["access-control-allow-headers"], "content-type");
    assert!(p.vary.iter().any(|v| v == "origin"));

    // Refused: 403 and one line, on POST, on a preflight and on the WebSocket upgrade.
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",
    ] {
        let a = post(&node, Some(origin));
        assert_eq!(a.status, 403, "{origin}: {a:?}");
        assert_eq!(a.allow_origin, None);
        assert!(a.body.contains(origin), "{a:?}");
        assert_eq!(a.body.trim_end().lines().count(), 1, "{a:?}");
        assert_eq!(preflight(&node, origin).status, 403);
        assert_eq!(websocket(&node, origin), Err(403));
    }
    assert_eq!(websocket(&node, "http://localhost:5173"), Ok(()));

    // No Origin (curl, the CLI, Node's fetch): served as ever, nothing to echo.
    let a = post(&node, None);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.allow_origin, None);
    assert_eq!(node.ok("chainvm_chainId", json!(null)), CHAIN_ID);
    let (mut ws, _) = tungstenite::connect(format!("ws://{}", node.running.addr())).unwrap();
    ws.close(None).unwrap();
    node.stop();
}

#[test]
fn a_cors_list_replaces_the_default_and_star_allows_every_origin() {
    let (_dir, home) = fresh_home();
    let node = with_cors(&home, "https://app.example, http://localhost:5173");
    let a = post(&node, Some("https://app.example"));
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.allow_origin.as_deref(), Some("https://app.example"));
    assert_eq!(preflight(&node, "https://app.example").status, 204);
    assert_eq!(websocket(&node, "https://app.example"), Ok(()));
    // Loopback only as listed: this port, not another, and not 127.0.0.1.
    assert_eq!(post(&node, Some("http://localhost:5173")).status, 200);
    assert_eq!(post(&node, Some("http://localhost:5174")).status, 403);
    assert_eq!(post(&node, Some("http://127.0.0.1:5173")).status, 403);
    assert_eq!(websocket(&node, "http://127.0.0.1:5173"), Err(403));
    assert_eq!(post(&node, Some("https://other.example")).status, 403);
    // The node's own pages (the explorer, opened at the node's address) still work.
    let own = format!("http://{}", node.running.addr());
    let a = post(&node, Some(&own));
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.allow_origin.as_deref(), Some(own.as_str()));
    assert_eq!(websocket(&node, &own), Ok(()));
    assert_eq!(post(&node, None).status, 200);
    node.stop();

    let node = with_cors(&home, "*");
    for origin in ["https://anything.example", "http://localhost:1", "null"] {
        let a = post(&node, Some(origin));
        assert_eq!(a.status, 200, "{origin}: {a:?}");
        assert_eq!(a.allow_origin.as_deref(), Some(origin));
        assert_eq!(preflight(&node, origin).status, 204);
    }
    assert_eq!(websocket(&node, "https://anything.example"), Ok(()));
    node.stop();
}
