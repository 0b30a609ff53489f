//! Drives the DApp backend over loopback HTTP: a full escrow deal, a full vote, events, and
//! the error responses a client sees.

use chainvm_examples::{Backend, router};
use chainvm_tests::contract_wasm;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

/// Starts the backend on 127.0.0.1 with an OS-chosen port, on its own runtime thread.
fn start() -> SocketAddr {
    let backend = Backend::new(&contract_wasm("escrow"), &contract_wasm("voting")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router(Arc::new(Mutex::new(backend))))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A minimal HTTP/1.1 client: one request per connection.
fn request(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status: u16 = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (_, payload) = raw.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

#[test]
fn escrow_deal_and_vote_over_http() {
    let addr = start();
    let (code, status) = request(addr, "GET", "/status", None);
    assert_eq!(code, 200);
    assert_eq!(status["height"], 2, "two deploys");

    let (code, r) = request(
        addr,
        "POST",
        "/escrow",
        Some(json!({"buyer": 1, "seller": 2, "amount": 5000, "deadline_blocks": 20})),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["result"], 0);
    assert_eq!(r["events"][0]["event"], "DealCreated");
    let (code, r) = request(addr, "POST", "/escrow/0/confirm", Some(json!({"buyer": 3})));
    assert_eq!((code, r["error"].as_str()), (400, Some("NotBuyer")));
    let (code, _) = request(
        addr,
        "POST",
        "/escrow/0/deliver",
        Some(json!({"seller": 2})),
    );
    assert_eq!(code, 200);
    let (code, r) = request(addr, "POST", "/escrow/0/confirm", Some(json!({"buyer": 1})));
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["events"][0]["event"], "Released");
    let (_, deal) = request(addr, "GET", "/escrow/0", None);
    assert_eq!(deal["state"], "Released");
    assert_eq!(deal["amount"], "5000");
    assert_eq!(request(addr, "GET", "/escrow/7", None).0, 404);

    let (code, r) = request(
        addr,
        "POST",
        "/proposals",
        Some(json!({"creator": 0, "title": "t", "options": ["x", "y"], "duration_blocks": 10})),
    );
    assert_eq!(code, 200, "{r}");
    let id = r["result"].as_u64().unwrap();
    for (voter, option) in [(1, 1), (2, 1), (3, 0)] {
        let (code, r) = request(
            addr,
            "POST",
            &format!("/proposals/{id}/vote"),
            Some(json!({"voter": voter, "option": option})),
        );
        assert_eq!(code, 200, "{r}");
    }
    let (code, r) = request(
        addr,
        "POST",
        &format!("/proposals/{id}/vote"),
        Some(json!({"voter": 1, "option": 0})),
    );
    assert_eq!((code, r["error"].as_str()), (400, Some("AlreadyVoted")));
    let (code, r) = request(
        addr,
        "POST",
        &format!("/proposals/{id}/finalize"),
        Some(json!({})),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["result"], 1);
    let (_, p) = request(addr, "GET", &format!("/proposals/{id}"), None);
    assert_eq!(p["tally"], json!([1, 2]));
    assert_eq!(p["finalized"], true);

    let (_, events) = request(addr, "GET", "/events?since=3", None);
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "DealCreated",
            "Delivered",
            "Released",
            "ProposalCreated",
            "Voted",
            "Voted",
            "Voted",
            "Finalized"
        ]
    );
    // Malformed requests get an error status, not a crash.
    assert!(request(addr, "POST", "/escrow", Some(json!({"buyer": "x"}))).0 >= 400);
    assert_eq!(
        request(
            addr,
            "POST",
            "/escrow",
            Some(json!({"buyer": 42, "seller": 1, "amount": 1, "deadline_blocks": 1}))
        )
        .0,
        400
    );
    assert_eq!(request(addr, "GET", "/status", None).0, 200);
}
