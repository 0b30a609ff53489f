//! Runs the DApp backend: `dapp-backend [--listen 127.0.0.1:8080] [--contracts DIR]`, where
//! DIR holds `escrow.wasm` and `voting.wasm` (build them with `chainvm build contracts`).

use chainvm_examples::{Backend, router};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[tokio::main]
async fn main() {
    let mut listen = "127.0.0.1:8080".to_string();
    let mut contracts = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/target/chainvm"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--contracts", Some(v)) => contracts = PathBuf::from(v),
            _ => {
                eprintln!("usage: dapp-backend [--listen ADDR] [--contracts DIR]");
                std::process::exit(2);
            }
        }
    }
    let read = |name: &str| {
        std::fs::read(contracts.join(name)).unwrap_or_else(|e| {
            eprintln!(
                "error: {}: {e} (run `chainvm build contracts` first)",
                contracts.join(name).display()
            );
            std::process::exit(1)
        })
    };
    let backend = Backend::new(&read("escrow.wasm"), &read("voting.wasm")).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("error: cannot listen on {listen}: {e}");
            std::process::exit(1)
        });
    eprintln!("dapp-backend listening on http://{listen}");
    if let Err(e) = axum::serve(listener, router(Arc::new(Mutex::new(backend)))).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
