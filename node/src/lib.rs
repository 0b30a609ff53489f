//! `chainvm-node`: the single validator as a long-running process (what `chainvm node` runs,
//! and what tests and benchmarks embed).
//!
//! - a bounded mempool (`mempool`) ordered by nonce per sender and by gas price across
//!   senders;
//! - blocks on every transaction (automine, the default), on an interval, or on demand; a
//!   transaction a block had no gas left for waits for the next one;
//! - JSON-RPC 2.0 (jsonrpsee, `server`) over HTTP and WebSocket on one port, requests and
//!   batches capped; the methods (`rpc`): reads (views, simulations, queries) run on a
//!   snapshot through a [`ChainReader`], never under the chain lock, and views are capped at
//!   `--max-view-gas`;
//! - new blocks and contract events as `chainvm_subscribe` subscriptions over WebSocket
//!   (`subscriptions`), resumable from a height;
//! - for web pages: the `Origin` check and CORS headers ([`Cors`], `--cors`), receipts and
//!   views decoded with contracts' ABIs on request (`decode`), and the explorer's static
//!   files at `/` (`explorer`);
//! - BFT consensus among validators ([`consensus`], Malachite/Tendermint): the glue from the
//!   engine's messages to the chain's propose / check / commit steps;
//! - SIGINT/SIGTERM stop taking requests, finish the block in progress, and close the store;
//!   reads still running after a short grace are abandoned (they change nothing).
//!
//! Binary objects travel as hex of their canonical borsh encoding (`raw` fields), next to a
//! readable JSON form, so clients in any language can read results and the `chainvm` CLI can
//! print exactly what it prints for a local home.

pub mod consensus;
mod decode;
mod error;
mod explorer;
mod forward;
pub mod json;
pub mod launcher;
mod mempool;
pub mod network;
mod origin;
mod rpc;
mod server;
mod slots;
mod subscriptions;
pub mod testnet;

pub use error::{NodeError, Result};
pub use mempool::{Admitted, Mempool, PoolLimits};
pub use origin::{Cors, is_loopback};
pub use server::{MAX_BATCH, MAX_BODY, MAX_CONNECTIONS, RpcHarness};

use chainvm_runtime::{AdmissionError, Chain, ChainReader};
use rpc::RpcError;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Most transactions per block.
pub(crate) const MAX_BLOCK_TXS: usize = 2_000;
/// How long requests still running at shutdown may take before they are abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// When blocks are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A block for every transaction, at once.
    Automine,
    /// A block every so many milliseconds (empty ones included).
    Interval(u64),
    /// Only on `chainvm_produceBlock`.
    Manual,
    /// Decided by the validators of a network (the home's `network.json`): consensus
    /// proposes, votes and commits; admitted transactions are forwarded to the peers.
    Network,
}

/// Node settings from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Most gas one `chainvm_view` may use (a request asking for more runs with this much),
    /// and the largest gas limit `chainvm_simulate` accepts. Default: the block gas limit.
    pub max_view_gas: Option<u64>,
    /// Most views and simulations running at once; more are refused (JSON-RPC -32005) until
    /// one ends. Default: twice the cores.
    pub max_concurrent_views: Option<usize>,
    /// `--prune N`: switch the chain to keeping the last N state versions (kept in the
    /// store). `None`: the mode the chain already has.
    pub prune: Option<u64>,
    /// `--cors`: which browser pages may call the JSON-RPC and open WebSockets (an
    /// `Origin` header checked on every request). Default: loopback pages only.
    pub cors: Cors,
}

/// Parses a gas amount: `5000000000`, `5_000_000_000` or `5e9`.
pub fn parse_gas(s: &str) -> Result<u64, String> {
    let s = s.replace('_', "");
    let bad = || format!("`{s}` is not a gas amount (e.g. 5000000000 or 5e9)");
    match s.split_once(['e', 'E']) {
        None => s.parse().map_err(|_| bad()),
        Some((m, e)) => {
            let m: u64 = m.parse().map_err(|_| bad())?;
            let e: u32 = e.parse().map_err(|_| bad())?;
            10u64
                .checked_pow(e)
                .and_then(|p| p.checked_mul(m))
                .ok_or_else(bad)
        }
    }
}

/// Shared node state.
pub(crate) struct Node {
    /// The chain, for producing blocks and admitting transactions.
    chain: Mutex<Chain>,
    /// Reads of the latest committed state, off the chain lock.
    reader: ChainReader,
    pool: Mutex<Mempool>,
    mode: Mode,
    /// Heights of new blocks, for WebSocket subscribers.
    blocks: broadcast::Sender<u64>,
    /// The effective view gas cap.
    max_view_gas: u64,
    /// Views and simulations running now, bounded.
    executions: slots::Slots,
    /// In a network: sends admitted transactions on to the peers.
    forward: Option<forward::Forwarder>,
    /// Which browser origins the server lets in.
    cors: Cors,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    fn new(chain: Chain, mode: Mode, settings: Settings, capacity: usize) -> Node {
        let (blocks, _) = broadcast::channel(capacity);
        Node {
            reader: chain.reader(),
            max_view_gas: settings
                .max_view_gas
                .unwrap_or(chain.params().block_gas_limit),
            executions: slots::Slots::new(
                settings
                    .max_concurrent_views
                    .unwrap_or_else(slots::Slots::default_max),
            ),
            chain: Mutex::new(chain),
            pool: Mutex::new(Mempool::new(PoolLimits::default())),
            mode,
            blocks,
            forward: None,
            cors: settings.cors,
        }
    }

    /// A block holding `txs` committed at `height` (decided by consensus): its transactions
    /// leave the pool and subscribers hear of the height.
    fn committed(&self, txs: &[chainvm_runtime::SignedTransaction], height: u64) {
        {
            let mut pool = lock(&self.pool);
            for t in txs {
                pool.included(t);
            }
        }
        let _ = self.blocks.send(height);
    }

    /// Produces a block from the mempool and announces it.
    fn produce(&self) -> Result<u64, RpcError> {
        let mut chain = lock(&self.chain);
        self.produce_locked(&mut chain)
    }

    /// Produces a block with the chain lock held: takes the block's transactions from the
    /// pool and puts back the ones it could not hold (no gas left in it, or following one
    /// that had none), so an acknowledged transaction is never silently dropped.
    fn produce_locked(&self, chain: &mut Chain) -> Result<u64, RpcError> {
        let now = Instant::now();
        let txs = {
            let snap = chain.latest_state()?;
            let mut pool = lock(&self.pool);
            pool.expire(now);
            let txs = pool.select(
                |a| {
                    chainvm_runtime::layout::account(&snap, a)
                        .map(|x| x.nonce)
                        .unwrap_or(0)
                },
                MAX_BLOCK_TXS,
            );
            // Admissions go on while the block is produced; they count it until it commits.
            pool.begin_block(snap.version().map_or(0, |(h, _)| h), &txs);
            txs
        };
        let block = match chain.produce_block(&txs) {
            Ok(b) => b,
            Err(e) => {
                let mut pool = lock(&self.pool);
                pool.end_block();
                for t in txs {
                    pool.requeue(t, now);
                }
                return Err(e.into());
            }
        };
        {
            let mut pool = lock(&self.pool);
            pool.end_block();
            for (t, r) in txs.iter().zip(&block.results) {
                match r {
                    Ok(_) => pool.included(t),
                    Err(
                        AdmissionError::GasLimitTooHigh { .. } | AdmissionError::NonceGap { .. },
                    ) => pool.requeue(t.clone(), now),
                    // Refused for good (it can no longer pay, or its nonce was used).
                    Err(_) => {}
                }
            }
        }
        // Subscribers are told the height only and read the block from the store: the
        // channel's ring never holds blocks (a full block's events can be megabytes).
        let _ = self.blocks.send(block.signed_header.header.height);
        Ok(block.signed_header.header.height)
    }
}

/// Writes a status line to stdout, ignoring a closed stdout.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Resolves once `stop` has turned true (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// A node serving on a thread of its own (what `chainvm node` runs, and what tests and
/// benchmarks embed): stopped by [`RunningNode::stop`] or when dropped.
pub struct RunningNode {
    addr: std::net::SocketAddr,
    max_view_gas: u64,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<Result<u64>>>,
}

impl RunningNode {
    /// The address it listens on (JSON-RPC over HTTP `POST` and WebSocket, any path; the
    /// explorer at `GET /`).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops taking requests, finishes the block in progress, and returns the height it
    /// stopped at. The store closes once the node's last reference is gone: at once, unless a
    /// view or simulation still running after the grace was abandoned (it then holds the store
    /// open, changing nothing, until it ends at its gas cap or the process exits).
    pub fn stop(mut self) -> Result<u64> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<u64> {
        let _ = self.stop.send(true);
        match self.thread.take() {
            None => Ok(0),
            Some(t) => t.join().unwrap_or(Err(NodeError::Panicked)),
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Opens the chain in `home` and serves it on `listen` until stopped.
pub fn start(home: &Path, listen: &str, mode: Mode, settings: Settings) -> Result<RunningNode> {
    let retention = settings
        .prune
        .map(chainvm_runtime::state::Retention::Recent);
    let chain = Chain::open_with(home, retention)?;
    let node = Node::new(chain, mode, settings, 1024);
    launch(node, listen, None)
}

/// Opens `home` and serves it: as a member of its network when it has a network file
/// (`network.json`, written by `chainvm testnet init`; RPC on the file's address unless
/// `rpc` overrides it), else as a dev chain in automine on `rpc` (default `127.0.0.1:8545`).
pub fn start_home(home: &Path, rpc: Option<&str>, settings: Settings) -> Result<RunningNode> {
    let Some(cfg) = testnet::NetworkConfig::read(home)? else {
        return start(
            home,
            rpc.unwrap_or("127.0.0.1:8545"),
            Mode::Automine,
            settings,
        );
    };
    let retention = settings
        .prune
        .map(chainvm_runtime::state::Retention::Recent);
    let chain = Chain::open_with(home, retention)?;
    let mut node = Node::new(chain, Mode::Network, settings, 1024);
    node.forward = Some(forward::Forwarder::new(
        cfg.peers.iter().map(|p| p.rpc.clone()).collect(),
    ));
    let options = network::options(home, &cfg)?;
    launch(node, rpc.unwrap_or(&cfg.rpc), Some(options))
}

/// Serves `node` on `listen` from a thread of its own, with consensus when `consensus` is
/// given.
fn launch(
    node: Node,
    listen: &str,
    consensus: Option<consensus::ConsensusOptions>,
) -> Result<RunningNode> {
    let node = Arc::new(node);
    let mode = node.mode;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Block execution needs a deep native stack (see the vm crate's README).
        .thread_stack_size(40 << 20)
        .build()
        .map_err(NodeError::Runtime)?;
    let cannot_listen = |source| NodeError::Listen {
        addr: listen.to_string(),
        source,
    };
    let methods = server::methods(node.clone())?;
    let server = rt
        .block_on(
            jsonrpsee::server::Server::builder()
                .set_config(server::config())
                .set_http_middleware(server::http_middleware(node.cors.clone()))
                .build(listen),
        )
        .map_err(cannot_listen)?;
    let addr = server.local_addr().map_err(cannot_listen)?;
    // Consensus starts before the node answers, so a refusal to start is the caller's error.
    let engine = match consensus {
        None => None,
        Some(options) => {
            let ledger = Arc::new(Mutex::new(network::NodeLedger::new(node.clone())));
            let txs = Box::new(network::NodeTxs::new(node.clone()));
            Some(rt.block_on(consensus::start(ledger, txs, options))?)
        }
    };
    let max_view_gas = node.max_view_gas;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("chainvm-node".into())
        .spawn(move || {
            let result = rt.block_on(async move {
                let handle = server.start(methods);
                let result = serve(node, handle, mode, stop_rx).await;
                if let Some(engine) = engine {
                    engine.stop().await;
                }
                result
            });
            // Views still running (at most --max-view-gas each) are abandoned: they write
            // nothing.
            rt.shutdown_timeout(Duration::from_millis(200));
            result
        })
        .map_err(NodeError::Thread)?;
    Ok(RunningNode {
        addr,
        max_view_gas,
        stop,
        thread: Some(thread),
    })
}

/// Runs the node until SIGINT or SIGTERM.
pub fn run(home: &Path, listen: &str, mode: Mode, settings: Settings) -> Result<()> {
    let node = start(home, listen, mode, settings)?;
    serve_until_signal(node, &format!("{mode:?}"))
}

/// Runs `home`'s node ([`start_home`]: a network member or a dev chain) until SIGINT or
/// SIGTERM.
pub fn run_home(home: &Path, rpc: Option<&str>, settings: Settings) -> Result<()> {
    let what = match testnet::NetworkConfig::read(home)? {
        Some(cfg) => format!(
            "{} of a network, p2p {} with {} peers",
            if cfg.validator {
                "validator"
            } else {
                "full node"
            },
            cfg.p2p,
            cfg.peers.len()
        ),
        None => format!("{:?}", Mode::Automine),
    };
    let node = start_home(home, rpc, settings)?;
    serve_until_signal(node, &what)
}

/// Prints the listening line, waits for SIGINT or SIGTERM, stops the node.
fn serve_until_signal(node: RunningNode, what: &str) -> Result<()> {
    let addr = node.addr();
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NodeError::Runtime)?;
    signals.block_on(async {
        // Listening for signals before saying we listen: whoever reads the line may signal.
        let ctrl_c = tokio::signal::ctrl_c();
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        // Printing must never take the node down (stdout may be a closed pipe).
        say(&format!(
            "chainvm node listening on http://{addr} (and ws://{addr}), {what}, views capped at {} gas",
            node.max_view_gas
        ));
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    });
    let height = node.stop()?;
    say(&format!("chainvm node stopped at block {height}"));
    Ok(())
}

/// Produces interval blocks (in that mode) until stopped, then stops the server: requests
/// still running after [`SHUTDOWN_GRACE`] are abandoned. Returns the height it stopped at.
async fn serve(
    node: Arc<Node>,
    server: jsonrpsee::server::ServerHandle,
    mode: Mode,
    stop_rx: tokio::sync::watch::Receiver<bool>,
) -> Result<u64> {
    let producer = if let Mode::Interval(ms) = mode {
        let node = node.clone();
        let stop = stop_rx.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(ms.max(1)));
            let stop = stopped(stop);
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let n = node.clone();
                        let _ = tokio::task::spawn_blocking(move || n.produce()).await;
                    }
                    _ = &mut stop => return,
                }
            }
        }))
    } else {
        None
    };
    stopped(stop_rx).await;
    // Stops accepting; open connections finish what they are answering, subscriptions end.
    let _ = server.stop();
    // A request still running (a long view) does not hold the node up.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, server.stopped()).await;
    if let Some(p) = producer {
        // Lets a block in progress finish.
        let _ = p.await;
    }
    // Any block being produced holds the chain lock; taking it waits for that block. Reads
    // never take it, so nothing else can hold it up.
    let n = node.clone();
    let height = tokio::task::spawn_blocking(move || lock(&n.chain).height().unwrap_or(0))
        .await
        .unwrap_or(0);
    Ok(height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_amounts_parse_in_plain_and_exponent_form() {
        assert_eq!(parse_gas("5e9"), Ok(5_000_000_000));
        assert_eq!(parse_gas("5_000_000_000"), Ok(5_000_000_000));
        assert_eq!(parse_gas("12"), Ok(12));
        assert!(parse_gas("1e30").is_err());
        assert!(parse_gas("-1").is_err());
        assert!(parse_gas("lots").is_err());
    }
}
